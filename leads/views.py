from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.models import Campaign
from leads import services
from leads.filters import LeadFilterSet
from leads.inputs import LeadInput
from leads.models import Lead
from leads.serializers import (
    LeadBulkResultSerializer,
    LeadBulkSerializer,
    LeadCreateSerializer,
    LeadSerializer,
    LeadUpdateSerializer,
)
from reachkit.api.viewsets import WorkspaceViewSet
from reachkit.errors import NotFound

CAMPAIGN_ID = OpenApiParameter(
    "campaign_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The campaign's id."
)
LEAD_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema(parameters=[CAMPAIGN_ID])
class LeadViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, WorkspaceViewSet
):
    # A campaign's leads: /api/v1/campaigns/<campaign_id>/leads (+ /bulk).

    queryset = Lead.objects.all()
    serializer_class = LeadSerializer
    filterset_class = LeadFilterSet
    search_fields = ["search_text__matches"]
    sort_fields = {
        "created_at": "created_at",
        "email": "email_key",
        "first_name": "first_name",
        "last_name": "last_name",
    }
    default_sort = "-created_at"

    @cached_property
    def campaign(self) -> Campaign:
        """The campaign in the URL, if it is the caller's; anyone else's is a 404."""
        campaign = (
            Campaign.objects.select_related("workspace")
            .filter(workspace=self.workspace, pk=self.kwargs["campaign_id"])
            .first()
        )
        if campaign is None:
            raise NotFound()
        return campaign

    def scope_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(campaign=self.campaign)

    @extend_schema(
        request=LeadCreateSerializer,
        responses={
            201: OpenApiResponse(LeadSerializer, "The new lead."),
            200: OpenApiResponse(
                LeadSerializer, "`if_exists` skip or update: the existing lead, as it is now."
            ),
            409: OpenApiResponse(
                description="`if_exists: fail` and the email exists; `details.id` is its lead."
            ),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = LeadCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        lead, created = services.lead_create(
            campaign=self.campaign,
            lead=LeadInput(
                email=data["email"],
                first_name=data.get("first_name"),
                last_name=data.get("last_name"),
                variables=data.get("variables"),
            ),
            if_exists=data["if_exists"],
        )
        return Response(
            LeadSerializer(lead).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(parameters=[LEAD_ID], request=LeadUpdateSerializer, responses=LeadSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lead = self.get_object()
        payload = LeadUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        lead = services.lead_update(lead=lead, **payload.validated_data)
        return Response(LeadSerializer(lead).data)

    @extend_schema(parameters=[LEAD_ID])
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(parameters=[LEAD_ID])
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance: Lead) -> None:
        services.lead_delete(lead=instance)

    @extend_schema(
        request=LeadBulkSerializer,
        responses={
            200: OpenApiResponse(
                LeadBulkResultSerializer,
                "Counts, and one error per lead that was not saved, with its index.",
            )
        },
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = LeadBulkSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        result = services.lead_bulk_save(
            campaign=self.campaign,
            raw_leads=payload.validated_data["leads"],
            if_exists=payload.validated_data["if_exists"],
        )
        return Response(LeadBulkResultSerializer(result).data)
