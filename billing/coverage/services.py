"""Checking a gateway's UTC day: ask the gateway what each key was billed, compare it with
Tally's roll-ups (billing/coverage/rules.py), and file what differs (writes.py).

A check is all or nothing: the keys list and every key's activity are read first, and only
then is anything written, in one transaction. Re-running a day updates its findings and its
coverage rows; nothing is duplicated. Faults: a refused management key (401/403) pauses
coverage on that gateway and tells the admins; rate limits and transient failures are raised
for the caller to retry (the Celery task backs off); an unreadable answer is recorded as a
failed check and changes no finding.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiKey, Gateway
from billing.coverage import rules
from billing.coverage.models import CoverageCheck
from billing.coverage.writes import KeyDayResult, coverage_check_failed, coverage_results_apply
from billing.models import KEY_DAY_KINDS, OPEN_STATUSES, Discrepancy
from billing.reconciliation.facts import Tolerance
from billing.reconciliation.services.writes import _tell_admins as tell_admins
from generations.gateways.base import BadPayload, Unauthorised
from generations.gateways.openrouter_activity import fetch_activity, fetch_keys
from generations.models import DailySpend

logger = logging.getLogger(__name__)

CHECKED = "checked"
SKIPPED = "skipped"
PAUSED = "paused"
FAILED = "failed"


class CoverageNotCheckable(ValueError):
    """The day or gateway cannot be checked (no endpoint, no management key, outside the window)."""


@dataclass(frozen=True)
class CoverageResult:
    gateway_slug: str
    day: date
    outcome: str
    detail: str = ""
    matched: int = 0
    differed: int = 0
    not_checkable: int = 0
    unknown_keys: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.outcome != CHECKED:
            return f"{self.gateway_slug} {self.day}: {self.outcome}: {self.detail}"
        unknown = f", unknown keys at the gateway: {', '.join(self.unknown_keys)}" if self.unknown_keys else ""
        return (
            f"{self.gateway_slug} {self.day}: {self.matched} key(s) matched, {self.differed} differed, "
            f"{self.not_checkable} not checkable{unknown}."
        )


def utc_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(UTC).date()


def coverage_gateways() -> list[Gateway]:
    """Gateways whose days can be checked: OpenRouter kind, with a management key, not paused."""
    return list(
        Gateway.objects.filter(kind__in=rules.KINDS_WITH_ACTIVITY, coverage_paused_at__isnull=True)
        .exclude(management_secret_encrypted="")
        .order_by("slug")
    )


def coverage_check_day(*, gateway: Gateway, day: date, now: datetime | None = None) -> CoverageResult:
    """Check one gateway's UTC day for every key of the gateway that could have spent on it.

    Raises CoverageNotCheckable for a day or gateway that cannot be checked, and lets RateLimited
    and TransientFailure through for the caller to retry."""
    now = now or timezone.now()
    today = utc_today(now)
    reason = rules.not_checkable_reason(
        gateway_kind=gateway.kind, has_management_key=bool(gateway.management_secret_encrypted), day=day, today=today
    )
    if not reason and day >= today:
        reason = "the UTC day is not over yet"
    if reason:
        raise CoverageNotCheckable(f"{gateway.slug} {day}: {reason}")
    if gateway.coverage_paused_at is not None:
        return CoverageResult(gateway.slug, day, PAUSED, gateway.coverage_pause_reason)
    secret = gateway.management_secret()
    tally_keys = list(_keys_alive_on(gateway, day))
    try:
        gateway_keys = fetch_keys(base_url=gateway.base_url, secret=secret)
        matching = rules.match_keys(
            [rules.TallyKey(id=key.pk, fingerprint=key.fingerprint, secret=key.secret()) for key in tally_keys],
            gateway_keys,
        )
        matched_ids = sorted(matching.matched)
        hashes: list[str | None] = [matching.matched[key_id].hash for key_id in matched_ids] + [None]
        activity = fetch_activity(base_url=gateway.base_url, secret=secret, day=day, key_hashes=hashes)
    except Unauthorised as error:
        coverage_pause(gateway=gateway, reason=f"Management key refused: {error}", now=now)
        return CoverageResult(gateway.slug, day, PAUSED, str(error))
    except BadPayload as error:
        coverage_check_failed(gateway=gateway, day=day, detail=str(error), now=now)
        logger.warning("Coverage check of %s %s failed: %s", gateway.slug, day, error)
        return CoverageResult(gateway.slug, day, FAILED, str(error))

    by_key = dict(zip(matched_ids, activity[:-1], strict=True))
    account_cost = sum((row.cost for row in activity[-1]), rules.ZERO)
    tally = _tally_model_days(matched_ids, day)
    tolerance = Tolerance.of(gateway)
    keys = {key.pk: key for key in tally_keys}
    results = [
        KeyDayResult(
            api_key=keys[key_id],
            comparison=rules.compare_key_day(ours=tally.get(key_id, []), theirs=by_key[key_id], tolerance=tolerance),
        )
        for key_id in matched_ids
    ]
    unattributed = account_cost - sum((result.comparison.theirs.cost for result in results), rules.ZERO)
    coverage_results_apply(
        gateway=gateway,
        day=day,
        results=results,
        not_checkable={keys[key_id]: why for key_id, why in matching.not_checkable.items()},
        unknown_keys=matching.unknown,
        unattributed_cost=unattributed,
        now=now,
    )
    differed = sum(1 for result in results if not result.comparison.matched)
    return CoverageResult(
        gateway.slug,
        day,
        CHECKED,
        matched=len(results) - differed,
        differed=differed,
        not_checkable=len(matching.not_checkable),
        unknown_keys=[key.label or key.hash for key in matching.unknown],
    )


def _keys_alive_on(gateway: Gateway, day: date):
    """The gateway's keys not revoked before the UTC day began. A key registered in Tally later
    may still have spent that day (it existed at the gateway first), so registration is no bound."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return ApiKey.objects.filter(gateway=gateway).filter(Q(revoked_at__isnull=True) | Q(revoked_at__gte=start)).order_by("pk")


