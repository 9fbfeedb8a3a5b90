"""Leads' rules: adding one or many (`if_exists`), editing, deleting, CSV imports, and
detecting each lead's mail provider (ESP) from its domain's MX records."""

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import IO, Any

from django.db import transaction
from django.db.models import OuterRef, Q
from django.utils import timezone

from blocklist.services import blocklist_holds, blocklisted_among
from campaigns.models import Campaign
from leads import esp
from leads.bulk import (
    LeadChange,
    LeadRow,
    insert_leads,
    lock_campaign,
    ordered_ids,
    update_leads,
)
from leads.imports import CsvLeads, read_ahead
from leads.inputs import (
    IfExists,
    InvalidLead,
    LeadInput,
    RuleBroken,
    clean_lead,
    merge_variables,
    search_text,
)
from leads.models import DomainProvider, Lead
from reachkit.emails import email_domain
from reachkit.errors import Conflict, NotFound, ValidationFailed
from reachkit.mx import OTHER, DnsLookupFailed, provider_for_mx, resolve_mx
from reachkit.text import plural

LEAD_EXISTS = "A lead with this email already exists in this campaign."
MAX_BULK_LEADS = 1000
IMPORT_BATCH_SIZE = 20_000


class LeadOutcome(StrEnum):
    """What became of one lead of a batch."""

    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    FAILED = "failed"  # `Outcome.details` says why


# --- adding leads -----------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """What became of one lead of a batch: created, updated, skipped, or failed (`details`)."""

    kind: LeadOutcome
    lead_id: uuid.UUID | None = None
    details: dict[str, Any] | None = None


@dataclass
class SaveResult:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, kind: LeadOutcome) -> int:
        return sum(1 for outcome in self.outcomes if outcome.kind == kind)


@dataclass(slots=True)
class _Existing:
    id: uuid.UUID
    first_name: str
    last_name: str
    variables: dict[str, Any]
    changed: bool = False


def _conflict(lead_id: uuid.UUID) -> Outcome:
    return Outcome(LeadOutcome.FAILED, lead_id, {"email": [LEAD_EXISTS], "id": str(lead_id)})


def lead_save_many(
    *, campaign: Campaign, leads: Sequence[LeadInput], if_exists: IfExists = IfExists.FAIL
) -> SaveResult:
    """Add leads to a campaign; one outcome per lead, in order.

    1. Lock the campaign's leads (other writers wait) and load the ones with these emails.
    2. Walk the batch in order, as if each lead came alone: a new email is created; an
       existing one (in the campaign, or earlier in this batch) fails, is skipped, or has
       its names and variables merged, per `if_exists`.
    3. Mark blocklisted addresses, give new leads their provider when the domain's is
       cached, write everything in two statements, and, once committed, enqueue ESP
       detection for the domains whose provider is not known yet.
    """
    now = timezone.now()
    result = SaveResult()
    with transaction.atomic():
        lock_campaign(campaign.pk)
        keys = {lead.email_key for lead in leads}
        existing_rows = Lead.objects.filter(campaign=campaign, email_key__any_of=keys)
        existing = {
            key: _Existing(lead_id, first, last, variables)
            for key, lead_id, first, last, variables in existing_rows.values_list(
                "email_key", "id", "first_name", "last_name", "variables"
            )
        }
        new: dict[str, LeadRow] = {}
        ids = iter(ordered_ids(len(leads)))
        for lead in leads:
            key = lead.email_key
            row = new.get(key)
            known = existing.get(key)
            if row is None and known is None:
                row = LeadRow(
                    id=next(ids),
                    email=lead.email,
                    email_key=key,
                    domain=lead.domain,
                    first_name=lead.first_name or "",
                    last_name=lead.last_name or "",
                    variables=lead.variables or {},
                    search_text="",
                )
                new[key] = row
                result.outcomes.append(Outcome(LeadOutcome.CREATED, row.id))
                continue
            target = row if row is not None else known
            assert target is not None
            if if_exists == IfExists.FAIL:
                result.outcomes.append(_conflict(target.id))
            elif if_exists == IfExists.SKIP:
                result.outcomes.append(Outcome(LeadOutcome.SKIPPED, target.id))
            else:
                outcome = _merge(target, lead)
                result.outcomes.append(outcome)
                if known is not None and outcome.kind == LeadOutcome.UPDATED:
                    known.changed = True

        changed = {key: lead for key, lead in existing.items() if lead.changed}
        blocked = (
            blocklisted_among(workspace=campaign.workspace, emails=[*new, *changed])
            if new or changed
            else set()
        )
        new_domains = {row.domain for row in new.values()}
        cached = _fresh_providers(new_domains, now)
        for key, row in new.items():
            row.search_text = search_text(key, row.first_name, row.last_name, row.variables)
            row.is_blocklisted = key in blocked
            row.provider = cached.get(row.domain)
        insert_leads(
            workspace_id=campaign.workspace_id,
            campaign_id=campaign.pk,
            rows=list(new.values()),
            now=now,
        )
        update_leads(
            changes=[
                LeadChange(
                    id=lead.id,
                    first_name=lead.first_name,
                    last_name=lead.last_name,
                    variables=lead.variables,
                    search_text=search_text(key, lead.first_name, lead.last_name, lead.variables),
                    is_blocklisted=key in blocked,
                )
                for key, lead in changed.items()
            ],
            now=now,
        )
        _enqueue_detection(new_domains - cached.keys())
    return result


