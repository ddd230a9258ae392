"""API views for discrepancies: listing them, and Finance changing their status."""

from datetime import date

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import restrict_to_visible_teams
from billing.discrepancies import discrepancy_change_status
from billing.models import (
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyStatus,
    Severity,
)
from generations.models import Generation
from generations.parsers import DecimalJSONParser
from generations.serializers import FindingSerializer
from lib.pagination import KeysetPagination
from lib.permissions import CanRead, FinanceChangesObjects
from lib.query_params import choice_param, date_param, filtered, text_param
from lib.schema import API_KEY_FILTER, GATEWAY_FILTER, TEAM_FILTER, error_responses


class DiscrepancySerializer(FindingSerializer):
    generation = serializers.CharField(
        source="generation.external_id",
        allow_null=True,
        help_text="The gateway's generation id; null on key-day (coverage) findings.",
    )
    gateway = serializers.CharField(source="api_key.gateway.slug")
    api_key = serializers.CharField(source="api_key.slug")
    team = serializers.CharField(source="team.slug")
    day = serializers.DateField(allow_null=True, help_text="Key-day findings: the UTC day checked; else null.")
    model = serializers.CharField(help_text="Key-day findings: the model compared; else empty.")
    kind = serializers.ChoiceField(choices=DiscrepancyKind.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    status = serializers.ChoiceField(choices=DiscrepancyStatus.choices)
    status_changed_by = serializers.CharField(source="status_changed_by.get_username", allow_null=True)


class DiscrepancyStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DiscrepancyStatus.choices)
    reason = serializers.CharField(max_length=2000, help_text="Why: kept in the discrepancy's history.")


def visible_discrepancies(user) -> QuerySet[Discrepancy]:
    queryset = Discrepancy.objects.select_related("generation", "api_key__gateway", "team", "status_changed_by")
    return restrict_to_visible_teams(queryset, user, team_id_field="team_id")


class DiscrepancyListView(generics.ListAPIView):
    serializer_class = DiscrepancySerializer
    permission_classes = [CanRead]
    pagination_class = KeysetPagination
    keyset = ("id",)

    def get_queryset(self) -> QuerySet[Discrepancy]:
        request = self.request
        queryset = visible_discrepancies(request.user)
        external_id = text_param(request, "generation")
        if external_id is not None:
            queryset = queryset.filter(generation__in=Generation.objects.with_external_id(external_id).values("pk"))
        return filtered(
            queryset,
            {
                "api_key__gateway__slug": text_param(request, "gateway"),
                "generation__external_id": text_param(request, "generation"),
                "api_key__slug": text_param(request, "api_key"),
                "team__slug": text_param(request, "team"),
                "kind": choice_param(request, "kind", DiscrepancyKind.values),
                "severity": choice_param(request, "severity", Severity.values),
                "status": choice_param(request, "status", DiscrepancyStatus.values),
                "day": date_param(request, "day"),
            },
        )

    @extend_schema(
        summary="List discrepancies",
        parameters=[
            GATEWAY_FILTER,
            OpenApiParameter("generation", str, description="The gateway's generation id."),
            API_KEY_FILTER,
            TEAM_FILTER,
            OpenApiParameter("kind", str, enum=DiscrepancyKind.values),
            OpenApiParameter("severity", str, enum=Severity.values),
            OpenApiParameter("status", str, enum=DiscrepancyStatus.values),
            OpenApiParameter("day", date, description="Key-day findings of this UTC day (YYYY-MM-DD)."),
        ],
        responses={200: DiscrepancySerializer(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class DiscrepancyDetailView(generics.GenericAPIView):
    serializer_class = DiscrepancySerializer
    permission_classes = [CanRead, FinanceChangesObjects]
    parser_classes = [DecimalJSONParser]

    def get_object(self) -> Discrepancy:
        discrepancy = get_object_or_404(visible_discrepancies(self.request.user), pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, discrepancy)
        return discrepancy

    @extend_schema(summary="One discrepancy", responses={200: DiscrepancySerializer, **error_responses(401, 403, 404)})
    def get(self, request: Request, pk: int) -> Response:
        return Response(DiscrepancySerializer(self.get_object()).data)

    @extend_schema(
        summary="Change a discrepancy's status (finance staff)",
        description="Open, acknowledge, resolve or write off, with a reason kept in the history.",
        request=DiscrepancyStatusSerializer,
        responses={200: DiscrepancySerializer, **error_responses(400, 401, 403, 404, 413)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        discrepancy = self.get_object()
        change = DiscrepancyStatusSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        discrepancy_change_status(
            discrepancy=discrepancy,
            to_status=change.validated_data["status"],
            by=request.user,
            reason=change.validated_data["reason"],
        )
        return Response(DiscrepancySerializer(visible_discrepancies(request.user).get(pk=pk)).data)
