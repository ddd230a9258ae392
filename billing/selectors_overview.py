"""The reconciliation overview for finance: per gateway, where generations stand.

Counts come from the daily roll-ups (a few rows per key and day); so does the day of the oldest
pending generation, which is then found among that day's generations of the keys with pending
ones (the (api_key, created_at) index); open discrepancy amounts come from the (status, kind)
index. Nothing here scans the generations table or aggregates its pending rows.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Min, Sum
from django.db.models.functions import Abs

from accounts.models import Gateway
from billing.invoicing.periods import period_of
from billing.invoicing.spend import spend_rows_by
from billing.models import OPEN_STATUSES, Discrepancy
from billing.selectors import SpendRow
from generations.models import DailySpend, Generation, GenerationState

RETENTION_WARNING = timedelta(days=1)


@dataclass(frozen=True)
class GatewayOverview:
    gateway: Gateway
    spend: SpendRow | None
    month: SpendRow | None
    oldest_pending_at: datetime | None
    now: datetime

    def _count(self, name: str) -> int:
        return getattr(self.spend, name) if self.spend else 0

    @property
    def pending(self) -> int:
        return self._count("pending")

    @property
    def verified(self) -> int:
        return self._count("verified")

    @property
    def disputed(self) -> int:
        return self._count("disputed")

    @property
    def missing(self) -> int:
        return self._count("missing") + self._count("expired")

    @property
    def retention_deadline(self) -> datetime | None:
        if self.oldest_pending_at is None or not self.gateway.retention_days:
            return None
        return self.oldest_pending_at + timedelta(days=self.gateway.retention_days)

    @property
    def retention_at_risk(self) -> bool:
        deadline = self.retention_deadline
        return deadline is not None and deadline - self.now < RETENTION_WARNING

    @property
    def month_verified_share(self) -> Decimal | None:
        return self.month.verified_share if self.month else None


@dataclass(frozen=True)
class OpenDiscrepancies:
    kind: str
    count: int
    amount: Decimal


def gateways_overview(*, now: datetime) -> list[GatewayOverview]:
    """One row per gateway: counts by state (all time), the oldest pending generation against
    the gateway's retention, and this month's verified share."""
    all_time = {row.key[0]: row for row in spend_rows_by(DailySpend.objects.all(), ("api_key__gateway_id",))}
    this_month = DailySpend.objects.filter(day__gte=period_of(now.date()))
    month = {row.key[0]: row for row in spend_rows_by(this_month, ("api_key__gateway_id",))}
    oldest = oldest_pending_by_gateway()
    return [
        GatewayOverview(
            gateway=gateway,
            spend=all_time.get(gateway.pk),
            month=month.get(gateway.pk),
            oldest_pending_at=oldest.get(gateway.pk),
            now=now,
        )
        for gateway in Gateway.objects.order_by("slug")
    ]


def oldest_pending_by_gateway() -> dict[int, datetime]:
    """When each gateway's oldest pending generation was created: the first roll-up day with
    pending generations, then the earliest of those generations on that day (a bounded read)."""
    first_days = (
        DailySpend.objects.filter(pending__gt=0)
        .values("api_key__gateway_id")
        .order_by("api_key__gateway_id")
        .annotate(first_day=Min("day"))
        .values_list("api_key__gateway_id", "first_day")
    )
    oldest: dict[int, datetime] = {}
    for gateway_id, first_day in first_days:
        start, end = day_bounds(first_day)
        keys = DailySpend.objects.filter(day=first_day, pending__gt=0, api_key__gateway_id=gateway_id)
        found = Generation.objects.filter(
            api_key_id__in=keys.values("api_key_id"),
            state=GenerationState.PENDING,
            created_at__gte=start,
            created_at__lt=end,
        ).aggregate(oldest=Min("created_at"))["oldest"]
        if found is not None:
            oldest[gateway_id] = found
    return oldest


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A UTC day (a roll-up's `day`) as a half-open datetime range."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def open_discrepancies_by_kind() -> list[OpenDiscrepancies]:
    """Open and acknowledged discrepancies per kind, with the sum of their absolute deltas."""
    rows = (
        Discrepancy.objects.filter(status__in=OPEN_STATUSES)
        .values("kind")
        .order_by("kind")
        .annotate(count=Count("id"), amount=Sum(Abs("delta")))
    )
    return [OpenDiscrepancies(kind=row["kind"], count=row["count"], amount=row["amount"] or Decimal(0)) for row in rows]
