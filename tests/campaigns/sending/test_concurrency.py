"""Exactly-once sending under concurrency and crashes, on PostgreSQL.

Real processes run `manage.py send_due` against the test database (committed data: these
tests are transactional) and deliver to an aiosmtpd server in this process, which keeps
every message it takes in; its Message-IDs are the proof. SQLite runs one writer at a time,
so these tests need PostgreSQL (`SELECT … FOR UPDATE SKIP LOCKED`).

The campaign's timezone is picked so that its window (00:00 to 23:30) is open now, whatever
the wall clock: the child processes run on real time.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, Send
from campaigns.sending import smtp
from campaigns.sending.delivery import deliver
from campaigns.sending.scheduler import InboxPool, claim_for_campaign
from campaigns.tasks import sends_deliver_task
from campaigns.windows import SUPPORTED_TIMEZONES
from inboxes.models import Inbox
from leads.bulk import LeadRow, insert_leads, ordered_ids
from leads.models import Lead
from reachkit.models import Workspace
from tests.campaigns.outreach import make_campaign
from tests.inboxes.factories import InboxFactory
from tests.services.smtp_server import SmtpServer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[3]
PASSWORD = "fleet-secret-1"

# A `send_due` that waits for a go: Django is set up and the database connected first,
# then the test releases every process at once (start-up takes longer than the work).
RUNNER = """
import sys
import django
django.setup()
from django.core.management import call_command
from django.db import connection
connection.ensure_connection()
print("ready", flush=True)
sys.stdin.readline()
call_command("send_due")
"""


@pytest.fixture
def on_postgresql(transactional_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent senders need PostgreSQL (SELECT … FOR UPDATE SKIP LOCKED)")


def open_timezone(now: datetime) -> str:
    """A supported timezone where it is between 01:00 and 22:00 now: a 00:00 to 23:30 window
    stays open for the whole test."""
    for name in SUPPORTED_TIMEZONES:
        if 1 <= now.astimezone(ZoneInfo(name)).hour < 22:
            return name
    raise AssertionError("every supported timezone is in its night")  # 26 zones span the day


def database_url() -> str:
    """The test database (not the configured one), for the child processes."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class Fleet:
    """Campaigns sending from several SMTP-only inboxes to one sink, with due leads."""

    workspace: Workspace
    sink: SmtpServer
    inboxes: list[Inbox]
    campaigns: list[Campaign]
    logs: Path

    def add_inbox(self, number: int) -> Inbox:
        email = f"sender{number}@fleet.test"
        self.sink.add_user(email, PASSWORD)
        inbox = InboxFactory(
            workspace=self.workspace,
            email=email,
            smtp_host=self.sink.host,
            smtp_port=self.sink.port,
            smtp_username=email,
            smtp_password=PASSWORD,
            smtp_security=Inbox.Security.NONE,
            # No IMAP: nothing is filed in a Sent folder, so only SMTP is timed.
            imap_host="",
            provider=Inbox.Provider.OTHER,
            connection_status=Inbox.ConnectionStatus.CONNECTED,
            daily_campaign_limit=100_000,
        )
        self.inboxes.append(inbox)
        return inbox

    def add_campaign(self, leads: int) -> Campaign:
        campaign = make_campaign(self.workspace, self.inboxes, daily_limit=100_000)
        services.schedule_update(campaign=campaign, timezone=open_timezone(timezone.now()))
        number = len(self.campaigns)
        rows = [
            LeadRow(
                id=lead_id,
                email=f"lead{n}.c{number}@example.com",
                email_key=f"lead{n}.c{number}@example.com",
                domain="example.com",
                first_name=f"Lead{n}",
                last_name="",
                variables={"company": f"Company {n}"},
                search_text=f"lead{n}.c{number}@example.com",
            )
            for n, lead_id in enumerate(ordered_ids(leads))
        ]
        insert_leads(
            workspace_id=self.workspace.pk, campaign_id=campaign.pk, rows=rows, now=timezone.now()
        )
        self.campaigns.append(campaign)
        return campaign

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url(),
            "REACHKIT_SEND_GAP_SECONDS": "0,0",
            "REACHKIT_LOG_LEVEL": "WARNING",
            **extra,
        }

    def start(self, count: int, **env: str) -> list[subprocess.Popen[str]]:
        """`count` send_due processes, set up and connected, waiting for `go`."""
        processes = []
        for n in range(count):
            process = subprocess.Popen(
                [sys.executable, "-c", RUNNER],
                cwd=REPO,
                env=self.env(**env),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=(self.logs / f"send_due-{time.monotonic_ns()}-{n}.log").open("w"),
                text=True,
            )
            processes.append(process)
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line == "ready\n", self.stderr()
        return processes

    def go(self, processes: list[subprocess.Popen[str]]) -> None:
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()

    def finish(self, process: subprocess.Popen[str]) -> dict[str, int]:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, self.stderr()
        return json.loads(output.strip().splitlines()[-1])

    def send_due(self, count: int = 1, **env: str) -> list[dict[str, int]]:
        """`count` passes at once, in their own processes; their reports."""
        processes = self.start(count, **env)
        self.go(processes)
        return [self.finish(process) for process in processes]

    def stderr(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.logs.glob("*.log")))

    def received_ids(self) -> Counter[str]:
        """How many times the sink took in each Message-ID."""
        return Counter(str(received.message["Message-ID"]) for received in self.sink.messages)


