"""InboxPace now lives in inboxes (inboxes/migrations/0002_warmup_pace.py renamed its table)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0008_send_soft_bounce"),
        ("inboxes", "0002_warmup_pace"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="InboxPace")],
        ),
    ]
