"""ESP detection against the loopback DNS server: on commit, cached per domain, no stampede,
failures retried with backoff and then "other", never null forever."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from leads import esp
from leads.inputs import LeadInput, normalize_email
from leads.models import DomainProvider, Lead
from leads.services import lead_detect_providers, lead_detect_providers_due, lead_save_many
from leads.tasks import lead_detect_providers_task
from tests.campaigns.factories import CampaignFactory
from tests.leads.factories import LeadFactory


@pytest.fixture
def campaign(alice):
    return CampaignFactory(workspace=alice.workspace)


def add_leads(campaign, *emails: str) -> None:
    leads = [LeadInput(email=normalize_email(email)) for email in emails]
    lead_save_many(campaign=campaign, leads=leads)


def providers() -> dict[str, str | None]:
    return dict(Lead.objects.values_list("email_key", "provider"))


def test_a_new_lead_gets_its_provider_once_committed(
    api, campaign, dns_zone, django_capture_on_commit_callbacks
):
    dns_zone.add_mx("acme.com", "aspmx.l.google.com", "alt1.aspmx.l.google.com")
    url = f"/api/v1/campaigns/{campaign.pk}/leads"

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = api.post(url, {"email": "bob@acme.com"}, format="json").json()["data"]
    assert created["provider"] is None
    assert dns_zone.queries["acme.com"] == 0  # nothing is looked up before the commit

    for callback in callbacks:
        callback()
    assert api.get(f"{url}/{created['id']}").json()["data"]["provider"] == "google"
    row = DomainProvider.objects.get(domain="acme.com")
    assert row.mx_hosts == ["aspmx.l.google.com", "alt1.aspmx.l.google.com"]
    assert row.expires_at > timezone.now() + timedelta(days=6)


@pytest.mark.parametrize(
    ("hosts", "provider"),
    [
        (["aspmx.l.google.com"], "google"),
        (["smtp.googlemail.com"], "google"),
        (["acme-com.mail.protection.outlook.com"], "microsoft"),
        (["mx1.outlook.com"], "microsoft"),
        (["mta6.am0.yahoodns.net"], "yahoo"),
        (["mx.zoho.com"], "zoho"),
        (["mx2.zoho.eu"], "zoho"),
        (["mail.acme.com"], "other"),
        ([], "other"),
    ],
)
def test_mx_hosts_map_to_providers(
    campaign, dns_zone, django_capture_on_commit_callbacks, hosts, provider
):
    dns_zone.add_mx("acme.com", *hosts)
    with django_capture_on_commit_callbacks(execute=True):
        add_leads(campaign, "bob@acme.com")
    assert providers() == {"bob@acme.com": provider}


def test_a_domain_that_does_not_exist_is_other(campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        add_leads(campaign, "bob@no-such-domain.example")
    assert providers() == {"bob@no-such-domain.example": "other"}


def test_a_bulk_import_costs_one_query_per_domain(
    api, campaign, dns_zone, django_capture_on_commit_callbacks
):
    dns_zone.add_mx("acme.com", "aspmx.l.google.com")
    dns_zone.add_mx("globex.com", "globex-com.mail.protection.outlook.com")
    leads = [{"email": f"u{n}@{'acme' if n % 2 else 'globex'}.com"} for n in range(1000)]
    url = f"/api/v1/campaigns/{campaign.pk}/leads/bulk"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert api.post(url, {"leads": leads}, format="json").status_code == 200

    assert len(callbacks) == 1  # one task for the whole call, not one per lead
    assert dns_zone.queries == {"acme.com": 1, "globex.com": 1}
    assert Lead.objects.filter(provider="google").count() == 500
    assert Lead.objects.filter(provider="microsoft").count() == 500


def test_a_cached_domain_is_not_looked_up_again(
    alice, campaign, dns_zone, django_capture_on_commit_callbacks
):
    dns_zone.add_mx("acme.com", "aspmx.l.google.com")
    with django_capture_on_commit_callbacks(execute=True):
        add_leads(campaign, "a@acme.com")
    other_campaign = CampaignFactory(workspace=alice.workspace)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        add_leads(other_campaign, "b@acme.com", "c@ACME.com")

    assert callbacks == []  # known at insert time: no task at all
    assert dns_zone.queries["acme.com"] == 1
    assert set(providers().values()) == {"google"}


def test_an_expired_cache_entry_is_looked_up_again_once(
    campaign, dns_zone, django_capture_on_commit_callbacks
):
    dns_zone.add_mx("acme.com", "aspmx.l.google.com")
    with django_capture_on_commit_callbacks(execute=True):
        add_leads(campaign, "a@acme.com")
    dns_zone.add_mx("acme.com", "mx.zoho.com")

    with (
        time_machine.travel(timezone.now() + esp.CACHE_TTL + timedelta(hours=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        add_leads(campaign, "b@acme.com", "c@acme.com")

    assert dns_zone.queries["acme.com"] == 2
    # Leads keep the provider they were given; new ones get the fresh answer.
    assert providers() == {"a@acme.com": "google", "b@acme.com": "zoho", "c@acme.com": "zoho"}


def test_running_the_task_twice_is_a_no_op(campaign, dns_zone):
    dns_zone.add_mx("acme.com", "aspmx.l.google.com")
    add_leads(campaign, "a@acme.com")

    lead_detect_providers_task.delay(domains=["acme.com"])
    lead_detect_providers_task.delay(domains=["acme.com"])

    assert dns_zone.queries["acme.com"] == 1
    assert providers() == {"a@acme.com": "google"}


def test_a_domain_claimed_by_another_worker_is_left_to_it(campaign, dns_zone):
    dns_zone.add_mx("acme.com", "aspmx.l.google.com")
    add_leads(campaign, "a@acme.com")
    DomainProvider.objects.create(
        domain="acme.com", claimed_until=timezone.now() + timedelta(seconds=30)
    )

    lead_detect_providers(domains=["acme.com"])
    assert dns_zone.queries["acme.com"] == 0
    assert providers() == {"a@acme.com": None}

    # The other worker died: once its claim lapses, the next task takes the domain over.
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        lead_detect_providers(domains=["acme.com"])
    assert dns_zone.queries["acme.com"] == 1
    assert providers() == {"a@acme.com": "google"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_tasks_for_one_domain_ask_dns_once(alice, dns_zone):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent workers are checked on PostgreSQL")
    campaign = CampaignFactory(workspace=alice.workspace)
    for n in range(20):
        LeadFactory(campaign=campaign, email=f"u{n}@slow.com")  # no task of their own
    dns_zone.add_mx("slow.com", "aspmx.l.google.com")
    dns_zone.delay("slow.com", 0.4)  # slower than the workers' start-up, faster than the timeout
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            lead_detect_providers(domains=["slow.com"])
        except BaseException as error:  # reported below, on the main thread
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert dns_zone.queries["slow.com"] == 1
    assert set(providers().values()) == {"google"}


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """The periodic task's service; its enqueued tasks run at once (eager Celery)."""

    def run(**kwargs) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return lead_detect_providers_due(**kwargs)

    return run


