"""Generations as we recorded them, what the gateway said about each, and daily spend roll-ups."""

from collections.abc import Iterable
from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiKey, Gateway, Team
from lib.constants import MONEY_DIGITS, MONEY_PLACES


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs)


# What a team reports about a generation, besides which gateway, key and id: the fields ingest
# takes, the API shows, and a repeated record must match to be a duplicate.
REPORTED_FIELDS = (
    "model",
    "created_at",
    "tokens_prompt",
    "tokens_completion",
    "tokens_cached",
    "tokens_reasoning",
    "cost",
    "is_byok",
    "cancelled",
    "streamed",
)
# The daily roll-up's sums (DailySpend): counts, and amounts of money.
SPEND_COUNT_FIELDS = (
    "generations",
    "tokens_prompt",
    "tokens_completion",
    "tokens_cached",
    "tokens_reasoning",
    "pending",
    "verified",
    "disputed",
    "missing",
    "expired",
)
SPEND_MONEY_FIELDS = ("recorded_cost", "charged_cost", "verified_recorded_cost", "verified_charged_cost")
SPEND_FIELDS = SPEND_COUNT_FIELDS + SPEND_MONEY_FIELDS


class GenerationState(models.TextChoices):
    PENDING = "pending"
    VERIFIED = "verified"
    DISPUTED = "disputed"
    MISSING = "missing"
    EXPIRED = "expired"


def made_range(moments: Iterable[datetime]) -> tuple[datetime | None, datetime | None]:
    """The first and the last of some generations' `created_at` ((None, None) for none): what
    GenerationQuerySet.made_between narrows a batch of them to."""
    moments = list(moments)
    return (min(moments), max(moments)) if moments else (None, None)


class GenerationQuerySet(models.QuerySet):
    def pending(self) -> "GenerationQuerySet":
        return self.filter(state=GenerationState.PENDING)

    def due(self, now=None) -> "GenerationQuerySet":
        return self.pending().filter(next_attempt_at__lte=now or timezone.now())

    def recheck_due(self, now=None) -> "GenerationQuerySet":
        """Missing and unreadable generations whose slow re-check is due."""
        return self.filter(
            state__in=[GenerationState.MISSING, GenerationState.DISPUTED],
            next_attempt_at__isnull=False,
            next_attempt_at__lte=now or timezone.now(),
        )

    def made_between(self, first: datetime | None, last: datetime | None) -> "GenerationQuerySet":
        """Only generations made from `first` to `last`, both included (unchanged without both).
        Generations are partitioned by month: a filter by id alone plans and probes every
        partition's index (6.6 ms to plan and 11 ms to run for 200 ids over 18 partitions, against
        0.9 and 1.3 ms with the range), so batches by id narrow themselves to their months."""
        if first is None or last is None:
            return self
        return self.filter(created_at__gte=first, created_at__lte=last)

    def with_external_id(self, external_id: str) -> "GenerationQuerySet":
        """Generations with exactly this gateway id, on any gateway: `gateway_id IN (...) AND
        external_id = ...` walks the unique (gateway, external_id) index once per gateway, where
        `external_id = ...` alone would scan the table."""
        gateway_ids = list(Gateway.objects.values_list("pk", flat=True))
        return self.filter(gateway_id__in=gateway_ids, external_id=external_id)


class Generation(models.Model):
    """Our record of one call. This is the table that grows to hundreds of millions of rows:
    keep it narrow, and put everything the gateway says in GatewayRecord."""

    # No single-column indexes on the foreign keys: the composite indexes below lead with them,
    # and every extra index on this table slows ingest.
    gateway = models.ForeignKey(Gateway, on_delete=models.PROTECT, related_name="+", db_index=False)
    external_id = models.CharField(max_length=255)
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="generations", db_index=False)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+", db_index=False)
    model = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    tokens_prompt = models.PositiveIntegerField()
    tokens_completion = models.PositiveIntegerField()
    tokens_cached = models.PositiveIntegerField(default=0)
    tokens_reasoning = models.PositiveIntegerField(default=0)
    cost = money_field()
    is_byok = models.BooleanField(default=False)
    cancelled = models.BooleanField(default=False)
    streamed = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=GenerationState.choices, default=GenerationState.PENDING)
    # What the gateway charged, once known; invoices bill this for verified generations.
    charged_cost = money_field(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)

    objects = GenerationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gateway", "external_id"], name="generation_unique_gateway_external_id"),
        ]
        indexes = [
            models.Index(fields=["api_key", "created_at"], name="generation_key_time"),
            models.Index(fields=["team", "created_at"], name="generation_team_time"),
            # The API's list order (its keyset) for finance staff, who see every team.
            models.Index(fields=["created_at", "id"], name="generation_time_id"),
            models.Index(
                fields=["gateway", "next_attempt_at"],
                condition=Q(state="pending"),
                name="generation_due_pending",
            ),
            models.Index(
                fields=["team", "created_at"],
                condition=~Q(state="verified"),
                name="generation_team_unverified",
            ),
            # Slow re-checks of missing and unreadable generations (generations/scheduling.py).
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["missing", "disputed"], next_attempt_at__isnull=False),
                name="generation_recheck_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gateway_id}:{self.external_id}"


