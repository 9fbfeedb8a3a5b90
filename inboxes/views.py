from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from inboxes import services
from inboxes.filters import InboxFilterSet
from inboxes.models import Inbox
from inboxes.serializers import (
    InboxCreateSerializer,
    InboxDetailSerializer,
    InboxSerializer,
    InboxUpdateSerializer,
    WarmupStatsSerializer,
)
from reachkit.api.viewsets import WorkspaceViewSet

# Actions that answer with the inbox's campaigns.
_WITH_CAMPAIGNS = {"retrieve", "partial_update", "check_connection"}


class InboxViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, WorkspaceViewSet
):
    queryset = Inbox.objects.all()
    serializer_class = InboxSerializer
    filterset_class = InboxFilterSet
    search_fields = ["email", "first_name", "last_name", "domain"]
    sort_fields = {
        "created_at": "created_at",
        "updated_at": "updated_at",
        "email": "email",
        "domain": "domain",
        "first_name": "first_name",
        "last_name": "last_name",
        "provider": "provider",
        "connection_status": "connection_status",
        "daily_campaign_limit": "daily_campaign_limit",
        "daily_warmup_limit": "daily_warmup_limit",
    }
    default_sort = "-created_at"

    def scope_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action in _WITH_CAMPAIGNS:
            return queryset.prefetch_related("campaigns")
        return queryset

    def get_serializer_class(self) -> type[InboxSerializer]:
        if self.action == "retrieve":
            return InboxDetailSerializer
        return InboxSerializer

    @extend_schema(
        request=InboxCreateSerializer,
        responses={
            201: OpenApiResponse(InboxDetailSerializer, "Added, connection pending."),
            409: OpenApiResponse(description="The workspace has an inbox with this email."),
        },
    )
    def create(self, request: Request) -> Response:
        payload = InboxCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        inbox = services.inbox_create(
            workspace=self.workspace,
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            smtp=payload.server_settings("smtp"),
            imap=payload.server_settings("imap"),
        )
        return Response(InboxDetailSerializer(inbox).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=InboxUpdateSerializer, responses=InboxDetailSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        inbox = self.get_object()
        payload = InboxUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        inbox = services.inbox_update(inbox=inbox, changes=payload.validated_data)
        return Response(InboxDetailSerializer(inbox).data)

    def perform_destroy(self, instance: Inbox) -> None:
        services.inbox_delete(inbox=instance)

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(
                InboxDetailSerializer,
                "A new connection check is queued (`pending`), or one is already running "
                "(`validating`); watch `connection_status`.",
            )
        },
    )
    @action(detail=True, methods=["post"], url_path="test")
    def check_connection(self, request: Request, pk: str | None = None) -> Response:
        inbox = services.inbox_request_check(inbox=self.get_object())
        return Response(InboxDetailSerializer(inbox).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=WarmupStatsSerializer)
    @action(detail=True, methods=["get"], url_path="warmup/stats")
    def warmup_stats(self, request: Request, pk: str | None = None) -> Response:
        stats = services.inbox_warmup_stats(inbox=self.get_object())
        return Response(WarmupStatsSerializer(stats).data)
