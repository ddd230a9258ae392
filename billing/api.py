"""API views for keys and their spend, discrepancies, and invoices.

What a caller sees is limited by accounts.access: a token its team, a member their teams,
finance staff everything. An object outside that answers 404, exactly like one that does not
exist.
"""

from datetime import date, timedelta

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import restrict_to_visible_teams
from accounts.schema import error_responses
from accounts.models import ApiKey
from accounts.pagination import KeysetPagination
from accounts.permissions import CanRead, FinanceChangesObjects
from accounts.query_params import choice_param, date_param, text_param
from billing.discrepancies import DiscrepancyTransitionError, discrepancy_change_status
from billing.models import (
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Severity,
)
from billing.selectors import SpendRow, key_spend_by_day, key_spend_by_model, key_spend_total
from generations.parsers import DecimalJSONParser
from generations.serializers import FindingSerializer, money

MAX_SPEND_DAYS = 366
SPEND_GROUPS = ("day", "model")


def filtered(queryset: QuerySet, lookups: dict) -> QuerySet:
    """The queryset narrowed by every lookup whose value was given."""
    return queryset.filter(**{lookup: value for lookup, value in lookups.items() if value is not None})


def _boolean_param(request: Request, name: str) -> bool | None:
    value = choice_param(request, name, ("true", "false"))
    return None if value is None else value == "true"


# Keys ------------------------------------------------------------------------------------------


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
        active = _boolean_param(request, "active")
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


class SpendSerializer(serializers.Serializer):
    """Spend over a group of generations, from the daily roll-ups (billing.selectors.SpendRow)."""

    day = serializers.DateField(required=False, help_text="With group_by=day.")
    model = serializers.CharField(required=False, help_text="With group_by=model.")
    generations = serializers.IntegerField()
    tokens_prompt = serializers.IntegerField()
    tokens_completion = serializers.IntegerField()
    tokens_cached = serializers.IntegerField()
    tokens_reasoning = serializers.IntegerField()
    tokens = serializers.IntegerField(help_text="Prompt plus completion tokens.")
    recorded_cost = money(help_text="What the team recorded.")
    charged_cost = money(help_text="What the gateways charged, where known.")
    verified_recorded_cost = money()
    verified_charged_cost = money(help_text="Charged cost of verified generations.")
    amount = money(help_text="What an invoice bills: charged cost where verified, recorded cost elsewhere.")
    verified_share = serializers.DecimalField(
        max_digits=10, decimal_places=6, allow_null=True, help_text="Share of the amount that is verified, 0 to 1."
    )
    pending = serializers.IntegerField()
    verified = serializers.IntegerField()
    disputed = serializers.IntegerField()
    missing = serializers.IntegerField()
    expired = serializers.IntegerField()


class KeySpendSerializer(serializers.Serializer):
    api_key = serializers.CharField()
    currency = serializers.CharField()
    start = serializers.DateField(help_text="First day, inclusive.")
    end = serializers.DateField(help_text="Last day, inclusive.")
    group_by = serializers.ChoiceField(choices=SPEND_GROUPS, allow_null=True)
    total = SpendSerializer()
    rows = SpendSerializer(many=True)

    def to_representation(self, instance: dict) -> dict:
        data = super().to_representation(instance)
        data["from"], data["to"] = data.pop("start"), data.pop("end")
        return data


def spend_fields(row: SpendRow, group_by: str | None = None) -> dict:
    fields = {name: getattr(row, name) for name in SpendSerializer._declared_fields if name not in SPEND_GROUPS}
    if group_by is not None:
        fields[group_by] = row.key
    return fields


