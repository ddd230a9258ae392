"""Filing what a coverage check found, in one transaction per gateway day.

One discrepancy per (key, day, model, kind): new differences are opened, known ones updated;
an open one the day no longer shows (late ingest caught up) is resolved with AGREE_NOTE and a
history entry; one resolved that way that comes back is reopened; one finance settled by hand
stays as they left it. Each checked key's day gets one KeyDayCoverage row, the gateway's day one
CoverageCheck row, both replaced on every run.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction

from accounts.models import ApiKey, Gateway
from billing.coverage.models import CoverageCheck, CoverageStatus, KeyDayCoverage
from billing.coverage.rules import KeyDayComparison
from billing.discrepancies import discrepancy_change_status, finding_values
from billing.models import KEY_DAY_KINDS, OPEN_STATUSES, Discrepancy, DiscrepancyEvent, DiscrepancyStatus
from generations.gateways.openrouter_activity import GatewayKey

FOUND_NOTE = "Found by a coverage check."
AGREE_NOTE = "The gateway's activity and Tally's records agree now."
DIFFER_AGAIN_NOTE = "The gateway's activity and Tally's records differ again."
FINDING_FIELDS = ["severity", "expected", "actual", "delta", "detail", "updated_at"]


@dataclass(frozen=True)
class KeyDayResult:
    api_key: ApiKey
    comparison: KeyDayComparison


@transaction.atomic
def coverage_results_apply(
    *,
    gateway: Gateway,
    day: date,
    results: Sequence[KeyDayResult],
    not_checkable: dict[ApiKey, str],
    unknown_keys: Sequence[GatewayKey],
    unattributed_cost: Decimal,
    now: datetime,
) -> None:
    """Write a checked gateway day: findings, coverage per key, the check itself."""
    for result in results:
        _findings_apply(result=result, day=day, now=now)
        comparison = result.comparison
        _coverage_set(
            result.api_key,
            day,
            status=CoverageStatus.MATCHED if comparison.matched else CoverageStatus.DIFFERED,
            now=now,
            gateway_requests=comparison.theirs.requests,
            gateway_cost=comparison.theirs.cost,
            tally_generations=comparison.ours.requests,
            tally_cost=comparison.ours.cost,
        )
    for api_key, reason in not_checkable.items():
        _coverage_set(api_key, day, status=CoverageStatus.NOT_CHECKABLE, reason=reason, now=now)
    CoverageCheck.objects.update_or_create(
        gateway=gateway,
        day=day,
        defaults={
            "outcome": CoverageCheck.Outcome.CHECKED,
            "detail": "",
            "checked_at": now,
            "keys_checked": len(results),
            "unknown_keys": [
                {"hash": key.hash, "label": key.label, "name": key.name, "disabled": key.disabled} for key in unknown_keys
            ],
            "unattributed_cost": unattributed_cost,
        },
    )


def coverage_check_failed(*, gateway: Gateway, day: date, detail: str, now: datetime) -> None:
    """Record that a gateway day could not be read; earlier results and findings stay."""
    CoverageCheck.objects.update_or_create(
        gateway=gateway,
        day=day,
        defaults={"outcome": CoverageCheck.Outcome.FAILED, "detail": detail[:2000], "checked_at": now},
    )


def _coverage_set(api_key: ApiKey, day: date, *, status: str, now: datetime, reason: str = "", **totals) -> None:
    defaults = {
        "team_id": api_key.team_id,
        "status": status,
        "reason": reason[:500],
        "checked_at": now,
        "gateway_requests": 0,
        "gateway_cost": 0,
        "tally_generations": 0,
        "tally_cost": 0,
        **totals,
    }
    KeyDayCoverage.objects.update_or_create(api_key=api_key, day=day, defaults=defaults)


def _findings_apply(*, result: KeyDayResult, day: date, now: datetime) -> None:
    api_key = result.api_key
    existing = {
        (discrepancy.model, discrepancy.kind): discrepancy
        for discrepancy in Discrepancy.objects.select_for_update().filter(
            generation__isnull=True, api_key=api_key, day=day, kind__in=KEY_DAY_KINDS
        )
    }
    found = set()
    for finding in result.comparison.findings:
        found.add((finding.model, finding.kind))
        values = finding_values(finding, now=now)
        discrepancy = existing.get((finding.model, finding.kind))
        if discrepancy is None:
            discrepancy = Discrepancy.objects.create(
                api_key=api_key, team_id=api_key.team_id, day=day, model=finding.model, kind=finding.kind, created_at=now, **values
            )
            DiscrepancyEvent.objects.create(discrepancy=discrepancy, at=now, to_status=DiscrepancyStatus.OPEN, note=FOUND_NOTE)
            continue
        if any(getattr(discrepancy, name) != value for name, value in values.items() if name != "updated_at"):
            for name, value in values.items():
                setattr(discrepancy, name, value)
            discrepancy.save(update_fields=FINDING_FIELDS)
        if _closed_by_itself(discrepancy):
            discrepancy_change_status(discrepancy=discrepancy, to_status=DiscrepancyStatus.OPEN, by=None, reason=DIFFER_AGAIN_NOTE)
    for key, discrepancy in existing.items():
        if key not in found and discrepancy.status in OPEN_STATUSES:
            discrepancy_change_status(discrepancy=discrepancy, to_status=DiscrepancyStatus.RESOLVED, by=None, reason=AGREE_NOTE)


def _closed_by_itself(discrepancy: Discrepancy) -> bool:
    return (
        discrepancy.status == DiscrepancyStatus.RESOLVED
        and discrepancy.status_changed_by_id is None
        and discrepancy.status_reason == AGREE_NOTE
    )
