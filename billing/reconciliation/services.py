"""Reconciling generations: look them up, store what the gateway said, run the rules, write
discrepancies and the generation's state, or schedule the next try.

Every write is safe to repeat. A generation is only changed while it is pending and still
carries the lease of the claim being worked on (checked under a row lock, in the transaction
that writes), so a batch run twice, or two workers racing on one generation, change it once.
GatewayRecord is one per generation (update_or_create), discrepancies one per (generation, kind),
and roll-ups move only for the rows whose state actually changed.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.mail import mail_admins
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import ApiKey, Gateway
from billing.discrepancies import discrepancy_change_status
from billing.models import Discrepancy, DiscrepancyEvent, DiscrepancyStatus, ModelPrice
from billing.reconciliation import rules
from billing.reconciliation.facts import Finding, ListPrice, OurGeneration, Prices, Tolerance
from billing.reconciliation.scheduling import next_attempt_after_failure, next_attempt_after_not_found
from generations.fetching import Claim, generations_of_claim, lookup_requests_for, lookups_run
from generations.gateways.base import (
    GatewayError,
    GatewayGenerationRecord,
    LookupOutcome,
    NotFound,
    PaymentRequired,
    RateLimited,
    Unauthorised,
)
from generations.models import GatewayRecord, Generation, GenerationState
from generations.rollups import SpendFacts, rollup_generations_changed

logger = logging.getLogger(__name__)

GONE_NOTE = "No longer found on re-check."
FOUND_AGAIN_NOTE = "Found again on re-check."
# What a batch did with each generation (counted in the result of generations_reconcile).
RETRIED = "retried"
RELEASED = "released"
SKIPPED = "skipped"


class PriceBook:
    """List prices of one gateway, looked up once per (model, day) within a batch."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._prices: dict[tuple[str, date], ListPrice | None] = {}

    def price(self, model: str, on: date) -> ListPrice | None:
        if (model, on) not in self._prices:
            found = ModelPrice.objects.in_force(gateway=self.gateway, model=model, on=on)
            self._prices[(model, on)] = ListPrice.of(found) if found else None
        return self._prices[(model, on)]

    def prices_for(self, generation: Generation, record: GatewayGenerationRecord) -> Prices:
        on = generation.created_at.date()
        requested = self.price(generation.model, on)
        served_model = record.served_model
        if not served_model or rules.same_model(generation.model, served_model):
            return Prices(requested=requested, served=requested)
        served = self.price(served_model, on) or self.price(rules.normalise_model_slug(served_model), on)
        return Prices(requested=requested, served=served)


def generations_reconcile(*, claim: Claim) -> Counter:
    """Look up a claim's generations and apply each outcome. Returns what happened, counted by
    the generation's new state, or retried / released (gateway or key paused) / skipped (no
    longer this claim's)."""
    gateway = Gateway.objects.get(pk=claim.gateway_id)
    generations = generations_of_claim(claim=claim)
    done: Counter = Counter()
    if gateway.paused_at is not None:
        for generation in generations:
            done[_release(generation=generation, leased_until=claim.leased_until)] += 1
        return done
    ready = [generation for generation in generations if generation.api_key.paused_at is None]
    for generation in generations:
        if generation.api_key.paused_at is not None:
            done[_release(generation=generation, leased_until=claim.leased_until)] += 1
    if not ready:
        return done
    outcomes = lookups_run(gateway=gateway, requests=lookup_requests_for(gateway=gateway, generations=ready))
    prices = PriceBook(gateway)
    for generation, outcome in zip(ready, outcomes, strict=True):
        try:
            result = generation_apply_outcome(
                generation=generation, outcome=outcome, leased_until=claim.leased_until, prices=prices
            )
        except Exception:
            # One generation the database refuses (e.g. an absurd amount) must not sink the batch.
            logger.exception("Could not apply the lookup of generation %s; retrying later.", generation.pk)
            result = _retry(generation=generation, leased_until=claim.leased_until, when=_backoff(generation))
        done[result] += 1
    return done