def test_a_failed_look_up_is_retried_with_backoff_then_the_lead_is_other(campaign, dns_zone, sweep):
    dns_zone.fail("flaky.com", times=100)
    add_leads(campaign, "bob@flaky.com")
    started = timezone.now()

    lead_detect_providers(domains=["flaky.com"])

    row = DomainProvider.objects.get(domain="flaky.com")
    assert (row.attempts, row.provider, row.claimed_until) == (1, None, None)
    assert timedelta(seconds=44) <= row.retry_at - started <= timedelta(seconds=76)
    assert providers() == {"bob@flaky.com": None}

    # Before the retry is due the sweep leaves the domain alone.
    sweep(now=started + timedelta(seconds=30))
    assert dns_zone.queries["flaky.com"] == 1

    delays = []
    for attempt in range(2, esp.MAX_ATTEMPTS + 1):
        row = DomainProvider.objects.get(domain="flaky.com")
        delays.append(row.retry_at - started)
        with time_machine.travel(row.retry_at + timedelta(seconds=1), tick=False):
            assert sweep() >= 1
        assert dns_zone.queries["flaky.com"] == attempt

    # 1, 4, 16 minutes apart (give or take a quarter), then "other": never null forever.
    assert delays[0] < timedelta(minutes=2) < delays[1] < timedelta(minutes=8) < delays[2]
    row = DomainProvider.objects.get(domain="flaky.com")
    assert (row.provider, row.attempts, row.retry_at) == ("other", esp.MAX_ATTEMPTS, None)
    assert "flaky.com" in row.last_error
    assert providers() == {"bob@flaky.com": "other"}


