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

from inboxes import pace, warmup_passes
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


def test_a_pass_never_hands_out_rows_another_pass_claimed_while_it_waited(trio, monkeypatch):
    # Pass A begins, then pass B; B reads the due rows; before it takes the senders' pace
    # rows, A claims those rows and commits. B must not deliver A's rows: it would open a
    # second SMTP session for the sender, and put back to wait what A has not tried yet.
    # Replies, as a sender's day room does not stand in the way (it does for first emails).
    warmup_passes.plan(timezone.now())
    make_due()
    warmup_passes.warmup_send_pass()
    assert warmup_passes.warmup_receive_pass().replies_planned == 6
    make_due()
    real_lock_ready = pace.lock_ready
    claimed_by_a: list[WarmupEmail] = []

    def lock_ready_after_another_claim(inbox_ids: Any, now: Any) -> list[Any]:
        monkeypatch.setattr(pace, "lock_ready", real_lock_ready)
        # A began first (an earlier clock), so the gap it sets has passed for B.
        began = now - timedelta(milliseconds=500)
        at_once(lambda: claimed_by_a.extend(warmup_passes.claim(began)), workers=1)
        return real_lock_ready(inbox_ids, now)

    monkeypatch.setattr(pace, "lock_ready", lock_ready_after_another_claim)
    claimed_by_b = warmup_passes.claim(timezone.now())

    assert len(claimed_by_a) == 6
    assert claimed_by_b == []
