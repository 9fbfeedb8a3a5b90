"""The inbox's pace row moves from campaigns to inboxes: campaign mail and warmup share it.

The table is renamed, its rows kept (campaigns/migrations/0009_warmup_pace_moved.py drops
the model from campaigns' state only).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inboxes", "0001_initial"),
        ("campaigns", "0004_sends_and_inbox_pace"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="InboxPace",
                    fields=[
                        (
                            "inbox",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                primary_key=True,
                                related_name="+",
                                serialize=False,
                                to="inboxes.inbox",
                            ),
                        ),
                        ("next_send_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={"db_table": "campaigns_inboxpace"},
                ),
            ],
        ),
        migrations.AlterModelTable(name="inboxpace", table=None),
    ]
