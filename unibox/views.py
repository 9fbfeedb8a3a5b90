"""The spec's six Conversation endpoints, under /api/v1/unibox/conversations."""

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from reachkit.api.filters import SortFilter
from reachkit.api.pagination import PagePagination
from reachkit.api.viewsets import WorkspaceViewSet
from reachkit.errors import NotFound
from unibox import downloads, services, threads
from unibox.filters import ConversationFilterSet, ConversationSearchFilter
from unibox.models import Attachment, Conversation
from unibox.serializers import (
    ConversationCreateSerializer,
    ConversationSerializer,
    ConversationUpdateSerializer,
    MessageSerializer,
    ReplySerializer,
)

SEND_FAILED = OpenApiResponse(
    description="`send_failed`: the inbox's SMTP server refused the email or could not be "
    "reached; nothing was sent or stored."
)


class ConversationPagination(PagePagination):
    """The spec's conversation list: 20 per page unless asked (at most 100)."""

    default_page_size = 20


class ConversationViewSet(mixins.ListModelMixin, WorkspaceViewSet):
    queryset = Conversation.objects.all()
    serializer_class = ConversationSerializer
    pagination_class = ConversationPagination
    filter_backends = [DjangoFilterBackend, ConversationSearchFilter, SortFilter]
    filterset_class = ConversationFilterSet
    # Newest activity first (the `(workspace, folder, last_message_at)` indexes).
    sort_fields = {"last_message_at": "last_message_at"}
    default_sort = "-last_message_at"

    def scope_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # Update and reply load the thread once they have written, not before.
        if self.action in ("list", "retrieve"):
            return threads.with_threads(queryset)
        return queryset

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset())) or []
        threads.attach_threads(page)
        return self.get_paginated_response(ConversationSerializer(page, many=True).data)

    def _shown(self, conversation: Conversation, code: int = status.HTTP_200_OK) -> Response:
        loaded = threads.with_threads(self.get_queryset()).get(pk=conversation.pk)
        threads.attach_threads([loaded])
        return Response(ConversationSerializer(loaded).data, status=code)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        conversation = self.get_object()
        threads.attach_threads([conversation])
        return Response(ConversationSerializer(conversation).data)

    @extend_schema(request=ConversationUpdateSerializer, responses=ConversationSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        conversation = self.get_object()
        payload = ConversationUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        conversation = services.conversation_update(
            conversation=conversation, **payload.validated_data
        )
        return self._shown(conversation)

    @extend_schema(
        request=ConversationCreateSerializer,
        responses={
            201: OpenApiResponse(ConversationSerializer, "Sent, and the conversation created."),
            502: SEND_FAILED,
        },
    )
    def create(self, request: Request) -> Response:
        payload = ConversationCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        conversation = services.conversation_create(
            workspace=self.workspace,
            inbox_id=data.get("inbox_id"),
            to=[
                services.Recipient(email=item["email"], name=item.get("name") or "")
                for item in data["to"]
            ],
            subject=data["subject"],
            content=data["content"],
        )
        return self._shown(conversation, status.HTTP_201_CREATED)

    @extend_schema(
        request=ReplySerializer,
        responses={200: MessageSerializer, 502: SEND_FAILED},
    )
    @action(detail=True, methods=["post"])
    def reply(self, request: Request, pk: str | None = None) -> Response:
        conversation = self.get_object()
        payload = ReplySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        message = services.conversation_reply(
            conversation=conversation, content=payload.validated_data["content"]
        )
        return Response(MessageSerializer(threads.entry_of(message)).data)


class AttachmentViewSet(WorkspaceViewSet):
    """An attachment of a message of the conversation, by id: its stored bytes."""

    queryset = Attachment.objects.all()

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A download may be asked for with any `Accept` (`application/pdf`, `image/*`): the
        # file is sent as it is, and an error in the API's JSON envelope.
        return super().perform_content_negotiation(request, force=True)

    def scope_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(
            message__conversation_id=self.kwargs["conversation_id"],
            message__conversation__workspace=self.workspace,
        )

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY,
                "The file as stored, with its `Content-Type` and a `Content-Disposition` "
                "naming it (RFC 6266, `filename*` for any name).",
            )
        },
    )
    def retrieve(self, request: Request, conversation_id: str, pk: str | None = None) -> Any:
        attachment = self.get_object()
        response: FileResponse | None = downloads.file_response(attachment)
        if response is None:
            raise NotFound("The attachment's file is missing.")
        return response
