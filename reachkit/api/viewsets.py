"""The base of every API viewset: scoped to the calling key's workspace by construction."""

from typing import Any, cast

from django.db.models import QuerySet
from rest_framework import viewsets

from reachkit.api.authentication import ApiKeyPrincipal
from reachkit.api.idempotency import IdempotentPosts
from reachkit.models import Workspace

UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class WorkspaceViewSet(IdempotentPosts, viewsets.GenericViewSet):
    """Every queryset is filtered to `request.workspace`, so another workspace's id is a 404.

    Subclasses narrow the scope in `scope_queryset` (a campaign's leads, say); they never
    replace `get_queryset`. Filters, search and sorting apply to lists only. Every POST
    honours `Idempotency-Key` (reachkit/api/idempotency.py).
    """

    lookup_value_regex = UUID_PATTERN
    sort_fields: dict[str, str] = {"created_at": "created_at"}
    default_sort = "-created_at"

    @property
    def workspace(self) -> Workspace:
        return cast(ApiKeyPrincipal, self.request.user).workspace

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset().filter(workspace=self.workspace)
        return self.scope_queryset(queryset)

    def scope_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.detail:
            return queryset
        return super().filter_queryset(queryset)
