"""Reconciling generations: look a batch up, decide what each outcome means (pure rules, in
Python), then write the whole batch's records, discrepancies, states, retries and roll-ups in
one transaction with a few statements.

Every write is safe to repeat. A generation is only changed while it is pending and still
carries the lease of the claim being worked on (checked under a row lock, in the transaction
that writes), so a batch run twice, or two workers racing on one generation, change it once.
GatewayRecord is one per generation (upsert), discrepancies one per (generation, kind), and
roll-ups move only for the rows whose state actually changed. The writing is in writes.py.
"""

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.mail import mail_admins
from django.db.models import F
from django.utils import timezone

from accounts.models import ApiKey, Gateway
from billing.alerts.pauses import api_key_paused_alert, gateway_paused_alert
from operations.logs import log_context
from billing.models import ModelPrice
from billing.reconciliation import rules
from billing.reconciliation.facts import ListPrice, OurGeneration, Prices, Tolerance
from billing.reconciliation.scheduling import next_attempt_after_not_found
from billing.reconciliation.services.writes import (
    FOUND_AGAIN_NOTE,
    GONE_NOTE,
    RELEASED,
    RETRIED,
    SKIPPED,
    Decision,
    Release,
    Retry,
    Settle,
    decisions_apply,
    discrepancies_upsert,
    retry_backoff,
)
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
from generations.models import Generation, GenerationState

logger = logging.getLogger(__name__)

__all__ = [
    "FOUND_AGAIN_NOTE",
    "GONE_NOTE",
    "RELEASED",
    "RETRIED",
    "SKIPPED",
    "Decision",
    "PriceBook",
    "Release",
    "RetentionRisk",
    "Retry",
    "Settle",
    "api_key_pause",
    "decisions_apply",
    "discrepancies_upsert",
    "gateway_pause",
    "generation_apply_outcome",
    "generation_decide",
    "generations_flag_retention_risk",
    "generations_reconcile",
]


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
        logger.exception(
            "Could not apply the lookup of generation %s; retrying later.", generation.pk, extra=log_context(generation)
        )
        return Retry(when=retry_backoff(generation, now=now))


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
        logger.info("Lookup of %s failed (%s); retrying later.", generation, outcome, extra=log_context(generation))
    return Retry(when=retry_backoff(generation, now=now, retry_after=retry_after))


def gateway_pause(*, gateway: Gateway, reason: str, now: datetime) -> bool:
    """Stop lookups on a gateway (402: out of credits; a refused lookup credential) until an
    operator clears `paused_at` in the admin. Tells the admins once, when the pause starts."""
    paused = Gateway.objects.filter(pk=gateway.pk, paused_at__isnull=True).update(paused_at=now, pause_reason=reason[:500])
    if paused:
        gateway.paused_at, gateway.pause_reason = now, reason[:500]
        _tell_admins(
            f"Gateway {gateway.slug} paused", f"Lookups on gateway {gateway.slug} are paused: {reason}", {"gateway": gateway.slug}
        )
        gateway_paused_alert(gateway=gateway)
    return bool(paused)


def api_key_pause(*, api_key: ApiKey, reason: str, now: datetime) -> bool:
    """Stop lookups made with a key the gateway refuses (401) until an operator clears the pause."""
    paused = ApiKey.objects.filter(pk=api_key.pk, paused_at__isnull=True).update(paused_at=now, pause_reason=reason[:500])
    if paused:
        api_key.paused_at, api_key.pause_reason = now, reason[:500]
        _tell_admins(
            f"Key {api_key.slug} paused", f"Lookups with key {api_key.slug} are paused: {reason}", {"api_key": api_key.slug}
        )
        api_key_paused_alert(api_key=api_key)
    return bool(paused)


def _tell_admins(subject: str, message: str, context: dict[str, str]) -> None:
    logger.error("%s. Clear the pause in the admin once it is fixed.", message, extra=context)
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
