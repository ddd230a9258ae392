"""Writing a reconciled batch: what was decided for each generation (settle, retry, release),
applied in one transaction with a few statements for the whole batch.

Every write is safe to repeat: the batch's rows are locked, and only those still pending under
the claim's lease are changed, so a batch run twice, or two workers racing on one generation,
change it once. GatewayRecord is one per generation (upsert), discrepancies one per
(generation, kind), and roll-ups move only for the rows whose state actually changed.
"""

import logging
from collections import Counter, defaultdict
from datetime import datetime

from django.core.mail import mail_admins
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import ApiKey, Gateway
from billing.alerts.pauses import api_key_paused_alert, gateway_paused_alert
from billing.discrepancies import discrepancy_change_status, finding_values
from billing.models import OPEN_STATUSES, Discrepancy, DiscrepancyEvent, DiscrepancyStatus
from billing.reconciliation.facts import (
    Decision,
    Intent,
    PauseGateway,
    PauseKey,
    PinKeyHash,
    Release,
    Retry,
    Settle,
)
from generations.models import GatewayRecord, Generation, GenerationState, made_range
from generations.scheduling import next_attempt_after_failure
from generations.services import MAX_ATTEMPTS, Transition, generations_transition

logger = logging.getLogger(__name__)

GONE_NOTE = "No longer found on re-check."
FOUND_AGAIN_NOTE = "Found again on re-check."
FOUND_NOTE = "Found by reconciliation."
# What a batch did with each generation (counted in the result of decisions_apply), besides its new state.
RETRIED = "retried"
RELEASED = "released"
SKIPPED = "skipped"
DISCREPANCY_FINDING_FIELDS = ["severity", "expected", "actual", "delta", "detail", "updated_at"]

__all__ = [
    "Decision",
    "Release",
    "Retry",
    "Settle",
    "api_key_pause",
    "decisions_apply",
    "discrepancies_upsert",
    "gateway_pause",
    "gateway_records_upsert",
    "retry_backoff",
]


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
    workers lock in the same order), then write records, discrepancies, the generations'
    transitions (generations/services.py, roll-ups included) and the decisions' intents."""
    decided = {generation.pk: (generation, decision) for generation, decision in decisions}
    # Only the ids: a row still pending under this lease is as the batch loaded it (nobody else
    # writes a leased generation), so the loaded instances are written, with their key and gateway.
    locked = (
        Generation.objects.made_between(*made_range(generation.created_at for generation, _ in decisions))
        .select_for_update()
        .filter(pk__in=list(decided), state=GenerationState.PENDING, next_attempt_at=leased_until)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    done: Counter = Counter()
    changes: list[tuple[Generation, Transition]] = []
    settled: list[tuple[Generation, Settle]] = []
    intents: list[tuple[Generation, Intent]] = []
    for pk in locked:
        generation, decision = decided[pk]
        if isinstance(decision, Retry) and generation.attempts >= MAX_ATTEMPTS:
            continue
        if isinstance(decision, Settle):
            transition = Transition.settled(
                state=decision.state, charged_cost=decision.charged_cost, recheck_at=decision.recheck_at
            )
            settled.append((generation, decision))
            done[decision.state] += 1
        elif isinstance(decision, Retry):
            transition = Transition.retried(when=decision.when)
            done[RETRIED] += 1
        else:
            transition = Transition.released(now=now)
            done[RELEASED] += 1
        changes.append((generation, transition))
        intents.extend((generation, intent) for intent in decision.intents)
    if len(decisions) > len(changes):
        done[SKIPPED] += len(decisions) - len(changes)
    records = [
        GatewayRecord(generation_id=generation.pk, created_at=generation.created_at, **_record_fields(decision, now))
        for generation, decision in settled
        if decision.record is not None or decision.raw_body is not None
    ]
    gateway_records_upsert(records)
    discrepancies_upsert(settled=settled, now=now)
    generations_transition(changes=changes, now=now)
    for generation, intent in intents:
        _carry_out(intent, generation=generation, now=now)
    return done


def _carry_out(intent: Intent, *, generation: Generation, now: datetime) -> None:
    if isinstance(intent, PauseGateway):
        gateway_pause(gateway=generation.gateway, reason=intent.reason, now=now)
    elif isinstance(intent, PauseKey):
        api_key_pause(api_key=generation.api_key, reason=intent.reason, now=now)
    elif isinstance(intent, PinKeyHash):
        # Only the first hash reported is pinned; an operator's or an earlier one stays.
        ApiKey.objects.filter(pk=generation.api_key_id, gateway_key_hash="").update(
            gateway_key_hash=intent.key_hash[:200]
        )


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


def _tell_admins(subject: str, message: str, context: dict[str, str] | None = None) -> None:
    logger.error("%s. Clear the pause in the admin once it is fixed.", message, extra=context or {})
    mail_admins(subject, message + "\n\nClear the pause in the admin once it is fixed.", fail_silently=True)


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
            values = finding_values(finding, now=now)
            discrepancy = known.get(finding.kind)
            if discrepancy is None:
                created.append(
                    Discrepancy(
                        generation_id=generation.pk,
                        api_key_id=generation.api_key_id,
                        team_id=generation.team_id,
                        generation_created_at=generation.created_at,
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


def _record_fields(decision: Settle, now: datetime) -> dict:
    record = decision.record
    if record is None:  # an answer that could not be read: its body, for audit
        return {"fetched_at": now, "raw": decision.raw_body or ""}
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


# A gateway record's key: its generation and, on PostgreSQL, the month it is partitioned by.
KEY_FIELDS = ["generation", "created_at"]
# Every other field: what a second lookup of a generation overwrites.
RECORD_FIELDS = [field.name for field in GatewayRecord._meta.concrete_fields if field.name not in KEY_FIELDS]


def gateway_records_upsert(records: list[GatewayRecord]) -> None:
    """Write each generation's gateway record, replacing the one an earlier lookup left. On
    PostgreSQL one INSERT ... ON CONFLICT statement, sent for every record in one executemany:
    bulk_create's UNNEST arrays make psycopg escape every raw body once more as an array element,
    and one VALUES list for the batch is a new statement to parse for every batch size."""
    if not records:
        return
    if connection.vendor != "postgresql":
        GatewayRecord.objects.bulk_create(
            records, update_conflicts=True, unique_fields=KEY_FIELDS, update_fields=RECORD_FIELDS
        )
        return
    fields = [GatewayRecord._meta.get_field(name) for name in (*KEY_FIELDS, *RECORD_FIELDS)]
    columns = ", ".join(field.column for field in fields)
    key = ", ".join(field.column for field in fields[: len(KEY_FIELDS)])
    updates = ", ".join(f"{field.column} = EXCLUDED.{field.column}" for field in fields[len(KEY_FIELDS) :])
    sql = (
        f"INSERT INTO {GatewayRecord._meta.db_table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )
    # The values as they are: psycopg adapts Decimal, datetime, int, bool and str exactly, and
    # every one of these fields' preparation would return them unchanged.
    attnames = [field.attname for field in fields]
    rows = [[getattr(record, attname) for attname in attnames] for record in records]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def retry_backoff(generation: Generation, *, now: datetime | None = None, retry_after: float | None = None) -> datetime:
    """When to look a generation up again after this failed attempt."""
    return next_attempt_after_failure(now=now or timezone.now(), attempts=generation.attempts + 1, retry_after=retry_after)