def generation_apply_outcome(
    *, generation: Generation, outcome: LookupOutcome, leased_until: datetime, prices: PriceBook, now: datetime | None = None
) -> str:
    """Apply one lookup outcome to a generation leased until `leased_until`: verify or dispute it
    on a record, declare it missing or expired, pause the gateway or key, or schedule a retry."""
    now = now or timezone.now()
    gateway = generation.gateway
    if isinstance(outcome, GatewayGenerationRecord):
        return _settle_with_record(generation=generation, record=outcome, leased_until=leased_until, prices=prices, now=now)
    if isinstance(outcome, PaymentRequired):
        gateway_pause(gateway=gateway, reason=f"Payment required (402): {outcome}", now=now)
        return _release(generation=generation, leased_until=leased_until)
    if isinstance(outcome, Unauthorised):
        if gateway.lookup_secret_encrypted:
            gateway_pause(gateway=gateway, reason=f"Lookup credential refused: {outcome}", now=now)
        else:
            api_key_pause(api_key=generation.api_key, reason=f"Key refused by the gateway: {outcome}", now=now)
        return _release(generation=generation, leased_until=leased_until)
    expired = rules.expired_unverified(created_at=generation.created_at, now=now, retention_days=gateway.retention_days)
    if expired:
        return _settle(generation=generation, leased_until=leased_until, state=GenerationState.EXPIRED, findings=[expired], now=now)
    if isinstance(outcome, NotFound):
        missing = rules.missing_upstream(created_at=generation.created_at, now=now, grace_seconds=gateway.grace_seconds)
        if missing:
            return _settle(
                generation=generation, leased_until=leased_until, state=GenerationState.MISSING, findings=[missing], now=now
            )
        grace_ends_at = generation.created_at + timedelta(seconds=gateway.grace_seconds)
        when = next_attempt_after_not_found(now=now, attempts=generation.attempts + 1, grace_ends_at=grace_ends_at)
        return _retry(generation=generation, leased_until=leased_until, when=when)
    retry_after = outcome.retry_after if isinstance(outcome, RateLimited) else None
    if isinstance(outcome, GatewayError):
        logger.info("Lookup of %s failed (%s); retrying later.", generation, outcome)
    return _retry(generation=generation, leased_until=leased_until, when=_backoff(generation, now=now, retry_after=retry_after))


def _settle_with_record(
    *, generation: Generation, record: GatewayGenerationRecord, leased_until: datetime, prices: PriceBook, now: datetime
) -> str:
    case = rules.Case(
        ours=OurGeneration.of(generation),
        record=record,
        prices=prices.prices_for(generation, record),
        tolerance=Tolerance.of(generation.gateway),
        discount=generation.gateway.discount,
    )
    findings = rules.findings_for(case)
    return _settle(
        generation=generation,
        leased_until=leased_until,
        state=rules.verdict(findings),
        findings=findings,
        now=now,
        record=record,
        charged_cost=case.charged,
    )


def _settle(
    *,
    generation: Generation,
    leased_until: datetime,
    state: str,
    findings: list[Finding],
    now: datetime,
    record: GatewayGenerationRecord | None = None,
    charged_cost=None,
) -> str:
    """Write the result of a check, once: only if the generation is still pending under this lease."""
    with transaction.atomic():
        locked = (
            Generation.objects.select_for_update()
            .filter(pk=generation.pk, state=GenerationState.PENDING, next_attempt_at=leased_until)
            .first()
        )
        if locked is None:
            return SKIPPED
        before = SpendFacts.of(locked)
        if record is not None:
            GatewayRecord.objects.update_or_create(generation=locked, defaults=_record_fields(record, now))
        discrepancies_upsert(generation=locked, findings=findings, now=now, resolve_absent=record is not None)
        locked.state = state
        locked.charged_cost = charged_cost
        locked.attempts = min(locked.attempts + 1, 32767)
        locked.next_attempt_at = None
        locked.reconciled_at = now
        locked.save(update_fields=["state", "charged_cost", "attempts", "next_attempt_at", "reconciled_at"])
        rollup_generations_changed([(before, SpendFacts.of(locked))])
    return state


def discrepancies_upsert(*, generation: Generation, findings: list[Finding], now: datetime, resolve_absent: bool) -> None:
    """One discrepancy per (generation, kind): new findings are opened, known ones updated, and,
    when `resolve_absent` (the gateway's record was read), open findings that are no longer
    found are resolved with a note, never deleted. A finding we resolved that comes back is
    reopened; one finance settled by hand stays as they left it."""
    existing = {discrepancy.kind: discrepancy for discrepancy in Discrepancy.objects.filter(generation=generation)}
    found = {finding.kind for finding in findings}
    for finding in findings:
        values = {
            "severity": finding.severity,
            "expected": finding.expected,
            "actual": finding.actual,
            "delta": finding.delta,
            "detail": finding.detail,
            "updated_at": now,
        }
        discrepancy = existing.get(finding.kind)
        if discrepancy is None:
            discrepancy = Discrepancy.objects.create(generation=generation, kind=finding.kind, created_at=now, **values)
            DiscrepancyEvent.objects.create(
                discrepancy=discrepancy, at=now, to_status=DiscrepancyStatus.OPEN, note="Found by reconciliation."
            )
            continue
        Discrepancy.objects.filter(pk=discrepancy.pk).update(**values)
        if discrepancy.status == DiscrepancyStatus.RESOLVED and discrepancy.status_changed_by_id is None and (
            discrepancy.status_reason == GONE_NOTE
        ):
            discrepancy_change_status(discrepancy=discrepancy, to_status=DiscrepancyStatus.OPEN, by=None, reason=FOUND_AGAIN_NOTE)
    if not resolve_absent:
        return
    for kind, discrepancy in existing.items():
        if kind not in found and discrepancy.status in (DiscrepancyStatus.OPEN, DiscrepancyStatus.ACKNOWLEDGED):
            discrepancy_change_status(discrepancy=discrepancy, to_status=DiscrepancyStatus.RESOLVED, by=None, reason=GONE_NOTE)


