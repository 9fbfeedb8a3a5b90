"""The send scheduler: which lead gets which step, from which inbox, now.

For each active campaign whose window is open, `claim_for_campaign` claims work in one
transaction: retries that are due, then follow-ups, then leads due for step 1, within the
campaign's daily limit and its inboxes' daily caps and gaps. Each claim is an outbox row
(`Send`, status `claimed`) created before any SMTP conversation; campaigns/sending/passes.py
hands the claims to delivery.

Concurrency: rows are taken with `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL), so any
number of passes can run at once, each on different leads and inboxes; a lead gets a
step at most once (unique lead, step). On SQLite a transaction takes the database's
write lock when it begins, so passes simply take turns.

Cost follows the work due: the lead queues are partial indexes holding only leads with
something due, read with a LIMIT; caps count only today's rows.
"""

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count, QuerySet

from blocklist.services import blocklisted_among
from campaigns.content.message import make_message_id
from campaigns.models import Campaign, Send, Variant
from campaigns.models import Sequence as Step
from campaigns.sending import outbox, rules
from inboxes import pace
from inboxes.models import Inbox
from leads.models import Lead
from reachkit.bulk import insert_rows

# --- Inboxes ---------------------------------------------------------------------------------


@dataclass
class PooledInbox:
    inbox: Inbox
    remaining_today: int
    # How many more claims this round: one when sends are spaced by a gap, else the cap.
    allowance: int

    @property
    def available(self) -> bool:
        return self.remaining_today > 0 and self.allowance > 0


@dataclass
class InboxPool:
    """The campaign's inboxes that may send now, each locked for this transaction."""

    inboxes: dict[uuid.UUID, PooledInbox]
    used: set[uuid.UUID] = field(default_factory=set)

    @classmethod
    def lock(cls, campaign: Campaign, now: datetime) -> "InboxPool":
        """Attached, active, connected inboxes whose gap has passed and cap is not reached.

        Their pace rows are locked with SKIP LOCKED: an inbox another scheduler is handing
        work to right now sits this round out.
        """
        candidates = {
            inbox.pk: inbox for inbox in campaign.inboxes.all() if rules.inbox_usable(inbox)
        }
        if not candidates:
            return cls({})
        ready = pace.lock_ready(candidates, now)
        used_today = outbox.inbox_sends_today(ready, now)
        pooled = {}
        for inbox_id in ready:
            inbox = candidates[inbox_id]
            remaining = rules.cap_left(inbox, used_today.get(inbox_id, 0))
            if remaining > 0:
                allowance = 1 if pace.spaced() else remaining
                pooled[inbox_id] = PooledInbox(inbox, remaining, allowance)
        return cls(pooled)

    def capacity(self) -> int:
        return sum(self.room(inbox_id) for inbox_id in self.inboxes)

    def room(self, inbox_id: uuid.UUID) -> int:
        """How many more emails this inbox may take this round."""
        pooled = self.inboxes[inbox_id]
        return max(0, min(pooled.remaining_today, pooled.allowance))

    def available_ids(self) -> list[uuid.UUID]:
        return [inbox_id for inbox_id, pooled in self.inboxes.items() if pooled.available]

    def available_providers(self) -> set[str]:
        return {pooled.inbox.provider for pooled in self.inboxes.values() if pooled.available}

    def take(self, inbox_id: uuid.UUID) -> Inbox | None:
        """This inbox, if it may send now (a follow-up stays on its thread's inbox)."""
        pooled = self.inboxes.get(inbox_id)
        if pooled is None or not pooled.available:
            return None
        return self._consume(pooled)

    def take_best(self, provider: str | None = None) -> Inbox | None:
        """The inbox with the most of today's cap left (rotation), of `provider` if given."""
        candidates = [
            pooled
            for pooled in self.inboxes.values()
            if pooled.available and (provider is None or pooled.inbox.provider == provider)
        ]
        if not candidates:
            return None
        return self._consume(max(candidates, key=lambda p: (p.remaining_today, p.inbox.pk)))

    def _consume(self, pooled: PooledInbox) -> Inbox:
        pooled.remaining_today -= 1
        pooled.allowance -= 1
        self.used.add(pooled.inbox.pk)
        return pooled.inbox

    def save_paces(self, now: datetime) -> None:
        """Space each used inbox's next email by a random gap (REACHKIT_SEND_GAP_SECONDS)."""
        pace.push(self.used, now)


# --- Steps and variants ----------------------------------------------------------------------


