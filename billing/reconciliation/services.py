"""Reconciling generations: look a batch up, decide what each outcome means (pure rules, in
Python), then write the whole batch's records, discrepancies, states, retries and roll-ups in
one transaction with a few statements.

Every write is safe to repeat. A generation is only changed while it is pending and still
carries the lease of the claim being worked on (checked under a row lock, in the transaction
that writes), so a batch run twice, or two workers racing on one generation, change it once.
GatewayRecord is one per generation (upsert), discrepancies one per (generation, kind), and
roll-ups move only for the rows whose state actually changed.
"""

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.mail import mail_admins
from django.db import connection, transaction
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
# Generation.attempts is a PositiveSmallIntegerField.
MAX_ATTEMPTS = 32767
FOUND_NOTE = "Found by reconciliation."
GENERATION_FIELDS = ["state", "charged_cost", "attempts", "next_attempt_at", "reconciled_at"]
DISCREPANCY_FINDING_FIELDS = ["severity", "expected", "actual", "delta", "detail", "updated_at"]


class PriceBook:
    """List prices of one gateway by (model, day), loaded for a whole batch in one query
    (`preload`), or one model at a time for models the batch did not foresee."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        # Each model's prices, latest valid_from first.
        self._history: dict[str, list[ModelPrice]] = {}

    def preload(self, *, models: Iterable[str], until: date) -> None:
        """Load the prices of `models` in force on any day up to `until`, in one query."""
        wanted = {model for model in models if model not in self._history}
        if not wanted:
            return
        for model in wanted:
            self._history[model] = []
        rows = ModelPrice.objects.filter(gateway=self.gateway, model__in=wanted, valid_from__lte=until)
        for row in rows.order_by("model", "-valid_from"):
            self._history[row.model].append(row)

    def price(self, model: str, on: date) -> ListPrice | None:
        if model not in self._history:
            rows = ModelPrice.objects.filter(gateway=self.gateway, model=model).order_by("-valid_from")
            self._history[model] = list(rows)
        found = next((row for row in self._history[model] if row.valid_from <= on), None)
        return ListPrice.of(found) if found else None

    def prices_for(self, generation: Generation, record: GatewayGenerationRecord) -> Prices:
        on = generation.created_at.date()
        requested = self.price(generation.model, on)
        served_model = record.served_model
        if not served_model or rules.same_model(generation.model, served_model):
            return Prices(requested=requested, served=requested)
        served = self.price(served_model, on) or self.price(rules.normalise_model_slug(served_model), on)
        return Prices(requested=requested, served=served)


def _models_to_price(generations: list[Generation], outcomes: list[LookupOutcome]) -> set[str]:
    models = {generation.model for generation in generations}
    for outcome in outcomes:
        if isinstance(outcome, GatewayGenerationRecord) and outcome.served_model:
            models.update((outcome.served_model, rules.normalise_model_slug(outcome.served_model)))
    return models


@dataclass(frozen=True)
class Settle:
    """Decided: the generation's final state, its findings and what the gateway said."""

    state: str
    findings: list[Finding]
    record: GatewayGenerationRecord | None = None
    charged_cost: Decimal | None = None


@dataclass(frozen=True)
class Retry:
    """Count the attempt and look the generation up again at `when`."""

    when: datetime


@dataclass(frozen=True)
class Release:
    """Give the generation back without counting an attempt (its gateway or key is paused)."""


Decision = Settle | Retry | Release