def _tally_model_days(api_key_ids: list[int], day: date) -> dict[int, list[rules.TallyModelDay]]:
    result: dict[int, list[rules.TallyModelDay]] = defaultdict(list)
    for row in DailySpend.objects.filter(api_key_id__in=api_key_ids, day=day):
        result[row.api_key_id].append(
            rules.TallyModelDay(
                model=row.model,
                totals=rules.Totals(
                    requests=row.generations,
                    cost=row.recorded_cost,
                    prompt_tokens=row.tokens_prompt,
                    completion_tokens=row.tokens_completion,
                    reasoning_tokens=row.tokens_reasoning,
                ),
            )
        )
    return result


def coverage_pause(*, gateway: Gateway, reason: str, now: datetime) -> bool:
    """Stop coverage checks on a gateway whose management key is refused, until an operator
    resumes them in the admin. Lookups are not affected. Tells the admins once."""
    paused = Gateway.objects.filter(pk=gateway.pk, coverage_paused_at__isnull=True).update(
        coverage_paused_at=now, coverage_pause_reason=reason[:500]
    )
    if paused:
        gateway.coverage_paused_at, gateway.coverage_pause_reason = now, reason[:500]
        tell_admins(
            f"Coverage checks on gateway {gateway.slug} paused",
            f"Coverage checks on gateway {gateway.slug} are paused: {reason}. "
            "Set a management key (not an inference key) with add_gateway --management-secret-env or in the admin",
        )
    return bool(paused)


def days_to_check(*, gateway: Gateway, now: datetime | None = None) -> list[date]:
    """What the daily job checks: the day that just ended, every day in the window not yet
    checked, and every day with an open coverage finding (late ingest may have closed it)."""
    today = utc_today(now)
    first, last = rules.checkable_days(today=today)
    window = {first + timedelta(days=offset) for offset in range((last - first).days + 1)}
    checked = set(
        CoverageCheck.objects.filter(gateway=gateway, day__gte=first, outcome=CoverageCheck.Outcome.CHECKED).values_list(
            "day", flat=True
        )
    )
    open_days = set(
        Discrepancy.objects.filter(
            api_key__gateway=gateway, kind__in=KEY_DAY_KINDS, status__in=OPEN_STATUSES, day__gte=first
        ).values_list("day", flat=True)
    )
    return sorted({last} | (window - checked) | (open_days & window))
