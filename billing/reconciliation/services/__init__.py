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
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from accounts.models import Gateway
from billing.price_book import PriceBook
from billing.reconciliation import reading, rules
from billing.reconciliation.facts import (
    Decision,
    GatewayFacts,
    OurGeneration,
    PinKeyHash,
    Prices,
    Release,
    Retry,
    Settle,
)
from billing.reconciliation.services.writes import (
    FOUND_AGAIN_NOTE,
    GONE_NOTE,
    RELEASED,
    RETRIED,
    SKIPPED,
    api_key_pause,
    decisions_apply,
    discrepancies_upsert,
    gateway_pause,
    retry_backoff,
)
from generations.fetching import Claim, generations_of_claim, lookup_requests_for, lookups_run
from generations.gateways.base import GatewayError, GatewayGenerationRecord, LookupOutcome
from generations.models import Generation
from generations.services import generations_expedite
from operations.logs import log_context

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
    "generation_decide",
    "generations_flag_retention_risk",
    "generations_reconcile",
]


def _models_to_price(generations: list[Generation], outcomes: list[LookupOutcome]) -> set[str]:
    models = {generation.model for generation in generations}
    for outcome in outcomes:
        if isinstance(outcome, GatewayGenerationRecord) and outcome.served_model:
            models.update((outcome.served_model, reading.normalise_model_slug(outcome.served_model)))
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
        # A key's hash pinned by one generation of the batch holds for the rest of the batch.
        pinned: dict[int, str] = {}
        for generation, outcome in zip(ready, outcomes, strict=True):
            if generation.api_key_id in pinned and not generation.api_key.gateway_key_hash:
                generation.api_key.gateway_key_hash = pinned[generation.api_key_id]
            decision = _decide_safely(generation=generation, outcome=outcome, prices=prices, now=now)
            for intent in decision.intents:
                if isinstance(intent, PinKeyHash):
                    pinned.setdefault(generation.api_key_id, intent.key_hash)
            decisions.append((generation, decision))
    return decisions_apply(decisions=decisions, leased_until=claim.leased_until)


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
    """What one lookup outcome means for a generation (billing/reconciliation/rules.py `decide`).
    Writes nothing: pauses and pins are intents in the decision, carried out by the writer."""
    if isinstance(outcome, GatewayError):
        logger.info("Lookup of %s: %s", generation, outcome, extra=log_context(generation))
    record_prices = prices.prices_for(generation, outcome) if isinstance(outcome, GatewayGenerationRecord) else Prices()
    return rules.decide(
        ours=OurGeneration.of(generation),
        gateway=GatewayFacts.of(generation.gateway),
        outcome=outcome,
        prices=record_prices,
        now=now,
    )


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
        late = at_risk.filter(next_attempt_at__gt=F("created_at") + retention)
        expedited = generations_expedite(generations=late, now=now)
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