@dataclass
class StepPlan:
    """A campaign's steps with their enabled variants, and how many leads each variant got."""

    steps: dict[int, Step]
    variants: dict[int, list[Variant]]
    counts: Counter[uuid.UUID]

    @classmethod
    def load(cls, campaign: Campaign) -> "StepPlan":
        steps = {step.step: step for step in Step.objects.filter(campaign=campaign)}
        variants: dict[int, list[Variant]] = {number: [] for number in steps}
        enabled = Variant.objects.filter(sequence__campaign=campaign, enabled=True).order_by(
            "letter"
        )
        by_sequence = {step.pk: number for number, step in steps.items()}
        for variant in enabled:
            variants[by_sequence[variant.sequence_id]].append(variant)
        # Only a step with a choice (an A/B test) needs counts, read from the (variant,
        # status) index: a step with one variant costs nothing, however many emails the
        # campaign has sent.
        contested = [v.pk for choices in variants.values() if len(choices) > 1 for v in choices]
        counts: Counter[uuid.UUID] = Counter()
        if contested:
            counts.update(
                {
                    row["variant_id"]: row["n"]
                    for row in Send.objects.filter(
                        variant_id__in=contested, status__in=rules.COUNTED
                    )
                    .values("variant_id")
                    .annotate(n=Count("pk"))
                    .order_by()
                }
            )
        return cls(steps, variants, counts)

    def pick_variant(self, step: int) -> Variant | None:
        """The enabled variant with the fewest leads so far: an even split, A first on ties."""
        choices = self.variants.get(step) or []
        if not choices:
            return None
        variant = min(choices, key=lambda v: (self.counts[v.pk], v.letter))
        self.counts[variant.pk] += 1
        return variant


# --- Stop rules ------------------------------------------------------------------------------


def stop_facts(campaign: Campaign, leads: Sequence[Lead]) -> rules.Facts:
    """What the stop rules read beyond a batch's own rows (`rules.Facts`): one query for the
    blocklist, one more for colleagues' replies when the campaign stops on them."""
    blocked = blocklisted_among(workspace=campaign.workspace, emails=[lead.email for lead in leads])
    replied_domains: set[str] = set()
    if rules.needs_colleagues(campaign):
        replied_domains = set(
            Lead.objects.filter(campaign=campaign, domain__in={lead.domain for lead in leads})
            .filter(rules.REPLIED.q())
            .values_list("domain", flat=True)
        )
    return rules.Facts(frozenset(blocked), frozenset(replied_domains))


def stop_reasons(campaign: Campaign, leads: Sequence[Lead]) -> dict[uuid.UUID, Send.SkipReason]:
    """Why each lead that must not get another email must not (`rules.stop_reason`)."""
    if not leads:
        return {}
    facts = stop_facts(campaign, leads)
    return {
        lead.pk: reason
        for lead in leads
        if (reason := rules.stop_reason(campaign, lead, facts)) is not None
    }


# --- Claiming --------------------------------------------------------------------------------


@dataclass
class Round:
    """One campaign's claiming in one transaction."""

    campaign: Campaign
    now: datetime
    worker: str
    pool: InboxPool
    plan: StepPlan
    budget: int
    claims: list[Send] = field(default_factory=list)

    @property
    def left(self) -> int:
        return self.budget - len(self.claims)

    def new_send(self, lead: Lead, step: int, inbox: Inbox, variant: Variant) -> Send:
        send_id = uuid.uuid4()
        return Send(
            id=send_id,
            campaign=self.campaign,
            lead=lead,
            step=step,
            sequence=self.plan.steps[step],
            variant=variant,
            inbox=inbox,
            from_email=inbox.email,
            to_email=lead.email,
            status=Send.Status.CLAIMED,
            due_at=self.now,
            claimed_at=self.now,
            claimed_by=self.worker,
            message_id=make_message_id(send_id, inbox.domain),
        )

    def skipped(self, lead: Lead, step: int, reason: Send.SkipReason) -> Send:
        send_id = uuid.uuid4()
        return Send(
            id=send_id,
            campaign=self.campaign,
            lead=lead,
            step=step,
            sequence=self.plan.steps.get(step),
            to_email=lead.email,
            status=Send.Status.SKIPPED,
            skip_reason=reason,
            message_id=make_message_id(send_id, "skipped.invalid"),
        )


def claim_for_campaign(campaign: Campaign, now: datetime, worker: str) -> list[Send]:
    """Claim what this campaign may send now; returns the claimed outbox rows."""
    if not campaign.schedule.weekly().is_open(now):
        return []
    with transaction.atomic():
        # One claimer per campaign at a time (the others wait the few milliseconds): the
        # daily limit below is counted after any earlier claimer committed, so two passes
        # never both spend the same remainder. A campaign paused meanwhile is left alone.
        active = Campaign.objects.select_for_update().filter(
            pk=campaign.pk, status=Campaign.Status.ACTIVE
        )
        if not active.exists():
            return []
        budget = min(
            campaign.daily_limit - outbox.campaign_sends_today(campaign, now),
            settings.SEND_BATCH_SIZE,
        )
        if budget <= 0:
            return []
        pool = InboxPool.lock(campaign, now)
        budget = min(budget, pool.capacity())
        if budget <= 0:
            return []
        work = Round(campaign, now, worker, pool, StepPlan.load(campaign), budget)
        _claim_retries(work)
        _claim_follow_ups(work)
        if work.left > 0:
            _claim_first_steps(work)
        pool.save_paces(now)
    return work.claims


