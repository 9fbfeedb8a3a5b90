"""The stop rules are one list; every form the engine uses is derived from it and agrees.

The forms: the predicate the scheduler runs over a claimed batch (with the batch's facts),
the `Q` that filters leads in the database (the outbox on SQLite, the authoring services),
the CASE naming the rule (diagnostics), and the SQL of the outbox's PostgreSQL path. Each
rule is checked alone, in each way it can hold, with its campaign option on and off; then
Hypothesis checks them together over generated leads and options.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocklist.models import BlocklistEntry
from campaigns import services
from campaigns.models import Campaign, Send
from campaigns.reporting.diagnostics import campaign_diagnosis
from campaigns.sending import rules, scheduler
from campaigns.sending.rules import InboxState
from campaigns.sending.scheduler import InboxPool
from inboxes.models import Inbox, InboxPace
from leads.models import Lead
from tests.campaigns.factories import CampaignFactory
from tests.inboxes.factories import InboxFactory
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class LeadState:
    """A lead's stop-relevant columns, and what else holds it (a blocklist entry, a
    colleague at its domain who replied, and how that colleague's reply was recorded)."""

    is_unsubscribed: bool = False
    is_bounced: bool = False
    is_blocklisted: bool = False
    left_company: bool = False
    entry: str | None = None  # "address" or "domain": a blocklist entry for it
    replied_at: bool = False
    status: str = Lead.Status.CONTACTED
    colleague: str | None = None  # "replied_at", "status" or "both": a colleague replied
    domain: str = "acme.com"


def make_lead(campaign: Campaign, state: LeadState, number: int) -> Lead:
    email = f"lead{number}@{state.domain}"
    lead = LeadFactory(
        campaign=campaign,
        email=email,
        is_unsubscribed=state.is_unsubscribed,
        is_bounced=state.is_bounced,
        is_blocklisted=state.is_blocklisted,
        left_company_at=timezone.now() if state.left_company else None,
        replied_at=timezone.now() if state.replied_at else None,
        status=state.status,
    )
    if state.entry:
        value = email if state.entry == "address" else state.domain
        BlocklistEntry.objects.get_or_create(workspace=campaign.workspace, value=value)
    if state.colleague:
        LeadFactory(
            campaign=campaign,
            email=f"colleague{number}@{state.domain}",
            replied_at=timezone.now() if state.colleague in ("replied_at", "both") else None,
            status=Lead.Status.REPLIED
            if state.colleague in ("status", "both")
            else Lead.Status.CONTACTED,
        )
    return lead


def every_form(campaign: Campaign, leads: list[Lead]) -> dict[str, dict[uuid.UUID, Any]]:
    """For each lead, the reason (or whether it is stopped) by each derived form."""
    campaign = Campaign.objects.select_related("workspace").get(pk=campaign.pk)
    ids = [lead.pk for lead in leads]
    facts = scheduler.stop_facts(campaign, leads)
    filtered = set(
        Lead.objects.filter(pk__in=ids)
        .filter(rules.stopped_q(campaign))
        .values_list("pk", flat=True)
    )
    excluded = set(
        Lead.objects.filter(pk__in=ids)
        .exclude(rules.stopped_q(campaign))
        .values_list("pk", flat=True)
    )
    annotated = dict(
        Lead.objects.filter(pk__in=ids)
        .annotate(reason=rules.stop_reason_annotation(campaign))
        .values_list("pk", "reason")
    )
    sql, params = rules.stopped_sql(campaign)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {Lead._meta.db_table} WHERE {sql}", params)
        by_sql = {uuid.UUID(str(row[0])) for row in cursor.fetchall()}
    return {
        "predicate": {lead.pk: rules.stop_reason(campaign, lead, facts) for lead in leads},
        "case": {pk: annotated[pk] for pk in ids},
        "q": {pk: pk in filtered for pk in ids},
        "exclude": {pk: pk not in excluded for pk in ids},
        "sql": {pk: pk in by_sql for pk in ids},
    }


