from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from blocklist import services
from blocklist.filters import BlocklistEntryFilterSet
from blocklist.models import BlocklistEntry
from blocklist.serializers import (
    BlocklistBulkResultSerializer,
    BlocklistCheckQuerySerializer,
    BlocklistCheckSerializer,
    BlocklistCreateSerializer,
    BlocklistEntrySerializer,
)
from reachkit.api.viewsets import WorkspaceViewSet


class BlocklistViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, WorkspaceViewSet):
    queryset = BlocklistEntry.objects.all()
    serializer_class = BlocklistEntrySerializer
    filterset_class = BlocklistEntryFilterSet
    search_fields = ["value"]
    sort_fields = {"email": "value", "created_at": "created_at"}

    @extend_schema(
        request=BlocklistCreateSerializer,
        responses={
            201: OpenApiResponse(BlocklistEntrySerializer, "A new entry (`email`)."),
            200: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="BlocklistCreateResult",
                    serializers=[BlocklistEntrySerializer, BlocklistBulkResultSerializer],
                    resource_type_field_name=None,
                ),
                "The existing entry (`email` already blocked), or the counts (`emails`).",
            ),
        },
    )
    def create(self, request: Request) -> Response:
        payload = BlocklistCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if "emails" in payload.validated_data:
            result = services.blocklist_add_many(
                workspace=self.workspace, raws=payload.validated_data["emails"]
            )
            return Response(BlocklistBulkResultSerializer(result).data)
        entry, created = services.blocklist_add(
            workspace=self.workspace, raw=payload.validated_data["email"]
        )
        return Response(
            BlocklistEntrySerializer(entry).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(parameters=[BlocklistCheckQuerySerializer], responses=BlocklistCheckSerializer)
    @action(detail=False, methods=["get"])
    def check(self, request: Request) -> Response:
        query = BlocklistCheckQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        entry = services.blocklist_match(
            workspace=self.workspace, email=query.validated_data["email"]
        )
        return Response(
            BlocklistCheckSerializer({"blocked": entry is not None, "entry": entry}).data
        )

    def perform_destroy(self, instance: BlocklistEntry) -> None:
        services.blocklist_remove(entry=instance)