def _merge(target: LeadRow | _Existing, lead: LeadInput) -> Outcome:
    """`if_exists: update`: given names replace, given variables merge into the old ones."""
    if lead.variables:
        try:
            target.variables = merge_variables(target.variables, lead.variables)
        except RuleBroken as error:
            return Outcome(LeadOutcome.FAILED, target.id, {"variables": error.messages})
    if lead.first_name is not None:
        target.first_name = lead.first_name
    if lead.last_name is not None:
        target.last_name = lead.last_name
    return Outcome(LeadOutcome.UPDATED, target.id)


def lead_create(
    *, campaign: Campaign, lead: LeadInput, if_exists: IfExists = IfExists.FAIL
) -> tuple[Lead, bool]:
    """Add one lead. Returns it and whether it is new; a duplicate with `if_exists: fail`
    is a Conflict whose details carry the existing lead's id."""
    outcome = lead_save_many(campaign=campaign, leads=[lead], if_exists=if_exists).outcomes[0]
    if outcome.kind == LeadOutcome.FAILED:
        details = outcome.details or {}
        if "id" in details:
            raise Conflict(LEAD_EXISTS, code="lead_exists", details=details)
        raise ValidationFailed(details=details)
    assert outcome.lead_id is not None
    return Lead.objects.get(pk=outcome.lead_id), outcome.kind == LeadOutcome.CREATED


@dataclass
class BulkResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def lead_bulk_save(
    *, campaign: Campaign, raw_leads: Sequence[Any], if_exists: IfExists = IfExists.FAIL
) -> BulkResult:
    """`POST …/leads/bulk`: each lead checked alone; bad ones reported by index, the rest saved."""
    result = BulkResult()
    valid: list[LeadInput] = []
    positions: list[int] = []
    for index, raw in enumerate(raw_leads):
        try:
            valid.append(clean_lead(raw))
            positions.append(index)
        except InvalidLead as error:
            result.errors.append({"index": index, "details": error.details})
    saved = lead_save_many(campaign=campaign, leads=valid, if_exists=if_exists)
    for index, outcome in zip(positions, saved.outcomes, strict=True):
        if outcome.kind == LeadOutcome.FAILED:
            result.errors.append({"index": index, "details": outcome.details})
    result.errors.sort(key=lambda error: error["index"])
    result.created = saved.count(LeadOutcome.CREATED)
    result.updated = saved.count(LeadOutcome.UPDATED)
    result.skipped = saved.count(LeadOutcome.SKIPPED)
    return result