def generations_reconcile(*, claim: Claim) -> Counter:
    """Look up a claim's generations and apply the outcomes, in one transaction for the batch.
    Returns what happened, counted by the generation's new state, or retried / released
    (gateway or key paused) / skipped (no longer this claim's)."""
    gateway = Gateway.objects.get(pk=claim.gateway_id)
    generations = generations_of_claim(claim=claim, gateway=gateway)
    if gateway.paused_at is not None:
        released = [(generation, Release()) for generation in generations]
        return decisions_apply(decisions=released, leased_until=claim.leased_until)
    ready = [generation for generation in generations if generation.api_key.paused_at is None]
    decisions: list[tuple[Generation, Decision]] = [
        (generation, Release()) for generation in generations if generation.api_key.paused_at is not None
    ]
    if ready:
        outcomes = lookups_run(gateway=gateway, requests=lookup_requests_for(gateway=gateway, generations=ready))
        prices = PriceBook(gateway)
        prices.preload(
            models=_models_to_price(ready, outcomes), until=max(generation.created_at.date() for generation in ready)
        )
        now = timezone.now()
        decisions.extend(
            (generation, _decide_safely(generation=generation, outcome=outcome, prices=prices, now=now))
            for generation, outcome in zip(ready, outcomes, strict=True)
        )
    return decisions_apply(decisions=decisions, leased_until=claim.leased_until)


def generation_apply_outcome(
    *, generation: Generation, outcome: LookupOutcome, leased_until: datetime, prices: PriceBook, now: datetime | None = None
) -> str:
    """Apply one lookup outcome to a generation leased until `leased_until`: verify or dispute it
    on a record, declare it missing or expired, pause the gateway or key, or schedule a retry.
    Returns what happened (the new state, retried, released or skipped)."""
    now = now or timezone.now()
    decision = generation_decide(generation=generation, outcome=outcome, prices=prices, now=now)
    [(result, _)] = decisions_apply(decisions=[(generation, decision)], leased_until=leased_until, now=now).items()
    return result


def _decide_safely(*, generation: Generation, outcome: LookupOutcome, prices: PriceBook, now: datetime) -> Decision:
    try:
        return generation_decide(generation=generation, outcome=outcome, prices=prices, now=now)
    except Exception:
        # One generation the rules cannot read must not sink the batch.
        logger.exception("Could not apply the lookup of generation %s; retrying later.", generation.pk)
        return Retry(when=_backoff(generation, now=now))


def generation_decide(*, generation: Generation, outcome: LookupOutcome, prices: PriceBook, now: datetime) -> Decision:
    """What one lookup outcome means for a generation. Writes nothing but the pause of a
    gateway (402, refused lookup credential) or key (401)."""
    gateway = generation.gateway
    if isinstance(outcome, GatewayGenerationRecord):
        case = rules.Case(
            ours=OurGeneration.of(generation),
            record=outcome,
            prices=prices.prices_for(generation, outcome),
            tolerance=Tolerance.of(gateway),
            discount=gateway.discount,
        )
        findings = rules.findings_for(case)
        return Settle(state=rules.verdict(findings), findings=findings, record=outcome, charged_cost=case.charged)
    if isinstance(outcome, PaymentRequired):
        gateway_pause(gateway=gateway, reason=f"Payment required (402): {outcome}", now=now)
        return Release()
    if isinstance(outcome, Unauthorised):
        if gateway.lookup_secret_encrypted:
            gateway_pause(gateway=gateway, reason=f"Lookup credential refused: {outcome}", now=now)
        else:
            api_key_pause(api_key=generation.api_key, reason=f"Key refused by the gateway: {outcome}", now=now)
        return Release()
    expired = rules.expired_unverified(created_at=generation.created_at, now=now, retention_days=gateway.retention_days)
    if expired:
        return Settle(state=GenerationState.EXPIRED, findings=[expired])
    if isinstance(outcome, NotFound):
        missing = rules.missing_upstream(created_at=generation.created_at, now=now, grace_seconds=gateway.grace_seconds)
        if missing:
            return Settle(state=GenerationState.MISSING, findings=[missing])
        grace_ends_at = generation.created_at + timedelta(seconds=gateway.grace_seconds)
        when = next_attempt_after_not_found(now=now, attempts=generation.attempts + 1, grace_ends_at=grace_ends_at)
        return Retry(when=when)
    retry_after = outcome.retry_after if isinstance(outcome, RateLimited) else None
    if isinstance(outcome, GatewayError):
        logger.info("Lookup of %s failed (%s); retrying later.", generation, outcome)
    return Retry(when=_backoff(generation, now=now, retry_after=retry_after))


