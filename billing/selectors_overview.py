"""The reconciliation overview for finance: per gateway, where generations stand.

Counts come from the daily roll-ups (a few rows per key and day), the oldest pending generation
from the generation_due_pending partial index (pending rows only), open discrepancy amounts from
the (status, kind) index. Nothing here scans the generations table.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
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
    oldest = dict(
        Generation.objects.filter(state=GenerationState.PENDING)
        .values("gateway_id")
        .order_by("gateway_id")
        .annotate(oldest=Min("created_at"))
        .values_list("gateway_id", "oldest")
    )
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


def open_discrepancies_by_kind() -> list[OpenDiscrepancies]:
    """Open and acknowledged discrepancies per kind, with the sum of their absolute deltas."""
    rows = (
        Discrepancy.objects.filter(status__in=OPEN_STATUSES)
        .values("kind")
        .order_by("kind")
        .annotate(count=Count("id"), amount=Sum(Abs("delta")))
    )
    return [OpenDiscrepancies(kind=row["kind"], count=row["count"], amount=row["amount"] or Decimal(0)) for row in rows]