@pytest.fixture
def fleet(
    on_postgresql: None,
    alice: Any,
    smtp_server_factory: Callable[..., SmtpServer],
    tmp_path: Path,
) -> Iterator[Fleet]:
    yield Fleet(
        workspace=alice.workspace,
        sink=smtp_server_factory(security="none"),
        inboxes=[],
        campaigns=[],
        logs=tmp_path,
    )
    connections.close_all()


def statuses() -> Counter[str]:
    return Counter(Send.objects.values_list("status", flat=True))


def ids_with(*status: str) -> set[str]:
    return set(Send.objects.filter(status__in=status).values_list("message_id", flat=True))


def test_four_concurrent_passes_deliver_two_thousand_due_sends_exactly_once(fleet):
    for number in range(4):
        fleet.add_inbox(number)
    for _ in range(2):
        fleet.add_campaign(leads=1000)

    reports = fleet.send_due(4, REACHKIT_SEND_BATCH_SIZE="100")

    assert sum(report["sent"] for report in reports) == 2000
    assert sum(report["failed"] + report["deferred"] for report in reports) == 0
    received = fleet.received_ids()
    assert sum(received.values()) == 2000
    assert [message_id for message_id, times in received.items() if times > 1] == []
    assert set(received) == ids_with(Send.Status.SENT)
    assert statuses() == {Send.Status.SENT: 2000}
    assert Send.objects.filter(step=1).count() == 2000
    # Every lead moved on exactly one step, and is due for its follow-up.
    leads = Lead.objects.all()
    assert leads.count() == 2000
    assert set(leads.values_list("next_step", "status")) == {(2, Lead.Status.CONTACTED)}
    assert not leads.filter(next_due_at__isnull=True).exists()
    # The passes really ran side by side: more than one of them claimed and sent.
    assert len(set(Send.objects.values_list("claimed_by", flat=True))) > 1
    assert sum(1 for report in reports if report["sent"]) > 1