def assert_agree(forms: dict[str, dict[uuid.UUID, Any]]) -> None:
    for pk, reason in forms["predicate"].items():
        stopped = reason is not None
        assert forms["case"][pk] == reason, forms
        assert forms["q"][pk] is stopped, forms
        assert forms["exclude"][pk] is stopped, forms
        assert forms["sql"][pk] is stopped, forms


# Each rule, every way it can hold, and nothing else holding the lead.
WAYS = [
    (Send.SkipReason.UNSUBSCRIBED, "flag", LeadState(is_unsubscribed=True)),
    (Send.SkipReason.BOUNCED, "flag", LeadState(is_bounced=True)),
    (Send.SkipReason.BLOCKLISTED, "flag", LeadState(is_blocklisted=True)),
    (Send.SkipReason.BLOCKLISTED, "address entry", LeadState(entry="address")),
    (Send.SkipReason.BLOCKLISTED, "domain entry", LeadState(entry="domain")),
    (Send.SkipReason.LEFT_COMPANY, "left_company_at", LeadState(left_company=True)),
    (Send.SkipReason.REPLIED, "replied_at", LeadState(replied_at=True)),
    (Send.SkipReason.REPLIED, "status only", LeadState(status=Lead.Status.REPLIED)),
    (
        Send.SkipReason.REPLIED,
        "both",
        LeadState(replied_at=True, status=Lead.Status.REPLIED),
    ),
    (Send.SkipReason.COMPANY_REPLIED, "colleague's replied_at", LeadState(colleague="replied_at")),
    (Send.SkipReason.COMPANY_REPLIED, "colleague's status", LeadState(colleague="status")),
]
RULES = {rule.reason: rule for rule in rules.STOP_RULES}


def test_every_skip_reason_a_stop_rule_records_is_a_rule_of_the_list():
    assert {reason for reason, _, _ in WAYS} == set(RULES)


def _cases() -> list[Any]:
    """Each way a rule holds, with its option on and off (a rule without one always applies)."""
    cases = []
    for reason, way, state in WAYS:
        switches = [True, False] if RULES[reason].option else [True]
        for on in switches:
            label = f"{way}, option {'on' if on else 'off'}" if RULES[reason].option else way
            cases.append(pytest.param(reason, state, on, id=f"{reason}: {label}"))
    return cases


@pytest.mark.parametrize(("reason", "state", "option_on"), _cases())
def test_each_stop_rule_holds_alike_in_every_form(alice, reason, state, option_on):
    rule = RULES[reason]
    options = {"stop_on_reply": False, "stop_on_company_reply": False}
    if rule.option is not None:
        options[rule.option] = option_on
    campaign = CampaignFactory(workspace=alice.workspace, **options)
    held = make_lead(campaign, state, 1)
    free = make_lead(campaign, LeadState(domain="globex.com"), 2)

    forms = every_form(campaign, [held, free])

    assert_agree(forms)
    assert forms["predicate"] == {held.pk: reason if option_on else None, free.pk: None}


def test_a_lead_that_replied_itself_stops_the_company_without_stop_on_reply(alice):
    campaign = CampaignFactory(
        workspace=alice.workspace, stop_on_reply=False, stop_on_company_reply=True
    )
    lead = make_lead(campaign, LeadState(replied_at=True), 1)
    forms = every_form(campaign, [lead])
    assert_agree(forms)
    assert forms["predicate"][lead.pk] == Send.SkipReason.COMPANY_REPLIED


def test_the_first_rule_that_holds_names_the_skip(alice):
    campaign = CampaignFactory(workspace=alice.workspace, stop_on_reply=True)
    lead = make_lead(
        campaign, LeadState(is_bounced=True, entry="domain", status=Lead.Status.REPLIED), 1
    )
    forms = every_form(campaign, [lead])
    assert_agree(forms)
    assert forms["predicate"][lead.pk] == Send.SkipReason.BOUNCED


