"""The blocklist's rules: what an entry is, adding, removing, and the sender's check.

Every change runs under a per-workspace lock and tells `blocklist.signals`' receivers what
changed, inside its transaction: leads keep `is_blocklisted` true to the blocklist that way,
and two removals that each leave the other's entry can never both miss that it is gone.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Q

from blocklist import signals
from blocklist.models import BlocklistEntry
from reachkit.emails import email_domain, is_valid_domain, is_valid_email
from reachkit.errors import ValidationFailed
from reachkit.lookups import AnyOf
from reachkit.models import Workspace

MAX_BULK_ENTRIES = 1000
BlocklistEntry._meta.get_field("value").register_lookup(AnyOf)
INVALID_ENTRY = "Enter a valid email address, or a domain such as acme.com or @acme.com."


def blocklist_parse(raw: str) -> tuple[str, str] | None:
    """`(kind, value)` for a raw entry, or None when it is neither an address nor a domain."""
    value = raw.strip().lower()
    if value.startswith("@"):
        domain = value[1:]
        return (BlocklistEntry.Kind.DOMAIN, domain) if is_valid_domain(domain) else None
    if "@" in value:
        return (BlocklistEntry.Kind.EMAIL, value) if is_valid_email(value) else None
    return (BlocklistEntry.Kind.DOMAIN, value) if is_valid_domain(value) else None


def blocklist_contains(*, workspace: Workspace, email: str) -> bool:
    """Whether the address, or its domain, is blocked: one indexed query however long the list."""
    return _matching(workspace, email).exists()


def blocklist_match(*, workspace: Workspace, email: str) -> BlocklistEntry | None:
    """The entry that blocks this address, the address's own entry before its domain's."""
    entries = list(_matching(workspace, email))
    entries.sort(key=lambda entry: entry.kind != BlocklistEntry.Kind.EMAIL)
    return entries[0] if entries else None


def blocklisted_among(*, workspace: Workspace, emails: Iterable[str]) -> set[str]:
    """The addresses (lower-cased) blocked by their own entry or their domain's: one query.

    For imports: a thousand addresses cost one indexed look-up, not a thousand.
    """
    addresses = {email.strip().lower() for email in emails}
    if not addresses:
        return set()
    values = addresses | {email_domain(address) for address in addresses}
    blocked = set(
        BlocklistEntry.objects.filter(workspace=workspace, value__any_of=values).values_list(
            "value", flat=True
        )
    )
    if not blocked:
        return set()
    return {
        address for address in addresses if address in blocked or email_domain(address) in blocked
    }


def blocklist_holds(*, workspace: Any, address: Any, domain: Any) -> Exists:
    """`blocklisted_among`'s check as a subquery: the address (lower-cased) or its domain has
    an entry. Each argument is a value or an expression (`OuterRef("email_key")`), so a query
    over many addresses asks it of each row."""
    entries = BlocklistEntry.objects.filter(workspace=workspace).filter(
        Q(value=address) | Q(value=domain)
    )
    return Exists(entries)


def _matching(workspace: Workspace, email: str) -> Any:
    address = email.strip().lower()
    return BlocklistEntry.objects.filter(
        workspace=workspace, value__in=[address, email_domain(address)]
    )


def _lock(workspace_id: Any) -> None:
    """Serialise blocklist changes per workspace until the transaction ends (PostgreSQL: a
    transaction-level advisory lock; SQLite's write transactions are serial already).

    Without it, removing a domain entry and, at the same time, the address entry of a lead
    under that domain would each see the other's entry still there and leave the lead
    marked as blocklisted with no entry left."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext('blocklist'), hashtext(%s))",
                [str(workspace_id)],
            )


def _announce(signal: Any, workspace_id: Any, entries: Iterable[tuple[str, str]]) -> None:
    emails: list[str] = []
    domains: list[str] = []
    for kind, value in entries:
        (emails if kind == BlocklistEntry.Kind.EMAIL else domains).append(value)
    if emails or domains:
        signal.send(
            sender=BlocklistEntry, workspace_id=workspace_id, emails=emails, domains=domains
        )


def blocklist_add(*, workspace: Workspace, raw: str) -> tuple[BlocklistEntry, bool]:
    """Block an address or domain. Returns the entry and whether it is new."""
    parsed = blocklist_parse(raw)
    if parsed is None:
        raise ValidationFailed(INVALID_ENTRY, details={"email": [INVALID_ENTRY]})
    kind, value = parsed
    with transaction.atomic():
        _lock(workspace.pk)
        existing = BlocklistEntry.objects.filter(workspace=workspace, value=value).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                entry = BlocklistEntry.objects.create(workspace=workspace, value=value, kind=kind)
        except IntegrityError:
            # A concurrent request (on SQLite, without the lock) added the same value first:
            # that entry is ours too.
            return BlocklistEntry.objects.get(workspace=workspace, value=value), False
        _announce(signals.entries_added, workspace.pk, [(kind, value)])
        return entry, True


@dataclass
class BulkAddResult:
    created: int = 0
    existing: int = 0
    invalid: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def blocklist_add_many(*, workspace: Workspace, raws: list[str]) -> BulkAddResult:
    """Block many entries at once: invalid ones are reported by index, the others kept."""
    result = BulkAddResult()
    wanted: dict[str, str] = {}
    for index, raw in enumerate(raws):
        parsed = blocklist_parse(raw)
        if parsed is None:
            result.invalid += 1
            result.errors.append({"index": index, "value": raw, "details": [INVALID_ENTRY]})
            continue
        kind, value = parsed
        if value in wanted:
            result.existing += 1
        wanted[value] = kind

    with transaction.atomic():
        _lock(workspace.pk)
        already = set(
            BlocklistEntry.objects.filter(workspace=workspace, value__in=wanted).values_list(
                "value", flat=True
            )
        )
        new_entries = [
            BlocklistEntry(workspace=workspace, value=value, kind=kind)
            for value, kind in wanted.items()
            if value not in already
        ]
        BlocklistEntry.objects.bulk_create(new_entries, ignore_conflicts=True)
        _announce(
            signals.entries_added,
            workspace.pk,
            [(entry.kind, entry.value) for entry in new_entries],
        )
    result.created = len(new_entries)
    result.existing += len(already)
    return result


def blocklist_remove(*, entry: BlocklistEntry) -> None:
    with transaction.atomic():
        _lock(entry.workspace_id)
        deleted, _ = BlocklistEntry.objects.filter(pk=entry.pk).delete()
        if deleted:
            _announce(signals.entries_removed, entry.workspace_id, [(entry.kind, entry.value)])
