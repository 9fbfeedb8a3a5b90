"""Writes on workspaces and API keys."""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from reachkit.models import ApiKey, Membership, Workspace


def workspace_get_or_create(*, name: str) -> Workspace:
    workspace, _ = Workspace.objects.get_or_create(name=name)
    return workspace


def membership_add(
    *, workspace: Workspace, user: User, role: str = Membership.Role.MEMBER
) -> Membership:
    membership, _ = Membership.objects.get_or_create(
        workspace=workspace, user=user, defaults={"role": role}
    )
    return membership


@transaction.atomic
def api_key_create(*, workspace: Workspace, name: str) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw value, which is never stored or shown again."""
    api_key = ApiKey(workspace=workspace, name=name)
    raw_key = api_key.assign_new_secret()
    api_key.save()
    return api_key, raw_key


@transaction.atomic
def api_key_rename(*, api_key: ApiKey, name: str) -> ApiKey:
    """A new label; the key itself does not change."""
    ApiKey.objects.filter(pk=api_key.pk).update(name=name)
    api_key.name = name
    return api_key


@transaction.atomic
def api_key_delete(*, api_key: ApiKey) -> None:
    """Gone for good: requests with it are refused, as after a revocation."""
    ApiKey.objects.filter(pk=api_key.pk).delete()


def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record use, at most once a minute per key, so reads do not turn into writes."""
    now = timezone.now()
    if api_key.needs_last_used_refresh(now):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