STATES = st.builds(
    LeadState,
    is_unsubscribed=st.booleans(),
    is_bounced=st.booleans(),
    is_blocklisted=st.booleans(),
    left_company=st.booleans(),
    entry=st.sampled_from([None, None, "address", "domain"]),
    replied_at=st.booleans(),
    status=st.sampled_from(Lead.Status.values),
    colleague=st.sampled_from([None, None, "replied_at", "status", "both"]),
    domain=st.sampled_from(["acme.com", "globex.com", "initech.com"]),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    states=st.lists(STATES, min_size=1, max_size=6),
    stop_on_reply=st.booleans(),
    stop_on_company_reply=st.booleans(),
)
def test_the_forms_agree_on_generated_leads_and_options(
    alice, states, stop_on_reply, stop_on_company_reply
):
    with transaction.atomic():
        campaign = CampaignFactory(
            workspace=alice.workspace,
            stop_on_reply=stop_on_reply,
            stop_on_company_reply=stop_on_company_reply,
        )
        leads = [make_lead(campaign, state, number) for number, state in enumerate(states)]
        assert_agree(every_form(campaign, leads))
        transaction.set_rollback(True)


def test_a_lead_marked_replied_without_its_time_gets_nothing_more_anywhere(alice, api):
    """Only the scheduler used to read the status: a step added after the last one woke the
    lead (the authoring services read `replied_at` alone), and diagnostics counted it."""
    campaign = CampaignFactory(workspace=alice.workspace, stop_on_reply=True)
    replied = LeadFactory(
        campaign=campaign,
        status=Lead.Status.REPLIED,
        replied_at=None,
        next_step=2,
        next_due_at=None,
        last_sent_at=timezone.now() - timedelta(days=5),
    )
    finished = LeadFactory(
        campaign=campaign,
        status=Lead.Status.CONTACTED,
        next_step=2,
        next_due_at=None,
        last_sent_at=timezone.now() - timedelta(days=5),
    )

    services.sequence_create(campaign=campaign)

    replied.refresh_from_db()
    finished.refresh_from_db()
    assert replied.next_due_at is None
    assert finished.next_due_at is not None
    stopped = api.get(f"/api/v1/campaigns/{campaign.pk}/diagnostics").json()["data"]["leads"]
    assert stopped["stopped"]["replied"] == 1
    assert stopped["due_follow_ups"] == 1


def test_the_scheduler_and_diagnostics_agree_on_which_inboxes_may_send(alice):
    now = timezone.now()
    campaign = CampaignFactory(workspace=alice.workspace)
    connected = {"connection_status": Inbox.ConnectionStatus.CONNECTED}
    inboxes = {
        InboxState.READY: InboxFactory(workspace=alice.workspace, **connected),
        InboxState.INACTIVE: InboxFactory(workspace=alice.workspace, is_active=False, **connected),
        InboxState.NOT_CONNECTED: InboxFactory(
            workspace=alice.workspace, connection_status=Inbox.ConnectionStatus.ERROR
        ),
        InboxState.AT_DAILY_CAP: InboxFactory(
            workspace=alice.workspace, daily_campaign_limit=1, **connected
        ),
        InboxState.WAITING_FOR_GAP: InboxFactory(workspace=alice.workspace, **connected),
    }
    services.campaign_inboxes_attach(
        campaign=campaign, inbox_ids=[inbox.pk for inbox in inboxes.values()]
    )
    InboxPace.objects.create(
        inbox=inboxes[InboxState.WAITING_FOR_GAP], next_send_at=now + timedelta(minutes=3)
    )
    capped = inboxes[InboxState.AT_DAILY_CAP]
    lead = LeadFactory(campaign=campaign)
    Send.objects.create(
        campaign=campaign,
        lead=lead,
        step=1,
        inbox=capped,
        to_email=lead.email,
        status=Send.Status.SENT,
        claimed_at=now,
        message_id=f"<{uuid.uuid4()}@test>",
    )
    campaign = Campaign.objects.select_related("schedule").get(pk=campaign.pk)

    with transaction.atomic():
        pooled = set(InboxPool.lock(campaign, now).inboxes)
    diagnosis = campaign_diagnosis(campaign=campaign, now=now)

    assert {item.id: item.state for item in diagnosis.inboxes.items} == {
        inbox.pk: state for state, inbox in inboxes.items()
    }
    assert pooled == {inboxes[InboxState.READY].pk}