def test_a_worker_killed_mid_batch_sends_nothing_twice_and_its_claims_are_recovered(fleet):
    for number in range(2):
        fleet.add_inbox(number)
    campaign = fleet.add_campaign(leads=80)
    fleet.sink.delay_replies(0.02)

    # Chunks of 10: the worker dies inside its second chunk of one inbox's batch.
    (worker,) = fleet.start(1, REACHKIT_SEND_ATTEMPT_CHUNK="10")
    fleet.go([worker])
    deadline = time.monotonic() + 30
    while len(fleet.sink.messages) < 15 and time.monotonic() < deadline:
        time.sleep(0.005)
    # The next message reaches the sink, whose reply never comes: the worker dies waiting.
    hold = fleet.sink.hold_replies()
    assert hold.held.wait(10), fleet.stderr()
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    hold.release()
    assert worker.returncode == -signal.SIGKILL

    received = fleet.received_ids()
    assert max(received.values()) == 1
    attempted = set(
        Send.objects.filter(status=Send.Status.CLAIMED, attempted_at__isnull=False).values_list(
            "message_id", flat=True
        )
    )
    # Taken for SMTP a chunk at a time: at most a chunk (per inbox) in the air, unrecorded.
    assert 0 < len(attempted) <= 2 * 10
    assert set(received) <= ids_with(Send.Status.SENT) | attempted
    assert ids_with(Send.Status.SENT) <= set(received)
    assert Send.objects.filter(status=Send.Status.CLAIMED, attempted_at__isnull=True).exists()

    # A recovery pass, with nothing it may send (the campaign is paused) and a short lease:
    # the untried claims are due again, the attempted ones `unknown`, nothing is resent.
    services.campaign_update(campaign=campaign, status=Campaign.Status.PAUSED)
    newest_claim = max(Send.objects.values_list("claimed_at", flat=True))
    lease_over = newest_claim + timedelta(seconds=1.2)
    time.sleep(max(0.0, (lease_over - datetime.now(UTC)).total_seconds()))
    assert fleet.send_due(REACHKIT_SEND_CLAIM_LEASE_SECONDS="1") == [
        {"sent": 0, "failed": 0, "deferred": 0}
    ]
    after_recovery = statuses()
    assert set(after_recovery) <= {Send.Status.SENT, Send.Status.SCHEDULED, Send.Status.UNKNOWN}
    assert ids_with(Send.Status.UNKNOWN) == attempted
    assert ids_with(Send.Status.SCHEDULED).isdisjoint(received)
    assert fleet.received_ids() == received

    # The next pass completes the rescheduled rows and the leads never claimed; the unknown
    # ones wait for reconciliation against the Sent folder, never blindly resent.
    sent_before = len(ids_with(Send.Status.SENT))
    services.campaign_update(campaign=campaign, status=Campaign.Status.ACTIVE)
    (report,) = fleet.send_due()
    assert report == {"sent": 80 - len(attempted) - sent_before, "failed": 0, "deferred": 0}
    received_in_the_end = fleet.received_ids()
    assert max(received_in_the_end.values()) == 1
    assert statuses() == {
        Send.Status.SENT: 80 - len(attempted),
        Send.Status.UNKNOWN: len(attempted),
    }
    assert ids_with(Send.Status.SENT) <= set(received_in_the_end)


def test_a_duplicated_delivery_task_sends_each_claimed_row_once(fleet, settings):
    settings.SEND_GAP_SECONDS = (0, 0)
    for number in range(2):
        fleet.add_inbox(number)
    campaign = fleet.add_campaign(leads=60)
    claims = claim_for_campaign(
        Campaign.objects.select_related("schedule", "workspace").get(pk=campaign.pk),
        timezone.now(),
        "test",
    )
    ids = [str(send.pk) for send in claims]
    assert len(ids) == 60
    fleet.sink.delay_replies(0.002)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def deliver() -> None:
        try:
            start.wait(timeout=10)
            sends_deliver_task(ids)
        except BaseException as error:  # reported below, on the main thread
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    received = fleet.received_ids()
    assert sum(received.values()) == 60
    assert set(received) == {send.message_id for send in claims}
    assert statuses() == {Send.Status.SENT: 60}
    # Replaying it once more, after the fact, is a no-op.
    sends_deliver_task(ids)
    assert sum(fleet.received_ids().values()) == 60


def test_concurrent_passes_keep_every_inbox_cap(fleet):
    for number in range(4):
        fleet.add_inbox(number)
    Inbox.objects.update(daily_campaign_limit=25)
    fleet.add_campaign(leads=200)
    fleet.add_campaign(leads=200)
    fleet.sink.delay_replies(0.001)

    reports = fleet.send_due(4, REACHKIT_SEND_BATCH_SIZE="10")

    assert sum(report["sent"] for report in reports) == 100
    assert sum(fleet.received_ids().values()) == 100
    per_inbox = Counter(Send.objects.values_list("inbox__email", flat=True))
    assert per_inbox == {f"sender{number}@fleet.test": 25 for number in range(4)}