def _record_fields(record: GatewayGenerationRecord, now: datetime) -> dict:
    return {
        "fetched_at": now,
        "served_model": record.served_model[:200],
        "provider": record.provider[:200],
        "gateway_created_at": record.created_at,
        "total_cost": record.total_cost,
        "usage": record.usage,
        "upstream_inference_cost": record.upstream_inference_cost,
        "cache_discount": record.cache_discount,
        "credits_used": record.credits_used,
        "tokens_prompt": record.tokens_prompt,
        "tokens_completion": record.tokens_completion,
        "tokens_cached": record.tokens_cached,
        "tokens_cache_write": record.tokens_cache_write,
        "tokens_reasoning": record.tokens_reasoning,
        "is_byok": record.is_byok,
        "cancelled": record.cancelled,
        "streamed": record.streamed,
        "finish_reason": record.finish_reason[:100],
        "latency_ms": record.latency_ms,
        "key_hash": record.key_hash[:200],
        "raw": record.raw,
    }


def _backoff(generation: Generation, *, now: datetime | None = None, retry_after: float | None = None) -> datetime:
    return next_attempt_after_failure(now=now or timezone.now(), attempts=generation.attempts + 1, retry_after=retry_after)


def _retry(*, generation: Generation, leased_until: datetime, when: datetime) -> str:
    """Count the attempt and come back at `when`: only if this lease still holds the generation."""
    updated = Generation.objects.filter(
        pk=generation.pk, state=GenerationState.PENDING, next_attempt_at=leased_until, attempts__lt=32767
    ).update(attempts=F("attempts") + 1, next_attempt_at=when)
    return RETRIED if updated else SKIPPED


def _release(*, generation: Generation, leased_until: datetime) -> str:
    """Give a generation back without counting an attempt: due again as soon as its gateway or
    key is unpaused (the sweep skips paused ones)."""
    updated = Generation.objects.filter(
        pk=generation.pk, state=GenerationState.PENDING, next_attempt_at=leased_until
    ).update(next_attempt_at=timezone.now())
    return RELEASED if updated else SKIPPED


def gateway_pause(*, gateway: Gateway, reason: str, now: datetime) -> bool:
    """Stop lookups on a gateway (402: out of credits; a refused lookup credential) until an
    operator clears `paused_at` in the admin. Tells the admins once, when the pause starts."""
    paused = Gateway.objects.filter(pk=gateway.pk, paused_at__isnull=True).update(paused_at=now, pause_reason=reason[:500])
    if paused:
        gateway.paused_at, gateway.pause_reason = now, reason[:500]
        _tell_admins(f"Gateway {gateway.slug} paused", f"Lookups on gateway {gateway.slug} are paused: {reason}")
    return bool(paused)


def api_key_pause(*, api_key: ApiKey, reason: str, now: datetime) -> bool:
    """Stop lookups made with a key the gateway refuses (401) until an operator clears the pause."""
    paused = ApiKey.objects.filter(pk=api_key.pk, paused_at__isnull=True).update(paused_at=now, pause_reason=reason[:500])
    if paused:
        api_key.paused_at, api_key.pause_reason = now, reason[:500]
        _tell_admins(f"Key {api_key.slug} paused", f"Lookups with key {api_key.slug} are paused: {reason}")
    return bool(paused)


def _tell_admins(subject: str, message: str) -> None:
    logger.error("%s. Clear the pause in the admin once it is fixed.", message)
    mail_admins(subject, message + "\n\nClear the pause in the admin once it is fixed.", fail_silently=True)


@dataclass(frozen=True)
class RetentionRisk:
    gateway_slug: str
    at_risk: int
    expedited: int


def generations_flag_retention_risk(*, now: datetime | None = None, warning: timedelta = timedelta(days=1)) -> list[RetentionRisk]:
    """Find pending generations within `warning` of their gateway's retention limit, log them,
    and bring forward any whose next attempt would come after the record is gone."""
    now = now or timezone.now()
    risks = []
    for gateway in Gateway.objects.filter(retention_days__isnull=False).order_by("slug"):
        retention = timedelta(days=gateway.retention_days)
        at_risk = Generation.objects.pending().filter(gateway=gateway, created_at__lte=now - retention + warning)
        count = at_risk.count()
        if not count:
            continue
        expedited = at_risk.filter(next_attempt_at__gt=F("created_at") + retention).update(next_attempt_at=now)
        logger.warning(
            "%s pending generations on %s are within %s of its %s-day retention (%s brought forward)%s.",
            count,
            gateway.slug,
            warning,
            gateway.retention_days,
            expedited,
            "; the gateway is paused" if gateway.paused_at else "",
        )
        risks.append(RetentionRisk(gateway_slug=gateway.slug, at_risk=count, expedited=expedited))
    return risks