def test_a_look_up_that_fails_once_then_answers_gets_the_real_provider(campaign, dns_zone, sweep):
    dns_zone.add_mx("flaky.com", "aspmx.l.google.com")
    dns_zone.fail("flaky.com", times=1)
    add_leads(campaign, "bob@flaky.com")

    lead_detect_providers(domains=["flaky.com"])
    retry_at = DomainProvider.objects.get(domain="flaky.com").retry_at
    with time_machine.travel(retry_at + timedelta(seconds=1)):
        sweep()

    assert providers() == {"bob@flaky.com": "google"}
    assert DomainProvider.objects.get(domain="flaky.com").attempts == 0


def test_a_silent_dns_server_is_a_failure_too(campaign, dns_zone):
    dns_zone.delay("slow.com", 1.5)  # beyond the tests' one-second resolver timeout
    add_leads(campaign, "bob@slow.com")
    lead_detect_providers(domains=["slow.com"])
    row = DomainProvider.objects.get(domain="slow.com")
    assert (row.attempts, row.provider) == (1, None)
    assert row.retry_at is not None


def test_when_dns_fails_a_stale_provider_beats_other(campaign, dns_zone):
    DomainProvider.objects.create(
        domain="acme.com",
        provider="microsoft",
        expires_at=timezone.now() - timedelta(days=1),
    )
    dns_zone.fail("acme.com", times=10)
    add_leads(campaign, "bob@acme.com")

    lead_detect_providers(domains=["acme.com"])

    assert providers() == {"bob@acme.com": "microsoft"}
    assert DomainProvider.objects.get(domain="acme.com").expires_at > timezone.now()


def test_the_sweep_finds_leads_whose_task_was_lost(campaign, dns_zone, sweep):
    dns_zone.add_mx("acme.com", "aspmx.l.google.com")
    add_leads(campaign, "bob@acme.com")  # on-commit callbacks never ran: the task is lost
    LeadFactory(campaign=campaign, email="ann@acme.com", provider="zoho")

    assert sweep() == 0  # too recent: its own task may still be coming
    with time_machine.travel(timezone.now() + esp.PENDING_GRACE + timedelta(seconds=1)):
        assert sweep() == 1

    assert providers() == {"bob@acme.com": "google", "ann@acme.com": "zoho"}


def test_the_sweep_is_registered_with_celery_beat(db):
    task = PeriodicTask.objects.get(name="reachkit: detect lead providers")
    assert task.task == "leads.detect_providers_due"
    assert task.enabled
    assert task.interval.every == 60


def test_a_task_past_its_time_budget_hands_the_rest_to_a_new_task(
    campaign, dns_zone, monkeypatch, django_capture_on_commit_callbacks
):
    for domain in ("a.com", "b.com", "c.com"):
        dns_zone.add_mx(domain, "aspmx.l.google.com")
    add_leads(campaign, "x@a.com", "x@b.com", "x@c.com")
    monkeypatch.setattr(esp, "TASK_BUDGET", timedelta(0))

    with django_capture_on_commit_callbacks(execute=True) as handed_on:
        lead_detect_providers_task.delay(domains=["a.com", "b.com", "c.com"])

    # Each task looked one domain up (it always makes progress) and passed the rest on.
    assert [callback.keywords["domains"] for callback in handed_on] == [
        ["b.com", "c.com"],
        ["c.com"],
    ]
    assert dns_zone.queries == {"a.com": 1, "b.com": 1, "c.com": 1}
    assert set(providers().values()) == {"google"}