def decisions_apply(
    *, decisions: list[tuple[Generation, Decision]], leased_until: datetime, now: datetime | None = None
) -> Counter:
    """Write a batch's decisions in one transaction. If the database refuses the batch (e.g. an
    absurd amount in one record), each generation is written on its own, and one that is still
    refused is retried later, so one bad generation cannot sink the others."""
    now = now or timezone.now()
    if not decisions:
        return Counter()
    try:
        with transaction.atomic():
            return _write(decisions=decisions, leased_until=leased_until, now=now)
    except Exception:
        if len(decisions) == 1:
            generation, decision = decisions[0]
            if isinstance(decision, Retry | Release):
                raise
            logger.exception("Could not apply the lookup of generation %s; retrying later.", generation.pk)
            retry = [(generation, Retry(when=_backoff(generation, now=now)))]
            return decisions_apply(decisions=retry, leased_until=leased_until, now=now)
        logger.exception("Could not apply a batch of %s lookups at once; applying them one by one.", len(decisions))
    done: Counter = Counter()
    for decision in decisions:
        done.update(decisions_apply(decisions=[decision], leased_until=leased_until, now=now))
    return done


def _write(*, decisions: list[tuple[Generation, Decision]], leased_until: datetime, now: datetime) -> Counter:
    """Lock the batch's rows still pending under this lease (in primary key order, so racing
    workers lock in the same order), then write records, discrepancies, generations and
    roll-ups with a few statements for the whole batch."""
    decided = {generation.pk: decision for generation, decision in decisions}
    locked = list(
        Generation.objects.select_for_update()
        .filter(pk__in=list(decided), state=GenerationState.PENDING, next_attempt_at=leased_until)
        .order_by("pk")
    )
    done: Counter = Counter()
    changed: list[Generation] = []
    settled: list[tuple[Generation, Settle]] = []
    rollup_changes: list[tuple[SpendFacts, SpendFacts]] = []
    for generation in locked:
        decision = decided[generation.pk]
        if isinstance(decision, Retry) and generation.attempts >= MAX_ATTEMPTS:
            continue
        before = SpendFacts.of(generation)
        if isinstance(decision, Settle):
            generation.state = decision.state
            generation.charged_cost = decision.charged_cost
            generation.attempts = min(generation.attempts + 1, MAX_ATTEMPTS)
            generation.next_attempt_at = None
            generation.reconciled_at = now
            settled.append((generation, decision))
            rollup_changes.append((before, SpendFacts.of(generation)))
            done[decision.state] += 1
        elif isinstance(decision, Retry):
            generation.attempts += 1
            generation.next_attempt_at = decision.when
            done[RETRIED] += 1
        else:
            generation.next_attempt_at = now
            done[RELEASED] += 1
        changed.append(generation)
    if len(decisions) > len(changed):
        done[SKIPPED] += len(decisions) - len(changed)
    records = [
        GatewayRecord(generation_id=generation.pk, **_record_fields(decision.record, now))
        for generation, decision in settled
        if decision.record is not None
    ]
    if records:
        GatewayRecord.objects.bulk_create(
            records, update_conflicts=True, unique_fields=["generation"], update_fields=RECORD_FIELDS
        )
    discrepancies_upsert(settled=settled, now=now)
    _generations_update(changed)
    rollup_generations_changed(rollup_changes)
    return done