class GatewayRecord(models.Model):
    """What the gateway said about one generation, normalised, with the body exactly as received.

    `created_at` is the generation's, copied when the record is written: on PostgreSQL both
    tables are partitioned by it (generations/partitions/), so a month's records sit beside its
    generations. Writers that bulk-create pass it; save() fills it from the generation."""

    generation = models.OneToOneField(
        Generation, on_delete=models.CASCADE, primary_key=True, related_name="gateway_record"
    )
    created_at = models.DateTimeField(editable=False)
    fetched_at = models.DateTimeField(default=timezone.now)
    served_model = models.CharField(max_length=200, blank=True, default="")
    provider = models.CharField(max_length=200, blank=True, default="")
    gateway_created_at = models.DateTimeField(null=True, blank=True)
    total_cost = money_field(null=True, blank=True)
    usage = money_field(null=True, blank=True)
    upstream_inference_cost = money_field(null=True, blank=True)
    cache_discount = money_field(null=True, blank=True)
    credits_used = money_field(null=True, blank=True)
    tokens_prompt = models.PositiveIntegerField(null=True, blank=True)
    tokens_completion = models.PositiveIntegerField(null=True, blank=True)
    tokens_cached = models.PositiveIntegerField(null=True, blank=True)
    tokens_cache_write = models.PositiveIntegerField(null=True, blank=True)
    tokens_reasoning = models.PositiveIntegerField(null=True, blank=True)
    is_byok = models.BooleanField(null=True, blank=True)
    cancelled = models.BooleanField(null=True, blank=True)
    streamed = models.BooleanField(null=True, blank=True)
    finish_reason = models.CharField(max_length=100, blank=True, default="")
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    key_hash = models.CharField(max_length=200, blank=True, default="")
    # Text, not JSON: the body as received, digits and all, for audit.
    raw = models.TextField()

    class Meta:
        constraints = [
            # What an upsert names as its conflict target; on PostgreSQL the primary key
            # (generation_id, created_at) is this (generations 0006).
            models.UniqueConstraint(fields=["generation", "created_at"], name="gatewayrecord_generation_month"),
        ]

    def __str__(self) -> str:
        return f"gateway record of {self.generation_id}"

    def save(self, *args, **kwargs) -> None:
        if self.created_at is None:
            self.created_at = self.generation.created_at
        super().save(*args, **kwargs)


class DailySpend(models.Model):
    """Spend per key, model and UTC day, kept up to date in the same transaction as the
    generations it sums (see generations/rollups.py), so pages and invoices never scan
    raw generations."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+", db_index=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    model = models.CharField(max_length=200)
    generations = models.BigIntegerField(default=0)
    tokens_prompt = models.BigIntegerField(default=0)
    tokens_completion = models.BigIntegerField(default=0)
    tokens_cached = models.BigIntegerField(default=0)
    tokens_reasoning = models.BigIntegerField(default=0)
    recorded_cost = money_field(default=0)
    charged_cost = money_field(default=0)
    verified_recorded_cost = money_field(default=0)
    verified_charged_cost = money_field(default=0)
    pending = models.BigIntegerField(default=0)
    verified = models.BigIntegerField(default=0)
    disputed = models.BigIntegerField(default=0)
    missing = models.BigIntegerField(default=0)
    expired = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "day", "model"], name="dailyspend_unique_key_day_model"),
        ]
        indexes = [models.Index(fields=["team", "day"], name="dailyspend_team_day")]

    def __str__(self) -> str:
        return f"{self.api_key_id} {self.day} {self.model}"