def _claim_retries(work: Round) -> None:
    """Rows that failed for a moment (SMTP 4xx) and are due again, on their own inbox."""
    due = list(
        Send.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("lead", "variant")
        .filter(campaign=work.campaign, status=Send.Status.SCHEDULED, due_at__lte=work.now)
        .order_by("due_at")[: work.left]
    )
    reasons = stop_reasons(work.campaign, [send.lead for send in due])
    changed = []
    for send in due:
        if reason := reasons.get(send.lead_id):
            send.status, send.skip_reason = Send.Status.SKIPPED, reason
        elif send.inbox_id is None:
            send.status, send.skip_reason = Send.Status.FAILED, Send.SkipReason.INBOX_DELETED
        elif (inbox := work.pool.take(send.inbox_id)) is not None:
            send.status, send.claimed_at, send.claimed_by = (
                Send.Status.CLAIMED,
                work.now,
                work.worker,
            )
            send.attempted_at = None
            send.inbox, send.campaign = inbox, work.campaign  # loaded: the sender reads them
            work.claims.append(send)
        else:
            continue
        changed.append(send)
    Send.objects.bulk_update(
        changed, ["status", "skip_reason", "claimed_at", "claimed_by", "attempted_at"]
    )


def _claim_follow_ups(work: Round) -> None:
    """Follow-ups due, each from its thread's inbox: one queue per inbox that may send now.

    Asking per inbox keeps a backlog on a busy inbox from holding up the others.
    """
    for inbox_id in work.pool.available_ids():
        if work.left <= 0:
            return
        due = Lead.objects.filter(
            campaign=work.campaign,
            thread_inbox_id=inbox_id,
            next_step__gt=1,
            next_due_at__lte=work.now,
        )
        _claim_leads(work, due, limit=min(work.left, work.pool.room(inbox_id)))


def _claim_first_steps(work: Round) -> None:
    """Leads due for step 1, over the inboxes by capacity left (and by ESP when matching)."""
    due = Lead.objects.filter(campaign=work.campaign, next_step=1, next_due_at__lte=work.now)
    if work.campaign.esp_matching:
        # Only leads some free inbox can serve: the others would block the queue's head.
        due = due.filter(provider__in=rules.lead_providers_served(work.pool.available_providers()))
    _claim_leads(work, due, limit=work.left)


def _claim_leads(work: Round, due: QuerySet[Lead], *, limit: int) -> None:
    leads = list(due.select_for_update(skip_locked=True).order_by("next_due_at")[:limit])
    if not leads:
        return
    reasons = stop_reasons(work.campaign, leads)
    rows: list[Send] = []
    done: list[uuid.UUID] = []
    for lead in leads:
        step = lead.next_step
        if reason := reasons.get(lead.pk):
            rows.append(work.skipped(lead, step, reason))
        elif step in work.plan.steps:
            if lead.thread_inbox_id is not None and step > 1:
                inbox = work.pool.take(lead.thread_inbox_id)
            elif work.campaign.esp_matching:
                wanted = rules.inbox_provider_for(lead.provider)
                inbox = work.pool.take_best(wanted) if wanted else None
            else:
                inbox = work.pool.take_best()
            variant = work.plan.pick_variant(step) if inbox is not None else None
            if inbox is None or variant is None:
                continue  # stays due: no inbox may send it now
            send = work.new_send(lead, step, inbox, variant)
            rows.append(send)
            work.claims.append(send)
        # else: past the last step, the sequence is over for this lead
        done.append(lead.pk)
    insert_rows(rows)
    Lead.objects.filter(pk__in=done).update(next_due_at=None, updated_at=work.now)


def skip_orphaned_follow_ups(campaign: Campaign, now: datetime, *, limit: int = 1000) -> int:
    """Follow-ups whose thread's inbox was detached or deleted: skipped, never sent from
    another mailbox (it would not be a reply in the thread). Returns how many."""
    attached = list(campaign.inboxes.values_list("pk", flat=True))
    with transaction.atomic():
        leads = list(
            Lead.objects.filter(campaign=campaign, next_step__gt=1, next_due_at__lte=now)
            .exclude(thread_inbox_id__in=attached)
            .select_for_update(skip_locked=True)
            .order_by("next_due_at")[:limit]
        )
        if not leads:
            return 0
        plan_steps = {step.step: step for step in Step.objects.filter(campaign=campaign)}
        rows = [
            Send(
                id=(send_id := uuid.uuid4()),
                campaign=campaign,
                lead=lead,
                step=lead.next_step,
                sequence=plan_steps.get(lead.next_step),
                to_email=lead.email,
                status=Send.Status.SKIPPED,
                skip_reason=Send.SkipReason.INBOX_DETACHED,
                message_id=make_message_id(send_id, "skipped.invalid"),
            )
            for lead in leads
        ]
        Send.objects.bulk_create(rows)
        Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
            next_due_at=None, updated_at=now
        )
    return len(leads)


def active_campaigns() -> list[Campaign]:
    return list(
        Campaign.objects.filter(status=Campaign.Status.ACTIVE)
        .select_related("schedule", "workspace")
        .order_by("created_at")
    )
