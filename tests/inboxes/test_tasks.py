"""The connection-check task: a thin, idempotent wrapper that logs its start and end."""

from inboxes.models import Inbox
from inboxes.tasks import inbox_check_connection_task
from reachkit.celery import app
from tests.inboxes.factories import InboxFactory
from tests.services.blackhole import closed_port


def test_the_task_logs_start_and_finish_through_the_console_handler(db, log_output):
    port = closed_port()
    inbox = InboxFactory(
        smtp_host="127.0.0.1", smtp_port=port, imap_host="127.0.0.1", imap_port=port
    )

    inbox_check_connection_task.delay(str(inbox.pk))

    lines = [line for line in log_output.getvalue().splitlines() if "logger=reachkit.tasks" in line]
    assert len(lines) == 2
    started, finished = lines
    assert 'msg="task started"' in started
    assert "task=inboxes.check_connection" in started
    assert 'msg="task finished"' in finished
    assert "task=inboxes.check_connection" in finished
    assert "state=SUCCESS" in finished
    assert "duration_ms=" in finished
    assert Inbox.objects.get(pk=inbox.pk).connection_status == "error"


def test_running_the_task_twice_checks_once(db, smtp_server, settings):
    smtp_server.add_user("sam@acme.com", "s3cret")
    inbox = InboxFactory(
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_username="sam@acme.com",
        smtp_password="s3cret",
        smtp_security="none",
        imap_host="127.0.0.1",
        imap_port=closed_port(),
    )
    inbox_check_connection_task.delay(str(inbox.pk))
    first = Inbox.objects.get(pk=inbox.pk)
    inbox_check_connection_task.delay(str(inbox.pk))

    assert len(smtp_server.auth_attempts) == 1
    again = Inbox.objects.get(pk=inbox.pk)
    assert again.connection_checked_at == first.connection_checked_at
    assert again.connection_status == "error"


def test_only_connection_checks_and_mailbox_reads_go_to_the_connections_queue():
    app.loader.import_default_modules()  # every app's tasks, as a worker loads them
    names = {name for name in app.tasks if not name.startswith("celery.")}
    assert {"campaigns.send_due", "campaigns.deliver_sends", "inboxes.check_connection"} <= names
    queues = {name: app.amqp.router.route({}, name)["queue"].name for name in names}
    assert {name for name, queue in queues.items() if queue == "connections"} == {
        "inboxes.check_connection",
        "unibox.sync_inbox",
        "inboxes.warmup_receive",  # IMAP to tenants' servers, never in sending's way
    }
    # Webhook deliveries have their own queue too (reachkit/webhooks/tasks.py).
    assert set(queues.values()) == {"celery", "connections", "webhooks"}