# --- one lead ---------------------------------------------------------------------------------


def lead_update(
    *,
    lead: Lead,
    first_name: str | None = None,
    last_name: str | None = None,
    variables: dict[str, Any] | None = None,
) -> Lead:
    """PATCH: given names replace the old ones; given `variables` replace the whole object.

    Under the campaign's lead lock, so a concurrent `if_exists: update` cannot lose it.
    """
    with transaction.atomic():
        lock_campaign(lead.campaign_id)
        current = Lead.objects.select_for_update().filter(pk=lead.pk).first()
        if current is None:  # deleted meanwhile
            raise NotFound()
        return _apply_update(current, first_name, last_name, variables)


def _apply_update(
    lead: Lead, first_name: str | None, last_name: str | None, variables: dict[str, Any] | None
) -> Lead:
    if first_name is not None:
        lead.first_name = first_name
    if last_name is not None:
        lead.last_name = last_name
    if variables is not None:
        lead.variables = variables
    lead.search_text = search_text(lead.email_key, lead.first_name, lead.last_name, lead.variables)
    lead.save(update_fields=["first_name", "last_name", "variables", "search_text", "updated_at"])
    return lead


def lead_delete(*, lead: Lead) -> None:
    lead.delete()


# --- The blocklist's mark --------------------------------------------------------------------


def _workspace_leads(workspace_id: Any) -> Any:
    # Through the campaigns: the lead indexes lead with the campaign, none with the workspace.
    return Lead.objects.filter(
        campaign_id__in=Campaign.objects.filter(workspace_id=workspace_id).values("id")
    )


def _covered_by(emails: Sequence[str], domains: Sequence[str]) -> Q:
    """Leads whose address is one of `emails` or whose domain is one of `domains` (all
    lower-cased). The address's own domain is given too, so both read `lead_domain`."""
    covered = Q(pk__in=[])
    if emails:
        covered |= Q(
            domain__any_of=sorted({email_domain(email) for email in emails}),
            email_key__any_of=list(emails),
        )
    if domains:
        covered |= Q(domain__any_of=list(domains))
    return covered


def leads_blocklisted(*, workspace_id: Any, emails: Sequence[str], domains: Sequence[str]) -> int:
    """New blocklist entries: every lead of the workspace they cover is marked, in one
    statement. Returns how many leads changed."""
    return (
        _workspace_leads(workspace_id)
        .filter(is_blocklisted=False)
        .filter(_covered_by(emails, domains))
        .update(is_blocklisted=True, updated_at=timezone.now())
    )


def leads_unblocklisted(*, workspace_id: Any, emails: Sequence[str], domains: Sequence[str]) -> int:
    """Blocklist entries removed: the leads they covered are unmarked, in one statement,
    unless another entry still covers them (a domain entry and the address's own). Returns
    how many leads changed. Runs after the entries are deleted, under the blocklist's lock."""
    still_blocked = blocklist_holds(
        workspace=workspace_id, address=OuterRef("email_key"), domain=OuterRef("domain")
    )
    return (
        _workspace_leads(workspace_id)
        .filter(is_blocklisted=True)
        .filter(_covered_by(emails, domains))
        .filter(~still_blocked)
        .update(is_blocklisted=False, updated_at=timezone.now())
    )


