"""API view for a key's spend over a span of days, from the daily roll-ups."""

from datetime import date, timedelta

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import restrict_to_visible_teams
from accounts.models import ApiKey
from billing.selectors import SpendRow, key_spend_by_day, key_spend_by_model, key_spend_total
from generations.serializers import money
from lib.permissions import CanRead
from lib.query_params import choice_param, date_param
from lib.schema import error_responses

MAX_SPEND_DAYS = 366
SPEND_GROUPS = ("day", "model")


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