def _generations_update(generations: list[Generation]) -> None:
    """Write GENERATION_FIELDS of each generation: on PostgreSQL one UPDATE ... FROM (VALUES ...),
    which costs far less to build than bulk_update's CASE per field and row."""
    if not generations:
        return
    if connection.vendor != "postgresql":
        Generation.objects.bulk_update(generations, fields=GENERATION_FIELDS)
        return
    table = Generation._meta.db_table
    row = "(%s::bigint, %s::varchar, %s::numeric, %s::integer, %s::timestamptz, %s::timestamptz)"
    assignments = ", ".join(f"{field} = batch.{field}" for field in GENERATION_FIELDS)
    params: list = []
    for generation in generations:
        params.extend(
            (
                generation.pk,
                generation.state,
                generation.charged_cost,
                generation.attempts,
                generation.next_attempt_at,
                generation.reconciled_at,
            )
        )
    sql = (
        f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row] * len(generations))}) "
        f"AS batch(id, {', '.join(GENERATION_FIELDS)}) WHERE {table}.id = batch.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def discrepancies_upsert(*, settled: list[tuple[Generation, Settle]], now: datetime) -> None:
    """One discrepancy per (generation, kind): new findings are opened, known ones updated, and,
    when the gateway's record was read, open findings that are no longer found are resolved
    with a note, never deleted. A finding we resolved that comes back is reopened; one finance
    settled by hand stays as they left it. A few statements for the whole batch; status changes
    (rare: re-checks) go through discrepancy_change_status, which records their history."""
    if not settled:
        return
    existing: dict[int, dict[str, Discrepancy]] = defaultdict(dict)
    for discrepancy in Discrepancy.objects.filter(generation_id__in=[generation.pk for generation, _ in settled]):
        existing[discrepancy.generation_id][discrepancy.kind] = discrepancy
    created: list[Discrepancy] = []
    updated: list[Discrepancy] = []
    status_changes: list[tuple[Discrepancy, str, str]] = []
    for generation, decision in settled:
        known = existing.get(generation.pk, {})
        for finding in decision.findings:
            values = {
                "severity": finding.severity,
                "expected": finding.expected,
                "actual": finding.actual,
                "delta": finding.delta,
                "detail": finding.detail,
                "updated_at": now,
            }
            discrepancy = known.get(finding.kind)
            if discrepancy is None:
                created.append(Discrepancy(generation_id=generation.pk, kind=finding.kind, created_at=now, **values))
                continue
            for name, value in values.items():
                setattr(discrepancy, name, value)
            updated.append(discrepancy)
            if discrepancy.status == DiscrepancyStatus.RESOLVED and discrepancy.status_changed_by_id is None and (
                discrepancy.status_reason == GONE_NOTE
            ):
                status_changes.append((discrepancy, DiscrepancyStatus.OPEN, FOUND_AGAIN_NOTE))
        if decision.record is None:
            continue
        found = {finding.kind for finding in decision.findings}
        for kind, discrepancy in known.items():
            if kind not in found and discrepancy.status in (DiscrepancyStatus.OPEN, DiscrepancyStatus.ACKNOWLEDGED):
                status_changes.append((discrepancy, DiscrepancyStatus.RESOLVED, GONE_NOTE))
    if created:
        Discrepancy.objects.bulk_create(created)
        DiscrepancyEvent.objects.bulk_create(
            DiscrepancyEvent(discrepancy=discrepancy, at=now, to_status=DiscrepancyStatus.OPEN, note=FOUND_NOTE)
            for discrepancy in created
        )
    if updated:
        Discrepancy.objects.bulk_update(updated, fields=DISCREPANCY_FINDING_FIELDS)
    for discrepancy, to_status, reason in status_changes:
        discrepancy_change_status(discrepancy=discrepancy, to_status=to_status, by=None, reason=reason)


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


# Every field of a GatewayRecord but its key: what a second lookup of a generation overwrites.
RECORD_FIELDS = [field.name for field in GatewayRecord._meta.concrete_fields if not field.primary_key]


def _backoff(generation: Generation, *, now: datetime | None = None, retry_after: float | None = None) -> datetime:
    return next_attempt_after_failure(now=now or timezone.now(), attempts=generation.attempts + 1, retry_after=retry_after)


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
