"""Writing a reconciled batch: what was decided for each generation (settle, retry, release),
applied in one transaction with a few statements for the whole batch.

Every write is safe to repeat: the batch's rows are locked, and only those still pending under
the claim's lease are changed, so a batch run twice, or two workers racing on one generation,
change it once. GatewayRecord is one per generation (upsert), discrepancies one per
(generation, kind), and roll-ups move only for the rows whose state actually changed.
"""

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from billing.discrepancies import discrepancy_change_status
from billing.models import OPEN_STATUSES, Discrepancy, DiscrepancyEvent, DiscrepancyStatus
from billing.reconciliation.facts import Finding
from billing.reconciliation.scheduling import next_attempt_after_failure
from generations.gateways.base import GatewayGenerationRecord
from generations.models import GatewayRecord, Generation, GenerationState
from generations.rollups import SpendFacts, rollup_generations_changed

logger = logging.getLogger(__name__)

GONE_NOTE = "No longer found on re-check."
FOUND_AGAIN_NOTE = "Found again on re-check."
FOUND_NOTE = "Found by reconciliation."
# What a batch did with each generation (counted in the result of decisions_apply), besides its new state.
RETRIED = "retried"
RELEASED = "released"
SKIPPED = "skipped"
# Generation.attempts is a PositiveSmallIntegerField.
MAX_ATTEMPTS = 32767
GENERATION_FIELDS = ["state", "charged_cost", "attempts", "next_attempt_at", "reconciled_at"]
DISCREPANCY_FINDING_FIELDS = ["severity", "expected", "actual", "delta", "detail", "updated_at"]


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
            retry = [(generation, Retry(when=retry_backoff(generation, now=now)))]
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
        if isinstance(decision, Settle):
            before = SpendFacts.of(generation)
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
                created.append(
                    Discrepancy(
                        generation_id=generation.pk,
                        api_key_id=generation.api_key_id,
                        team_id=generation.team_id,
                        kind=finding.kind,
                        created_at=now,
                        **values,
                    )
                )
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
            if kind not in found and discrepancy.status in OPEN_STATUSES:
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


def retry_backoff(generation: Generation, *, now: datetime | None = None, retry_after: float | None = None) -> datetime:
    """When to look a generation up again after this failed attempt."""
    return next_attempt_after_failure(now=now or timezone.now(), attempts=generation.attempts + 1, retry_after=retry_after)
