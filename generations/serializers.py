"""How generations, the gateway's records of them and their findings leave the API.

Amounts are strings with all their places; times are ISO 8601 in UTC. The ingest request is
described here for the schema only: records are validated by generations.ingest, in plain
Python, because a serializer per record is too slow for 10,000 of them.
"""

from rest_framework import serializers

from generations.ingest.validation import MAX_RECORDS, MODEL_MAX_LENGTH
from generations.models import REPORTED_FIELDS, GatewayRecord, Generation, GenerationState
from lib.constants import MONEY_DIGITS, MONEY_PLACES


def money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs)


class GenerationSerializer(serializers.ModelSerializer):
    gateway = serializers.CharField(source="gateway.slug", help_text="The gateway's slug.")
    id = serializers.CharField(source="external_id", help_text="The gateway's id of the generation.")
    api_key = serializers.CharField(source="api_key.slug", help_text="The key's slug.")
    team = serializers.CharField(source="team.slug")
    cost = money(help_text="The cost the team recorded, in USD.")
    charged_cost = money(allow_null=True, help_text="What the gateway charged, once known.")
    state = serializers.ChoiceField(choices=GenerationState.choices)

    class Meta:
        model = Generation
        fields = [
            "gateway",
            "id",
            "api_key",
            "team",
            *REPORTED_FIELDS,
            "state",
            "charged_cost",
            "attempts",
            "next_attempt_at",
            "reconciled_at",
        ]
        read_only_fields = fields


class GatewayRecordSerializer(serializers.ModelSerializer):
    total_cost = money(allow_null=True)
    usage = money(allow_null=True)
    upstream_inference_cost = money(allow_null=True)
    cache_discount = money(allow_null=True)
    credits_used = money(allow_null=True)
    raw = serializers.CharField(help_text="The gateway's answer exactly as received.")

    class Meta:
        model = GatewayRecord
        exclude = ["generation", "created_at"]  # created_at is the generation's, shown beside it
        read_only_fields = [
            field.name for field in GatewayRecord._meta.fields if field.name not in ("generation", "created_at")
        ]


class FindingSerializer(serializers.Serializer):
    """A discrepancy found on a generation (billing.models.Discrepancy: the billing app files
    them; this app only shows them, through the reverse relation `generation.discrepancies`)."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    severity = serializers.CharField()
    expected = money(allow_null=True)
    actual = money(allow_null=True)
    delta = money(allow_null=True)
    detail = serializers.CharField()
    status = serializers.CharField()
    status_reason = serializers.CharField()
    status_changed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class GenerationDetailSerializer(GenerationSerializer):
    gateway_record = GatewayRecordSerializer(allow_null=True, help_text="Null until the gateway was asked.")
    findings = FindingSerializer(many=True, source="discrepancies.all")

    class Meta(GenerationSerializer.Meta):
        fields = GenerationSerializer.Meta.fields + ["gateway_record", "findings"]
        read_only_fields = fields

    def to_representation(self, generation: Generation) -> dict:
        data = super().to_representation(generation)
        if not hasattr(generation, "gateway_record"):
            data["gateway_record"] = None
        return data


# The ingest request and its answers, for the schema -----------------------------------------


class IngestRecordSerializer(serializers.Serializer):
    gateway = serializers.SlugField(max_length=64, help_text="The gateway's slug.")
    id = serializers.CharField(max_length=255, help_text="The gateway's id of the generation.")
    api_key = serializers.SlugField(max_length=64, help_text="The key's slug; a key of your team on that gateway.")
    model = serializers.CharField(max_length=MODEL_MAX_LENGTH)
    created_at = serializers.DateTimeField(help_text="ISO 8601 with a UTC offset.")
    tokens_prompt = serializers.IntegerField(min_value=0)
    tokens_completion = serializers.IntegerField(min_value=0)
    tokens_cached = serializers.IntegerField(min_value=0, required=False, default=0)
    tokens_reasoning = serializers.IntegerField(min_value=0, required=False, default=0)
    cost = serializers.CharField(
        help_text='USD, a decimal string ("0.0000375") or a JSON number, at most 12 places; parsed exactly.'
    )
    is_byok = serializers.BooleanField(required=False, default=False)
    cancelled = serializers.BooleanField(required=False, default=False)
    streamed = serializers.BooleanField(required=False, default=False)


class IngestRequestSerializer(serializers.Serializer):
    generations = IngestRecordSerializer(many=True, max_length=MAX_RECORDS)


class IngestResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Records stored by this request.")
    duplicates = serializers.IntegerField(help_text="Records already stored with the same content: unchanged.")
    conflicts = serializers.ListField(
        child=serializers.CharField(),
        help_text="Ids already stored with different content: the stored record was kept.",
    )


class RecordErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(allow_null=True, help_text="The record's position; null for the body.")
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class IngestErrorsSerializer(serializers.Serializer):
    errors = RecordErrorSerializer(many=True, help_text="Nothing was written.")
