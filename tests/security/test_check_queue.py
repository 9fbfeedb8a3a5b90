"""Issue 9, finding 3: one tenant's mail servers cannot stall everyone's sending.

Connection checks log in to hosts a tenant picks, so they may be slow on purpose. They run
on their own Celery queue (their own worker), one at a time per inbox, each within one
overall deadline. One test per way of abusing them.
"""

import time
from pathlib import Path

from celery import Celery

from inboxes.models import Inbox
from inboxes.tasks import inbox_check_connection_task
from tests.inboxes.factories import InboxFactory


def published_queues(tmp_path: Path, *task_names: str) -> list[str]:
    """The queue each task lands in, published through a real (file) broker by a Celery app
    configured from the project's settings, as the web process and beat configure theirs.

    The caller clears CELERY_BROKER_URL from the environment: Celery prefers it to any
    configured broker.
    """
    app = Celery("probe")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    folder, control = tmp_path / "queue", tmp_path / "control"
    folder.mkdir()
    control.mkdir()
    app.conf.update(
        broker_url="filesystem://",
        broker_transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "control_folder": str(control),
        },
        task_always_eager=False,
    )
    queues = []
    for name in task_names:
        before = set(folder.iterdir())
        app.send_task(name, args=["00000000-0000-0000-0000-000000000000"])
        [message] = set(folder.iterdir()) - before
        queues.append(message.name.split(".")[-2])  # <time>_<uuid>.<queue>.msg
    app.close()
    return queues


def test_connection_checks_run_on_their_own_queue_not_the_senders(tmp_path, monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    assert published_queues(
        tmp_path, "inboxes.check_connection", "campaigns.send_due", "campaigns.deliver_sends"
    ) == ["connections", "celery", "celery"]
    # The Procfile's workers (make run) each take one of them.
    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text()
    assert "worker: celery -A reachkit worker" in procfile
    assert "--queues=celery" in procfile.split("worker: ", 1)[1].splitlines()[0]
    assert "--queues=connections" in procfile.split("connections: ", 1)[1].splitlines()[0]


def test_asking_for_checks_in_a_loop_queues_one(api, alice, django_capture_on_commit_callbacks):
    inbox = InboxFactory(workspace=alice.workspace, connection_status="connected")
    with django_capture_on_commit_callbacks() as queued:
        statuses = [api.post(f"/api/v1/inboxes/{inbox.pk}/test").status_code for _ in range(8)]
    assert statuses == [202] * 8
    assert len(queued) == 1
    assert Inbox.objects.get(pk=inbox.pk).connection_status == "pending"


def test_a_mail_server_answering_a_byte_at_a_time_cannot_hold_a_check_past_its_deadline(
    db, drip_server_factory, settings
):
    # Per-read timeouts never fire: each read gets a byte just before its timeout.
    settings.INBOX_CONNECT_TIMEOUT_SECONDS = 1
    settings.INBOX_CHECK_DEADLINE_SECONDS = 2
    smtp = drip_server_factory(greeting=b"220 slow.test ESMTP\r\n", interval=0.5, lasts=20)
    imap = drip_server_factory(greeting=b"* OK slow.test\r\n", interval=0.5, lasts=20)
    inbox = InboxFactory(
        connection_status="pending",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_security="none",
        imap_host=imap.host,
        imap_port=imap.port,
        imap_security="none",
    )

    started = time.monotonic()
    inbox_check_connection_task.delay(str(inbox.pk))
    elapsed = time.monotonic() - started

    inbox.refresh_from_db()
    assert inbox.connection_status == "error"
    assert inbox.connection_error == (
        f"SMTP login failed: no complete answer from 127.0.0.1:{smtp.port} within 2 s in "
        "all; IMAP connection failed: not tried, no time was left of 2 s in all"
    )
    assert elapsed < 3