# --- CSV imports ------------------------------------------------------------------------------


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    # (line number, message), in file order.
    errors: list[tuple[int, str]] = field(default_factory=list)
    lines: int = 0  # physical lines after the header
    blank_lines: int = 0
    spans: list[tuple[int, int]] = field(default_factory=list)  # rows over several lines

    SHOWN_SPANS = 5

    def lines_note(self) -> str | None:
        """What to say when the file's lines and its rows differ (None when they don't): a
        row read over several lines is named, so no row is ever merged silently."""
        if self.lines == self.rows:
            return None
        note = f"{plural(self.lines, 'line')} read as {plural(self.rows, 'row')}"
        reasons = []
        if self.spans:
            shown = [
                f"{first}-{last}" if last > first else str(first)
                for first, last in self.spans[: self.SHOWN_SPANS]
            ]
            more = len(self.spans) - len(shown)
            listed = ", ".join(shown) + (f" and {more:,} more" if more else "")
            each = "one row each" if len(self.spans) > 1 else "one row"
            reasons.append(f"lines {listed} are {each} (a quoted cell holds line breaks)")
        if self.blank_lines:
            reasons.append(f"{plural(self.blank_lines, 'blank line')} skipped")
        return f"{note}: {'; '.join(reasons)}." if reasons else f"{note}."


def _message(details: dict[str, Any]) -> str:
    parts = []
    for name, messages in details.items():
        if name == "id":
            continue
        text = " ".join(messages) if isinstance(messages, list) else str(messages)
        parts.append(text if name == "non_field_errors" else f"{name}: {text}")
    if "id" in details:
        parts.append(f"(lead {details['id']})")
    return " ".join(parts)