class KeySpendView(generics.GenericAPIView):
    permission_classes = [CanRead]
    serializer_class = KeySpendSerializer

    @extend_schema(
        summary="A key's spend",
        description=(
            "Recorded, charged and verified amounts and tokens of one key over [from, to], both "
            f"dates inclusive (UTC days), at most {MAX_SPEND_DAYS} days. Defaults: from the first "
            "day of this month to today. With group_by, also one row per day or per model."
        ),
        parameters=[
            OpenApiParameter("from", date, description="First day, inclusive (YYYY-MM-DD)."),
            OpenApiParameter("to", date, description="Last day, inclusive (YYYY-MM-DD)."),
            OpenApiParameter("group_by", str, enum=list(SPEND_GROUPS)),
        ],
        responses={200: KeySpendSerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        keys = restrict_to_visible_teams(ApiKey.objects.select_related("gateway"), request.user)
        api_key = get_object_or_404(keys, slug=slug)
        today = timezone.now().date()
        start = date_param(request, "from") or today.replace(day=1)
        end = date_param(request, "to") or today
        group_by = choice_param(request, "group_by", SPEND_GROUPS)
        if end < start:
            raise ParseError("'to' must not be before 'from'.")
        if (end - start).days + 1 > MAX_SPEND_DAYS:
            raise ParseError(f"At most {MAX_SPEND_DAYS} days at a time: narrow 'from' and 'to'.")
        if end == date.max:
            raise ParseError("'to' is out of range.")
        span = {"api_key": api_key, "start": start, "end": end + timedelta(days=1)}
        rows = {"day": key_spend_by_day, "model": key_spend_by_model}[group_by](**span) if group_by else []
        data = {
            "api_key": api_key.slug,
            "currency": api_key.gateway.currency,
            "start": start,
            "end": end,
            "group_by": group_by,
            "total": spend_fields(key_spend_total(**span)),
            "rows": [spend_fields(row, group_by) for row in rows],
        }
        return Response(KeySpendSerializer(data).data)


# Discrepancies ---------------------------------------------------------------------------------


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
        return filtered(
            visible_discrepancies(request.user),
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
            OpenApiParameter("gateway", str, description="Gateway slug."),
            OpenApiParameter("generation", str, description="The gateway's generation id."),
            OpenApiParameter("api_key", str, description="Key slug."),
            OpenApiParameter("team", str, description="Team slug."),
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
        try:
            discrepancy_change_status(
                discrepancy=discrepancy,
                to_status=change.validated_data["status"],
                by=request.user,
                reason=change.validated_data["reason"],
            )
        except DiscrepancyTransitionError as error:
            raise ParseError(str(error)) from None
        return Response(DiscrepancySerializer(visible_discrepancies(request.user).get(pk=pk)).data)


# Invoices --------------------------------------------------------------------------------------


class InvoiceLineSerializer(serializers.ModelSerializer):
    api_key = serializers.CharField(source="api_key.slug", allow_null=True, help_text="Null on adjustment lines.")

    class Meta:
        model = InvoiceLine
        fields = ["kind", "api_key", "model", "description", "generations", "tokens", "amount", "verified_amount"]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.slug")
    period = serializers.DateField(format="%Y-%m", help_text="The billed month, YYYY-MM (UTC).")
    verified_share = serializers.DecimalField(max_digits=5, decimal_places=4, help_text="0 to 1.")

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "team",
            "period",
            "status",
            "currency",
            "subtotal",
            "markup",
            "total",
            "verified_amount",
            "verified_share",
            "created_at",
            "drafted_at",
            "finalized_at",
            "voided_at",
        ]
        read_only_fields = fields


class InvoiceDetailSerializer(InvoiceSerializer):
    lines = InvoiceLineSerializer(many=True)

    class Meta(InvoiceSerializer.Meta):
        fields = InvoiceSerializer.Meta.fields + ["lines"]
        read_only_fields = fields


def visible_invoices(user) -> QuerySet[Invoice]:
    return restrict_to_visible_teams(Invoice.objects.select_related("team"), user)


class InvoiceListView(generics.ListAPIView):
    serializer_class = InvoiceSerializer
    permission_classes = [CanRead]
    pagination_class = KeysetPagination
    keyset = ("id",)

    def get_queryset(self) -> QuerySet[Invoice]:
        request = self.request
        period = text_param(request, "period")
        if period is not None:
            try:
                period = date.fromisoformat(f"{period}-01")
            except ValueError:
                raise ParseError("Query parameter 'period': Must be a month, YYYY-MM.") from None
        return filtered(
            visible_invoices(request.user),
            {
                "team__slug": text_param(request, "team"),
                "status": choice_param(request, "status", InvoiceStatus.values),
                "period": period,
            },
        )

    @extend_schema(
        summary="List invoices",
        parameters=[
            OpenApiParameter("team", str, description="Team slug."),
            OpenApiParameter("status", str, enum=InvoiceStatus.values),
            OpenApiParameter("period", str, description="The billed month, YYYY-MM."),
        ],
        responses={200: InvoiceSerializer(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class InvoiceDetailView(generics.RetrieveAPIView):
    serializer_class = InvoiceDetailSerializer
    permission_classes = [CanRead]

    def get_object(self) -> Invoice:
        queryset = visible_invoices(self.request.user).prefetch_related("lines__api_key")
        return get_object_or_404(queryset, pk=self.kwargs["pk"])

    @extend_schema(
        summary="One invoice, with its lines",
        responses={200: InvoiceDetailSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

