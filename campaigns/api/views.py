from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns import services
from campaigns.api.filters import CampaignFilterSet
from campaigns.api.serializers import (
    DELAY_DAYS_MEANING,
    CampaignAnalyticsSerializer,
    CampaignCreateSerializer,
    CampaignDetailSerializer,
    CampaignDiagnosticsSerializer,
    CampaignInboxSerializer,
    CampaignSerializer,
    CampaignUpdateSerializer,
    InboxIdsSerializer,
    PreviewRequestSerializer,
    PreviewSerializer,
    ScheduleSerializer,
    ScheduleUpdateSerializer,
    SequenceCreateSerializer,
    SequenceSerializer,
    SequenceUpdateSerializer,
    VariantCreateSerializer,
    VariantSerializer,
    VariantUpdateSerializer,
    VariantWrittenSerializer,
)
from campaigns.models import Campaign, Sequence, Variant
from campaigns.reporting import analytics, diagnostics
from inboxes.models import Inbox
from reachkit.api.schema import AutoSchema
from reachkit.api.viewsets import UUID_PATTERN, WorkspaceViewSet
from reachkit.errors import NotFound


class CampaignViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, WorkspaceViewSet):
    queryset = Campaign.objects.select_related("schedule").prefetch_related(
        Prefetch("inboxes", queryset=Inbox.objects.order_by("email"))
    )
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilterSet
    search_fields = ["name"]
    sort_fields = {
        "name": "name",
        "created_at": "created_at",
        "updated_at": "updated_at",
        "status": "status",
    }

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset())) or []
        stats = analytics.campaign_stats(page, breakdown=False)
        data = CampaignSerializer(page, many=True, context={"stats": stats}).data
        return self.get_paginated_response(data)

    @extend_schema(responses=CampaignDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self._projection(self.get_object(), detail=True))

    @extend_schema(
        request=CampaignCreateSerializer,
        responses={201: CampaignDetailSerializer},
        description="A new campaign is a draft with the default schedule: America/New_York, "
        "09:00-17:00, Monday to Friday (change it with `PATCH /campaigns/{id}/schedule`), and "
        'a step 1 with an empty variant A. Launch it with `PATCH {"status": "active"}` '
        "once it has an inbox and a written step 1.",
    )
    def create(self, request: Request) -> Response:
        payload = CampaignCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        campaign = services.campaign_create(workspace=self.workspace, **payload.validated_data)
        campaign = self.get_queryset().get(pk=campaign.pk)
        return Response(self._projection(campaign, detail=True), status=status.HTTP_201_CREATED)

    @extend_schema(request=CampaignUpdateSerializer, responses=CampaignSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        campaign = self.get_object()
        payload = CampaignUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        changes = dict(payload.validated_data)
        services.campaign_update(
            campaign=campaign,
            name=changes.pop("name", None),
            status=changes.pop("status", None),
            options=changes,
        )
        return Response(self._projection(self.get_object(), detail=False))

    def perform_destroy(self, instance: Campaign) -> None:
        services.campaign_delete(campaign=instance)

    @extend_schema(responses=CampaignAnalyticsSerializer)
    @action(detail=True, methods=["get"])
    def analytics(self, request: Request, pk: str) -> Response:
        campaign = self.get_object()
        stats = analytics.campaign_stats([campaign], breakdown=True)[campaign.pk]
        return Response(CampaignAnalyticsSerializer(stats).data)

    @extend_schema(
        responses=CampaignDiagnosticsSerializer,
        description="Why the campaign is or is not sending right now, with the counts behind "
        "it: status, window, daily limit, inboxes and leads. Beyond the spec.",
    )
    @action(detail=True, methods=["get"])
    def diagnostics(self, request: Request, pk: str) -> Response:
        diagnosis = diagnostics.campaign_diagnosis(campaign=self.get_object(), now=timezone.now())
        return Response(CampaignDiagnosticsSerializer(diagnosis).data)

    @extend_schema(request=ScheduleUpdateSerializer, responses=ScheduleSerializer)
    @action(detail=True, methods=["patch"])
    def schedule(self, request: Request, pk: str) -> Response:
        campaign = self.get_object()
        payload = ScheduleUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        schedule = services.schedule_update(campaign=campaign, **payload.validated_data)
        return Response(ScheduleSerializer(schedule).data)

    @extend_schema(request=InboxIdsSerializer, responses=CampaignInboxSerializer(many=True))
    @action(detail=True, methods=["post"], url_path="inboxes/attach")
    def attach_inboxes(self, request: Request, pk: str) -> Response:
        campaign = self.get_object()
        payload = InboxIdsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        inboxes = services.campaign_inboxes_attach(
            campaign=campaign, inbox_ids=payload.validated_data["inbox_ids"]
        )
        return Response(CampaignInboxSerializer(inboxes, many=True).data)

    @extend_schema(request=InboxIdsSerializer, responses=CampaignInboxSerializer(many=True))
    @action(detail=True, methods=["post"], url_path="inboxes/detach")
    def detach_inboxes(self, request: Request, pk: str) -> Response:
        campaign = self.get_object()
        payload = InboxIdsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        inboxes = services.campaign_inboxes_detach(
            campaign=campaign, inbox_ids=payload.validated_data["inbox_ids"]
        )
        return Response(CampaignInboxSerializer(inboxes, many=True).data)

    def _projection(self, campaign: Campaign, *, detail: bool) -> dict[str, Any]:
        stats = analytics.campaign_stats([campaign], breakdown=detail)
        serializer = CampaignDetailSerializer if detail else CampaignSerializer
        return dict(serializer(campaign, context={"stats": stats}).data)


class UnpaginatedListSchema(AutoSchema):
    """The spec lists a campaign's sequences whole (a handful of steps), without metadata."""

    def _get_paginator(self) -> None:
        return None


class CampaignChildViewSet(WorkspaceViewSet):
    """A resource under `/campaigns/{campaign_id}/`: another campaign's ids are a 404 too."""

    def campaign(self) -> Campaign:
        campaign = Campaign.objects.filter(
            workspace=self.workspace, pk=self.kwargs["campaign_id"]
        ).first()
        if campaign is None:
            raise NotFound()
        return campaign


class SequenceViewSet(CampaignChildViewSet):
    queryset = Sequence.objects.select_related("campaign").prefetch_related(
        Prefetch("variants", queryset=Variant.objects.order_by("letter"))
    )
    serializer_class = SequenceSerializer
    filter_backends: list[Any] = []
    schema = UnpaginatedListSchema()

    def scope_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(campaign_id=self.kwargs["campaign_id"])

    @extend_schema(responses=SequenceSerializer(many=True), description=DELAY_DAYS_MEANING)
    def list(self, request: Request, campaign_id: str) -> Response:
        self.campaign()
        sequences = list(self.get_queryset().order_by("step"))
        last_step = sequences[-1].step if sequences else 0
        return Response(
            SequenceSerializer(sequences, many=True, context={"last_step": last_step}).data
        )

    @extend_schema(
        request=SequenceCreateSerializer,
        responses={201: SequenceSerializer},
        description=(
            "Adds a last step with an empty variant A. "
            + DELAY_DAYS_MEANING
            + " So `delay_days` here is the new step's own wait, before a step added after "
            "it; the wait before the new step is the previous step's `delay_days` (change it "
            "with PATCH). A 3-step sequence with step 2 two days after step 1 and step 3 "
            'five days after step 2: `PATCH /sequences/:step1 {"delay_days": 2}`, then '
            '`POST /sequences {"delay_days": 5}` (step 2), then `POST /sequences {}` '
            "(step 3); `GET /sequences` shows delay_days 2, 5 and null."
        ),
    )
    def create(self, request: Request, campaign_id: str) -> Response:
        campaign = self.campaign()
        payload = SequenceCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        sequence = services.sequence_create(campaign=campaign, **payload.validated_data)
        return Response(self._projection(sequence), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=SequenceUpdateSerializer,
        responses=SequenceSerializer,
        description="Sets the step's `delay_days`. " + DELAY_DAYS_MEANING,
    )
    def partial_update(self, request: Request, campaign_id: str, pk: str) -> Response:
        sequence = self.get_object()
        payload = SequenceUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        sequence = services.sequence_update(sequence=sequence, **payload.validated_data)
        return Response(self._projection(sequence))

    def destroy(self, request: Request, campaign_id: str, pk: str) -> Response:
        services.sequence_delete(sequence=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=VariantCreateSerializer, responses={201: VariantWrittenSerializer})
    @action(detail=True, methods=["post"])
    def variants(self, request: Request, campaign_id: str, pk: str) -> Response:
        sequence = self.get_object()
        payload = VariantCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        variant = services.variant_create(sequence=sequence, **payload.validated_data)
        return Response(written(variant), status=status.HTTP_201_CREATED)

    def _projection(self, sequence: Sequence) -> dict[str, Any]:
        sequence = self.get_queryset().get(pk=sequence.pk)
        last_step = services.sequence_last_step(sequence.campaign_id)
        return dict(SequenceSerializer(sequence, context={"last_step": last_step}).data)


class VariantViewSet(CampaignChildViewSet):
    queryset = Variant.objects.select_related("sequence__campaign")
    serializer_class = VariantSerializer
    lookup_url_kwarg = "variant_id"

    def scope_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(sequence__campaign_id=self.kwargs["campaign_id"])

    @extend_schema(request=VariantUpdateSerializer, responses=VariantWrittenSerializer)
    def partial_update(self, request: Request, campaign_id: str, variant_id: str) -> Response:
        variant = self.get_object()
        payload = VariantUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        variant = services.variant_update(variant=variant, **payload.validated_data)
        return Response(written(variant))

    @extend_schema(
        responses={
            204: None,
            422: OpenApiResponse(
                description="`cannot_delete_last_variant`: the step's last enabled variant."
            ),
        }
    )
    def destroy(self, request: Request, campaign_id: str, variant_id: str) -> Response:
        services.variant_delete(variant=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=PreviewRequestSerializer, responses=PreviewSerializer)
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, campaign_id: str, variant_id: str) -> Response:
        variant = self.get_object()
        payload = PreviewRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        email = services.variant_preview(variant=variant, **payload.validated_data)
        return Response(PreviewSerializer(email).data)


def written(variant: Variant) -> dict[str, Any]:
    """A created or changed variant, with its letter and its warnings (unknown merge tags)."""
    warnings = services.variant_warnings(variant=variant)
    return dict(VariantWrittenSerializer(variant, context={"warnings": warnings}).data)


CAMPAIGN_PREFIX = rf"campaigns/(?P<campaign_id>{UUID_PATTERN})"
