"""Warmup exactly once under concurrent passes, on PostgreSQL (SKIP LOCKED): four passes
at once plan each day's emails once, send each once, and read, rescue and answer each once.
The passes run on threads, each with its own database connection, on real time."""

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from inboxes import warmup_passes
from inboxes.models import WarmupEmail
from tests.inboxes.warmup_world import DeliveringSmtpServer, Pool

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def trio(transactional_db, dovecot, tls_certificates, trust_test_ca, settings, alice):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent passes need PostgreSQL (SELECT … FOR UPDATE SKIP LOCKED)")
    settings.SEND_GAP_SECONDS = (0, 0)
    settings.WARMUP_REPLY_PERCENT = 100
    server = DeliveringSmtpServer(dovecot=dovecot, security="none", tls=tls_certificates).start()
    world = Pool(dovecot, server)
    for name in ("ann", "bob", "cat"):
        world.add(alice.workspace, name)
    yield world
    server.stop()


def at_once(work: Callable[[], Any], workers: int = 4) -> list[Any]:
    start = threading.Barrier(workers)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(10)
            results.append(work())
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def make_due() -> None:
    WarmupEmail.objects.filter(status="scheduled").update(
        due_at=timezone.now() - timedelta(seconds=1)
    )


def test_concurrent_passes_plan_send_receive_and_answer_each_email_once(trio):
    trio.smtp.junk_for = {trio.inboxes[2].email}

    planned = at_once(lambda: warmup_passes.plan(timezone.now()))
    assert sum(planned) == WarmupEmail.objects.count() == 6

    make_due()
    sent = at_once(warmup_passes.warmup_send_pass)
    assert sum(report.sent for report in sent) == 6
    message_ids = Counter(message.message["Message-ID"] for message in trio.smtp.messages)
    assert len(message_ids) == 6
    assert set(message_ids.values()) == {1}

    received = at_once(warmup_passes.warmup_receive_pass)
    assert sum(report.received for report in received) == 6
    assert sum(report.replies_planned for report in received) == 6
    assert sum(report.saved_from_spam for report in received) == 2
    assert WarmupEmail.objects.filter(kind="reply").count() == 6
    assert trio.folder(trio.inboxes[2], "Junk") == []

    make_due()
    at_once(warmup_passes.warmup_send_pass)
    assert len(trio.smtp.messages) == 12
    assert len({message.message["Message-ID"] for message in trio.smtp.messages}) == 12
