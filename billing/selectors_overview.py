"""The reconciliation overview and the finance dashboard: per gateway, where generations stand;
per month, spend, verified share, what is open and what waits.

Counts come from the daily roll-ups (a few rows per key and day); so does the day of the oldest
pending generation, which is then found among that day's generations of the keys with pending
ones (the (api_key, created_at) index); open discrepancy amounts come from the (status, kind)
index. Nothing here scans the generations table or aggregates its pending rows.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import Abs
from django.utils import timezone

from accounts.models import ApiKey, Gateway
from billing.discrepancy_kinds import MONEY_KINDS, KindInfo, kind_info
from billing.invoicing.periods import period_bounds, period_next, period_of
from billing.invoicing.spend import spend_rows_by
from billing.models import OPEN_STATUSES, Discrepancy, Invoice, InvoiceStatus
from billing.selectors import SpendRow, spend_total
from generations.models import DailySpend, Generation, GenerationState

RETENTION_WARNING = timedelta(days=1)
TOP_OPEN = 10


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
    money_at_stake: Decimal | None  # None for kinds not measured in money

    @property
    def info(self) -> KindInfo:
        return kind_info(self.kind)


def gateways_overview(*, now: datetime, period: date | None = None) -> list[GatewayOverview]:
    """One row per gateway: counts by state (all time), the oldest pending generation against
    the gateway's retention, and the verified share of `period` (this month by default)."""
    period = period_of(period or now.date())
    all_time = {row.key[0]: row for row in spend_rows_by(DailySpend.objects.all(), ("api_key__gateway_id",))}
    in_period = DailySpend.objects.filter(day__gte=period, day__lt=period_next(period))
    month = {row.key[0]: row for row in spend_rows_by(in_period, ("api_key__gateway_id",))}
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


def discrepancies_of_period(period: date | None) -> QuerySet:
    """Open or acknowledged discrepancies, of generations made in `period` (all when None).
    A key-day finding (no generation) counts in the month it was found."""
    queryset = Discrepancy.objects.filter(status__in=OPEN_STATUSES)
    if period is None:
        return queryset
    start, end = period_bounds(period)
    return queryset.filter(
        Q(generation__created_at__gte=start, generation__created_at__lt=end)
        | Q(generation__isnull=True, created_at__gte=start, created_at__lt=end)
    )


def open_discrepancies_by_kind(period: date | None = None) -> list[OpenDiscrepancies]:
    """Open and acknowledged discrepancies per kind; for kinds measured in money, the sum of
    their absolute deltas (tokens and yes/no differences are never added to dollars). Largest
    money at stake first."""
    rows = (
        discrepancies_of_period(period)
        .values("kind")
        .order_by("kind")
        .annotate(count=Count("id"), amount=Sum(Abs("delta")))
    )
    found = [
        OpenDiscrepancies(
            kind=row["kind"],
            count=row["count"],
            money_at_stake=(row["amount"] or Decimal(0)) if row["kind"] in MONEY_KINDS else None,
        )
        for row in rows
    ]
    return sorted(found, key=lambda row: (row.money_at_stake is None, -(row.money_at_stake or 0), -row.count))


@dataclass(frozen=True)
class FinanceDashboard:
    period: date
    spend: SpendRow
    money_at_stake: Decimal
    open_count: int
    open_by_kind: list[OpenDiscrepancies]
    largest_open: list[Discrepancy]
    oldest_pending: Generation | None
    paused_gateways: list[Gateway]
    paused_keys: list[ApiKey]
    invoices_to_finalize: list[Invoice]


def finance_dashboard(*, period: date) -> FinanceDashboard:
    """What finance looks at first for a month: spend and charged, the verified share, open
    discrepancies by money at stake, the oldest pending generation, paused gateways and keys,
    and drafts of closed months that wait to be finalized. Spend comes from the roll-ups."""
    period = period_of(period)
    by_kind = open_discrepancies_by_kind(period)
    largest = list(
        discrepancies_of_period(period)
        .filter(kind__in=MONEY_KINDS)
        .select_related("generation__gateway", "team")
        .order_by(Abs("delta").desc(nulls_last=True), "id")[:TOP_OPEN]
    )
    return FinanceDashboard(
        period=period,
        spend=spend_total(DailySpend.objects.filter(day__gte=period, day__lt=period_next(period))),
        money_at_stake=sum((row.money_at_stake or Decimal(0) for row in by_kind), Decimal(0)),
        open_count=sum(row.count for row in by_kind),
        open_by_kind=by_kind,
        largest_open=largest,
        oldest_pending=Generation.objects.filter(state=GenerationState.PENDING)
        .select_related("gateway", "api_key")
        .order_by("created_at")
        .first(),
        paused_gateways=list(Gateway.objects.filter(paused_at__isnull=False).order_by("slug")),
        paused_keys=list(ApiKey.objects.filter(paused_at__isnull=False).select_related("team").order_by("name")),
        invoices_to_finalize=list(
            Invoice.objects.filter(status=InvoiceStatus.DRAFT, period__lt=period_of(timezone.now().date()))
            .select_related("team")
            .order_by("period", "team__name")
        ),
    )
