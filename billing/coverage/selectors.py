"""Reads of coverage: per key and UTC day, and per gateway for the overview. From the stored
coverage rows and findings only; nothing here calls the gateway."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum

from accounts.models import ApiKey, Gateway, Team
from billing.coverage import rules
from billing.coverage.models import CoverageCheck, CoverageStatus, KeyDayCoverage
from billing.models import OPEN_STATUSES, Discrepancy, DiscrepancyKind

ZERO = Decimal(0)
OVERVIEW_DAYS = 14


@dataclass(frozen=True)
class DayCoverage:
    """What is known of one key's day: a CoverageStatus value and, unless matched, why."""

    day: date
    status: str
    reason: str = ""
    unrecorded: Decimal = ZERO

    @property
    def label(self) -> str:
        return CoverageStatus(self.status).label


def gateway_not_checkable_reason(gateway: Gateway) -> str:
    """Why none of a gateway's days can be checked now ('' if they can)."""
    if gateway.kind not in rules.KINDS_WITH_ACTIVITY:
        return f"{gateway.get_kind_display()} documents no per-key activity endpoint"
    if not gateway.management_secret_encrypted:
        return "no management key is set for this gateway"
    if gateway.coverage_paused_at is not None:
        return f"coverage checks are paused: {gateway.coverage_pause_reason}"
    return ""


def key_coverage_by_day(*, api_key: ApiKey, start: date, end: date, now: datetime) -> dict[date, DayCoverage]:
    """Coverage of each day from start (inclusive) to end (exclusive) that has begun, stated for
    every such day: today is "not over yet", days still to come are not stated at all."""
    today = now.astimezone(UTC).date()
    end = min(end, today + timedelta(days=1))
    first, _ = rules.checkable_days(today=today)
    stored = {
        row.day: row
        for row in KeyDayCoverage.objects.filter(api_key=api_key, day__gte=start, day__lt=end).only("day", "status", "reason")
    }
    unrecorded = dict(
        _open_unrecorded(Discrepancy.objects.filter(api_key=api_key, day__gte=start, day__lt=end))
        .values("day")
        .annotate(amount=Sum("delta"))
        .values_list("day", "amount")
    )
    gateway_reason = gateway_not_checkable_reason(api_key.gateway)
    result = {}
    day = start
    while day < end:
        row = stored.get(day)
        amount = unrecorded.get(day) or ZERO
        if row is not None:
            coverage = DayCoverage(day, row.status, row.reason, amount)
        elif day >= today:
            coverage = DayCoverage(day, CoverageStatus.NOT_CHECKED, "the UTC day is not over yet")
        elif gateway_reason and not gateway_reason.startswith("coverage checks are paused"):
            coverage = DayCoverage(day, CoverageStatus.NOT_CHECKABLE, gateway_reason)
        elif day < first:
            coverage = DayCoverage(day, CoverageStatus.NOT_CHECKABLE, "outside the gateway's 30-day activity window")
        else:
            coverage = DayCoverage(day, CoverageStatus.NOT_CHECKED, gateway_reason)
        result[day] = coverage
        day += timedelta(days=1)
    return result


def _open_unrecorded(queryset):
    return queryset.filter(
        generation__isnull=True, kind=DiscrepancyKind.UNRECORDED_SPEND, status__in=OPEN_STATUSES
    ).order_by()


def open_unrecorded_spend(*, start: date, end: date, team: Team | None = None, api_key: ApiKey | None = None) -> Decimal:
    """What the gateway billed beyond Tally's records on days in [start, end), still open:
    money no record explains, so unverified by definition."""
    queryset = Discrepancy.objects.filter(day__gte=start, day__lt=end)
    if team is not None:
        queryset = queryset.filter(team=team)
    if api_key is not None:
        queryset = queryset.filter(api_key=api_key)
    return _open_unrecorded(queryset).aggregate(amount=Sum("delta"))["amount"] or ZERO


def open_unrecorded_spend_by(*, teams: Sequence[Team], start: date, end: date, field: str) -> dict[int, Decimal]:
    """open_unrecorded_spend of the teams per `field` value ("team_id" or "api_key_id")."""
    rows = _open_unrecorded(Discrepancy.objects.filter(team__in=teams, day__gte=start, day__lt=end))
    return dict(rows.values(field).annotate(amount=Sum("delta")).values_list(field, "amount"))


@dataclass(frozen=True)
class GatewayCoverageDay:
    day: date
    matched: int
    differed: int
    not_checkable: int
    not_checked: int


@dataclass(frozen=True)
class GatewayCoverage:
    gateway: Gateway
    not_checkable_reason: str
    days: list[GatewayCoverageDay]
    latest_check: CoverageCheck | None


def coverage_overview(*, now: datetime, days: int = OVERVIEW_DAYS) -> list[GatewayCoverage]:
    """Per gateway, for each of the last `days` completed UTC days, how many keys were checked
    and matched, differed, could not be checked, or were not checked yet."""
    today = now.astimezone(UTC).date()
    shown = [today - timedelta(days=offset) for offset in range(days, 0, -1)]
    counts = {
        (row["api_key__gateway_id"], row["day"]): row
        for row in KeyDayCoverage.objects.filter(day__gte=shown[0], day__lt=today)
        .values("api_key__gateway_id", "day")
        .annotate(
            matched=Count("id", filter=Q(status=CoverageStatus.MATCHED)),
            differed=Count("id", filter=Q(status=CoverageStatus.DIFFERED)),
            not_checkable=Count("id", filter=Q(status=CoverageStatus.NOT_CHECKABLE)),
            total=Count("id"),
        )
    }
    keys = dict(ApiKey.objects.values("gateway_id").annotate(total=Count("id")).values_list("gateway_id", "total"))
    latest = {}
    for check in CoverageCheck.objects.filter(day__gte=shown[0]).order_by("gateway_id", "-day"):
        latest.setdefault(check.gateway_id, check)
    overview = []
    for gateway in Gateway.objects.order_by("slug"):
        reason = gateway_not_checkable_reason(gateway)
        rows = []
        for day in shown:
            row = counts.get((gateway.pk, day), {})
            unchecked = max(keys.get(gateway.pk, 0) - row.get("total", 0), 0)
            checkable = not reason or reason.startswith("coverage checks are paused")
            rows.append(
                GatewayCoverageDay(
                    day=day,
                    matched=row.get("matched", 0),
                    differed=row.get("differed", 0),
                    not_checkable=row.get("not_checkable", 0) + (0 if checkable else unchecked),
                    not_checked=unchecked if checkable else 0,
                )
            )
        overview.append(GatewayCoverage(gateway=gateway, not_checkable_reason=reason, days=rows, latest_check=latest.get(gateway.pk)))
    return overview
