"""API views for a team's gateway keys (never their secrets)."""


from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import restrict_to_visible_teams
from accounts.models import ApiKey
from lib.pagination import KeysetPagination
from lib.permissions import CanRead
from lib.query_params import boolean_param, filtered, text_param
from lib.schema import error_responses


class KeySerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.slug")
    gateway = serializers.CharField(source="gateway.slug")
    active = serializers.BooleanField(source="is_active")
    paused = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = [
            "slug",
            "name",
            "team",
            "gateway",
            "last_four",
            "is_byok",
            "monthly_budget",
            "active",
            "paused",
            "created_at",
            "revoked_at",
        ]
        read_only_fields = fields

    def get_paused(self, api_key: ApiKey) -> bool:
        return api_key.paused_at is not None


class KeyListView(generics.ListAPIView):
    serializer_class = KeySerializer
    permission_classes = [CanRead]
    pagination_class = KeysetPagination
    keyset = ("id",)

    def get_queryset(self) -> QuerySet[ApiKey]:
        request = self.request
        queryset = restrict_to_visible_teams(ApiKey.objects.select_related("team", "gateway"), request.user)
        active = boolean_param(request, "active")
        return filtered(
            queryset,
            {
                "team__slug": text_param(request, "team"),
                "gateway__slug": text_param(request, "gateway"),
                "revoked_at__isnull": active,
            },
        )

    @extend_schema(
        summary="List gateway keys",
        description="Your teams' gateway keys (never their secrets).",
        parameters=[
            OpenApiParameter("team", str, description="Team slug."),
            OpenApiParameter("gateway", str, description="Gateway slug."),
            OpenApiParameter("active", str, enum=["true", "false"], description="Only active or only revoked keys."),
        ],
        responses={200: KeySerializer(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)