def lead_import_csv(
    *,
    campaign: Campaign,
    stream: IO[bytes],
    if_exists: IfExists = IfExists.FAIL,
    batch_size: int = IMPORT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import a CSV file's leads, a batch per transaction: bad rows are reported with their
    line numbers, good ones kept. Raises `ImportRefused` when the header makes no sense.

    `progress` is called with the number of rows read after each batch.
    """
    csv_leads = CsvLeads(stream)
    result = ImportResult()
    for batch in read_ahead(csv_leads.batches(batch_size)):
        result.rows += len(batch.leads) + len(batch.errors)
        result.errors.extend((line, _message(details)) for line, details in batch.errors)
        saved = lead_save_many(campaign=campaign, leads=batch.leads, if_exists=if_exists)
        for line, outcome in zip(batch.lines, saved.outcomes, strict=True):
            if outcome.kind == LeadOutcome.FAILED:
                result.errors.append((line, _message(outcome.details or {})))
        result.created += saved.count(LeadOutcome.CREATED)
        result.updated += saved.count(LeadOutcome.UPDATED)
        result.skipped += saved.count(LeadOutcome.SKIPPED)
        if progress is not None:
            progress(len(batch.leads) + len(batch.errors))
    result.errors.sort()
    result.lines, result.blank_lines = csv_leads.lines, csv_leads.blank_lines
    result.spans = csv_leads.spans
    return result


# --- ESP detection ----------------------------------------------------------------------------


def _enqueue_detection(domains: Iterable[str]) -> None:
    """Once the leads are committed, look their domains up: one task per batch of leads."""
    from leads.tasks import lead_detect_providers_task

    wanted = sorted(set(domains))
    if wanted:
        # robust: a broker hiccup must not fail a request whose leads are committed; the
        # periodic sweep picks their domains up. Django names a robust callback that failed
        # by its __qualname__, which a partial lacks (an AttributeError instead of a log line).
        hand_over = partial(lead_detect_providers_task.delay, domains=wanted)
        hand_over.__qualname__ = "lead_detect_providers_task.delay"  # type: ignore[attr-defined]
        transaction.on_commit(hand_over, robust=True)


def lead_detect_providers(*, domains: Sequence[str]) -> None:
    """Give the leads of these domains their provider, asking DNS at most once per domain.

    1. Make sure each domain has a cache row; domains whose row is fresh are applied at once.
    2. For each other domain, claim the row with a conditional UPDATE. A worker that gets 0
       rows leaves the domain alone: another worker owns the look-up (and applies it to
       every pending lead once done), or a retry is scheduled.
    3. Ask DNS, store the answer (releasing the claim), then update the pending leads.
       Storing commits before the leads are updated, so a lead committed before another
       worker saw the claim is always covered by the owner's update.
    4. Past its time budget, hand the remaining domains to a new task: a task stays within
       its time limit however many domains an import brings.
    """
    deadline = time.monotonic() + esp.TASK_BUDGET.total_seconds()
    now = timezone.now()
    wanted = sorted({domain.strip().lower() for domain in domains if domain.strip()})
    if not wanted:
        return
    DomainProvider.objects.bulk_create(
        [DomainProvider(domain=domain) for domain in wanted], ignore_conflicts=True
    )
    fresh = _fresh_providers(wanted, now)
    _apply_providers(fresh)
    looked_up = 0
    for position, domain in enumerate(wanted):
        if domain in fresh:
            continue
        if looked_up and time.monotonic() > deadline:
            _enqueue_detection(wanted[position:])
            return
        looked_up += 1
        now = timezone.now()
        claimed = (
            DomainProvider.objects.filter(domain=domain)
            .claimable(now)
            .update(claimed_until=now + esp.claim_lease())
        )
        if claimed:
            _look_up(domain)
        else:
            # Someone may have finished between our two reads: then it is fresh now.
            _apply_providers(_fresh_providers([domain], now))


def _fresh_providers(domains: Iterable[str], now: datetime) -> dict[str, str]:
    rows = DomainProvider.objects.filter(domain__any_of=domains).fresh(now)
    return {
        domain: provider for domain, provider in rows.values_list("domain", "provider") if provider
    }


def _look_up(domain: str) -> None:
    try:
        hosts = resolve_mx(domain)
    except DnsLookupFailed as error:
        _record_failure(domain, str(error))
        return
    provider = provider_for_mx(hosts)
    now = timezone.now()
    DomainProvider.objects.filter(domain=domain).update(
        provider=provider,
        mx_hosts=hosts,
        checked_at=now,
        expires_at=now + esp.CACHE_TTL,
        attempts=0,
        retry_at=None,
        claimed_until=None,
        last_error="",
    )
    _apply_providers({domain: provider})


def _record_failure(domain: str, error: str) -> None:
    """A failed look-up backs off; after the last attempt the domain's leads get the provider
    it had before (a stale answer beats none) or "other"."""
    now = timezone.now()
    row = DomainProvider.objects.get(domain=domain)
    attempts = row.attempts + 1
    rows = DomainProvider.objects.filter(domain=domain)
    if row.provider is None and attempts < esp.MAX_ATTEMPTS:
        rows.update(
            attempts=attempts,
            retry_at=now + esp.retry_delay(attempts),
            claimed_until=None,
            last_error=error,
        )
        return
    provider = row.provider or OTHER
    rows.update(
        provider=provider,
        checked_at=now,
        expires_at=now + esp.FALLBACK_TTL,
        attempts=attempts,
        retry_at=None,
        claimed_until=None,
        last_error=error,
    )
    _apply_providers({domain: provider})


def _apply_providers(providers: dict[str, str]) -> None:
    """Set the provider of the leads still waiting for one: one UPDATE per provider."""
    by_provider: dict[str, list[str]] = defaultdict(list)
    for domain, provider in providers.items():
        by_provider[provider].append(domain)
    now = timezone.now()
    for provider, domains in by_provider.items():
        Lead.objects.pending_provider().filter(domain__any_of=domains).update(
            provider=provider, updated_at=now
        )


def lead_detect_providers_due(*, now: datetime | None = None) -> int:
    """The periodic sweep: domains whose retry is due, and leads still without a provider a
    while after they were added (a lost task, a worker that died holding a claim). Returns
    how many domains were enqueued."""
    now = now or timezone.now()
    retry_due = DomainProvider.objects.filter(retry_at__lte=now).values_list("domain", flat=True)
    pending = (
        Lead.objects.pending_provider()
        .filter(created_at__lte=now - esp.PENDING_GRACE)
        .values_list("domain", flat=True)
        .distinct()
        .order_by()
    )
    domains = set(retry_due[: esp.SWEEP_LIMIT]) | set(pending[: esp.SWEEP_LIMIT])
    _enqueue_detection(domains)
    return len(domains)
