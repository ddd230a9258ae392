"""API views for generations: recording them (ingest), listing them, one with its findings."""

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import ingest_team_ids, restrict_to_visible_teams
from accounts.authentication import TokenUser
from accounts.models import Team
from generations.ingest import generations_ingest, records_from_body
from generations.models import Generation, GenerationState
from generations.parsers import DecimalJSONParser
from generations.serializers import (
    GenerationDetailSerializer,
    GenerationSerializer,
    IngestErrorsSerializer,
    IngestRequestSerializer,
    IngestResultSerializer,
)
from lib.pagination import KeysetPagination
from lib.permissions import CanIngest, CanRead
from lib.query_params import choice_param, datetime_param, filtered, text_param
from lib.schema import error_responses

GENERATION_FILTERS = [
    OpenApiParameter("gateway", str, description="Gateway slug."),
    OpenApiParameter("id", str, description="The gateway's generation id."),
    OpenApiParameter("api_key", str, description="Key slug."),
    OpenApiParameter("team", str, description="Team slug."),
    OpenApiParameter("state", str, enum=GenerationState.values),
    OpenApiParameter("model", str, description="The requested model, exactly."),
    OpenApiParameter("created_after", OpenApiTypes.DATETIME, description="Created at or after (with offset)."),
    OpenApiParameter("created_before", OpenApiTypes.DATETIME, description="Created strictly before (with offset)."),
]


def visible_generations(user) -> QuerySet[Generation]:
    queryset = Generation.objects.select_related("gateway", "api_key", "team")
    return restrict_to_visible_teams(queryset, user)


class GenerationListView(generics.ListAPIView):
    serializer_class = GenerationSerializer
    pagination_class = KeysetPagination
    keyset = ("created_at", "id")
    parser_classes = [DecimalJSONParser]

    def get_permissions(self):
        return [CanIngest()] if self.request.method == "POST" else [CanRead()]

    def get_queryset(self) -> QuerySet[Generation]:
        request = self.request
        queryset = visible_generations(request.user)
        external_id = text_param(request, "id")
        if external_id is not None:
            queryset = queryset.with_external_id(external_id)
        exact = {
            "gateway__slug": text_param(request, "gateway"),
            "api_key__slug": text_param(request, "api_key"),
            "team__slug": text_param(request, "team"),
            "model": text_param(request, "model"),
            "state": choice_param(request, "state", GenerationState.values),
            "created_at__gte": datetime_param(request, "created_after"),
            "created_at__lt": datetime_param(request, "created_before"),
        }
        return filtered(queryset, exact)

    @extend_schema(
        summary="List generations",
        description="Generations of your teams, oldest first, by (created_at, id), a page at a time.",
        parameters=GENERATION_FILTERS,
        responses={200: GenerationSerializer(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Record generations",
        description=(
            "Up to 10,000 records a request, all or nothing: if any record is invalid the answer is "
            "400 with every error by index and field, and nothing is written. Idempotent on "
            "(gateway, id): a record already stored with the same content is a duplicate; with "
            "different content a conflict, and the stored one is kept. Needs the `ingest` scope."
        ),
        request=IngestRequestSerializer,
        responses={
            201: IngestResultSerializer,
            400: OpenApiResponse(IngestErrorsSerializer, description="Invalid records or body; nothing written."),
            **error_responses(401, 403, 413),
        },
    )
    def post(self, request: Request) -> Response:
        records = records_from_body(request.data)
        if isinstance(request.user, TokenUser):
            result = generations_ingest(records=records, team=request.user.team)
        else:
            teams = Team.objects.filter(pk__in=ingest_team_ids(request.user))
            result = generations_ingest(records=records, teams=list(teams))
        return Response(IngestResultSerializer(result).data, status=status.HTTP_201_CREATED)


class GenerationDetailView(generics.RetrieveAPIView):
    serializer_class = GenerationDetailSerializer
    permission_classes = [CanRead]

    def get_object(self) -> Generation:
        external_id = self.kwargs["external_id"]
        if "\x00" in external_id or len(external_id) > 255:
            raise Http404
        queryset = visible_generations(self.request.user).select_related("gateway_record")
        return get_object_or_404(
            queryset.prefetch_related("discrepancies"), gateway__slug=self.kwargs["gateway"], external_id=external_id
        )

    @extend_schema(
        summary="One generation, with the gateway's record and the findings",
        responses={200: GenerationDetailSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)
