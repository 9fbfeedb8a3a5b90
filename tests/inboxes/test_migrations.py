"""The inbox's pace row moved from campaigns to inboxes with its rows (its table renamed)."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("campaigns", "0008_send_soft_bounce"), ("inboxes", "0001_initial")]
AFTER = [("campaigns", "0009_warmup_pace_moved"), ("inboxes", "0002_warmup_pace")]
WHEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_pace_rows_are_kept_when_they_move_to_inboxes():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    workspace = old.get_model("reachkit", "Workspace").objects.create(name="Old workspace")
    inbox = old.get_model("inboxes", "Inbox").objects.create(
        workspace=workspace, email="sam@acme.com", domain="acme.com"
    )
    old.get_model("campaigns", "InboxPace").objects.create(inbox=inbox, next_send_at=WHEN)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps

    pace = new.get_model("inboxes", "InboxPace").objects.get(inbox_id=inbox.pk)
    assert pace.next_send_at == WHEN
    # Back to the latest state for the rest of the suite.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
