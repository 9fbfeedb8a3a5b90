from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from reachkit.api.renderers import Envelope
from reachkit.api.viewsets import WorkspaceViewSet
from reachkit.webhooks import feed, services
from reachkit.webhooks.filters import DeliveryFilterSet, WebhookFilterSet
from reachkit.webhooks.models import Delivery, Event, WebhookEndpoint
from reachkit.webhooks.serializers import (
    DeliverySerializer,
    EventPageSerializer,
    EventQuerySerializer,
    EventSerializer,
    RotateSecretSerializer,
    WebhookCreateSerializer,
    WebhookSerializer,
    WebhookUpdateSerializer,
    WebhookWithSecretSerializer,
)


class WebhookViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceViewSet,
):
    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookSerializer
    filterset_class = WebhookFilterSet
    search_fields = ["url", "description"]
    sort_fields = {"created_at": "created_at", "url": "url"}

    def scope_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(deleted_at__isnull=True)

    @extend_schema(
        request=WebhookCreateSerializer,
        responses={201: OpenApiResponse(WebhookWithSecretSerializer, "With its secret, once.")},
    )
    def create(self, request: Request) -> Response:
        payload = WebhookCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_create(
            workspace=self.workspace, **payload.validated_data
        )
        body = WebhookWithSecretSerializer(endpoint, context={"secret": secret}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookUpdateSerializer, responses=WebhookSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        payload = WebhookUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint=endpoint, changes=payload.validated_data)
        return Response(WebhookSerializer(endpoint).data)

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        services.endpoint_delete(endpoint=instance)

    @extend_schema(
        request=None,
        responses={200: OpenApiResponse(DeliverySerializer, "The test message's delivery.")},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        delivery = services.endpoint_test(endpoint=self.get_object())
        return Response(DeliverySerializer(delivery).data)

    @extend_schema(
        request=RotateSecretSerializer,
        responses={200: OpenApiResponse(WebhookWithSecretSerializer, "With its new secret, once.")},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        payload = RotateSecretSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_rotate_secret(
            endpoint=endpoint, overlap_seconds=payload.validated_data.get("overlap_seconds")
        )
        return Response(WebhookWithSecretSerializer(endpoint, context={"secret": secret}).data)


class WebhookDeliveryViewSet(mixins.ListModelMixin, WorkspaceViewSet):
    """A webhook's deliveries, newest first: status, response code, duration, attempt, error."""

    queryset = Delivery.objects.all()
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilterSet
    sort_fields = {"created_at": "created_at"}

    def scope_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        endpoint = (
            WebhookEndpoint.objects.filter(
                workspace=self.workspace, pk=self.kwargs["webhook_id"], deleted_at__isnull=True
            )
            .values_list("pk", flat=True)
            .first()
        )
        if endpoint is None:
            raise Http404
        return queryset.filter(endpoint_id=endpoint)


class EventViewSet(mixins.ListModelMixin, WorkspaceViewSet):
    """The pull feed: events in order, a page at a time, with a cursor (webhooks/feed.py)."""

    queryset = Event.objects.all()
    serializer_class = EventSerializer
    # The feed pages with its own cursor, not `page`/`page_size`.
    cursor_paginated = True
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(parameters=[EventQuerySerializer], responses=EventPageSerializer)
    def list(self, request: Request) -> Response:
        query = EventQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = feed.read(
            workspace=self.workspace,
            after=query.validated_data.get("after"),
            types=query.validated_data.get("types"),
            since=query.validated_data.get("since"),
            limit=query.validated_data["limit"],
        )
        return Response(
            Envelope(
                data=EventSerializer(page.events, many=True).data,
                metadata={
                    "next_cursor": page.next_cursor.encode() if page.next_cursor else None,
                    "has_more": page.has_more,
                    "limit": query.validated_data["limit"],
                },
            )
        )