def test_a_pass_that_claims_while_another_commits_keeps_the_daily_limit(fleet, settings):
    """Two schedulers on one campaign: the second counts today's sends only once the first
    has committed its claims, so both together stay within `daily_limit`."""
    settings.SEND_GAP_SECONDS = (0, 0)
    for number in range(2):
        fleet.add_inbox(number)
    campaign = fleet.add_campaign(leads=300)
    Campaign.objects.filter(pk=campaign.pk).update(daily_limit=100)
    first_holds, release_first = threading.Event(), threading.Event()
    save_paces = InboxPool.save_paces

    def hold_the_first(pool: InboxPool, now: datetime) -> None:
        save_paces(pool, now)
        if threading.current_thread().name == "first":
            first_holds.set()
            release_first.wait(10)  # inside its transaction: its claims are not committed yet

    claimed: dict[str, int] = {}
    failures: list[BaseException] = []

    def scheduler() -> None:
        try:
            loaded = Campaign.objects.select_related("schedule", "workspace").get(pk=campaign.pk)
            name = threading.current_thread().name
            claimed[name] = len(claim_for_campaign(loaded, timezone.now(), name))
        except BaseException as error:  # reported below, on the main thread
            failures.append(error)
        finally:
            connections.close_all()

    with patch.object(InboxPool, "save_paces", hold_the_first):
        first = threading.Thread(target=scheduler, name="first")
        first.start()
        assert first_holds.wait(10)
        second = threading.Thread(target=scheduler, name="second")
        second.start()
        # The second waits on the first's locks; then the first commits.
        assert wait_for_a_blocked_query(), "the second scheduler never waited"
        release_first.set()
        first.join(10)
        second.join(10)

    assert failures == []
    assert claimed == {"first": 100, "second": 0}
    assert Send.objects.filter(status=Send.Status.CLAIMED).count() == 100


def test_a_campaign_paused_after_the_pass_listed_it_is_not_claimed(fleet, settings):
    settings.SEND_GAP_SECONDS = (0, 0)
    fleet.add_inbox(0)
    campaign = fleet.add_campaign(leads=3)
    listed = Campaign.objects.select_related("schedule", "workspace").get(pk=campaign.pk)
    services.campaign_update(campaign=campaign, status=Campaign.Status.PAUSED)

    assert claim_for_campaign(listed, timezone.now(), "test") == []
    assert not Send.objects.exists()


def wait_for_a_blocked_query(seconds: float = 10) -> bool:
    """Whether a session of this test database is waiting for a lock, within `seconds`."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def test_each_chunk_is_committed_durably_before_its_first_email_goes(fleet, settings):
    """Exactly once across crashes of the worker and of the database: when a message is handed
    to SMTP, its row is already marked attempted in a commit another connection can see."""
    settings.SEND_GAP_SECONDS = (0, 0)
    settings.SEND_ATTEMPT_CHUNK = 2
    fleet.add_inbox(0)
    campaign = fleet.add_campaign(leads=5)
    claims = claim_for_campaign(
        Campaign.objects.select_related("schedule", "workspace").get(pk=campaign.pk),
        timezone.now(),
        "test",
    )
    seen_by_others: list[bool] = []
    original = smtp.transmit

    def transmit(client: Any, *, sender: str, recipient: str, data: bytes) -> Any:
        message_id = next(
            line.split(":", 1)[1].strip()
            for line in data.decode().splitlines()
            if line.startswith("Message-ID:")
        )
        with psycopg.connect(database_url().replace("postgres://", "postgresql://")) as other:
            row = other.execute(
                "SELECT attempted_at, status FROM campaigns_send WHERE message_id = %s",
                [message_id],
            ).fetchone()
        seen_by_others.append(row is not None and row[0] is not None and row[1] == "claimed")
        return original(client, sender=sender, recipient=recipient, data=data)

    with patch.object(smtp, "transmit", transmit):
        assert deliver([send.pk for send in claims]).sent == 5

    assert seen_by_others == [True] * 5
    assert statuses() == {Send.Status.SENT: 5}


def test_the_database_work_of_a_batch_grows_by_chunk_not_by_email(fleet, settings):
    settings.SEND_GAP_SECONDS = (0, 0)
    settings.SEND_ATTEMPT_CHUNK = 50
    fleet.add_inbox(0)
    campaign = fleet.add_campaign(leads=15)
    loaded = Campaign.objects.select_related("schedule", "workspace").get(pk=campaign.pk)
    queries = {}
    for size in (5, 10):
        settings.SEND_BATCH_SIZE = size
        claims = claim_for_campaign(loaded, timezone.now(), "test")
        with CaptureQueriesContext(connection) as captured:
            assert deliver([send.pk for send in claims]).sent == size
        queries[size] = len(captured)

    # One chunk either way: the same statements for 5 emails as for 10.
    assert queries[10] == queries[5]
    assert statuses() == {Send.Status.SENT: 15}
