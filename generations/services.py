"""A generation's life: the one place that writes its state, charged cost, attempts, next attempt
and reconciliation time, and moves its daily roll-ups with it.

Ingest records new generations (`generations_recorded` adds them to the roll-ups), reconciliation
settles, retries and releases them, the slow re-check and a finance re-check request put them
back in the queue: all through `generations_transition`, in the caller's transaction, on rows
the caller has locked. When a generation is next looked up is decided in generations/scheduling.py.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from generations.models import Generation, GenerationState, made_range
from generations.rollups import SpendFacts, rollup_generations_added, rollup_generations_changed

# Generation.attempts is a PositiveSmallIntegerField.
MAX_ATTEMPTS = 32767
TRANSITION_FIELDS = ["state", "charged_cost", "attempts", "next_attempt_at", "reconciled_at"]
TRANSITION_COLUMN_TYPES = {
    "id": "bigint",
    "state": "varchar",
    "charged_cost": "numeric",
    "attempts": "integer",
    "next_attempt_at": "timestamptz",
    "reconciled_at": "timestamptz",
}


@dataclass(frozen=True)
class Transition:
    """What becomes of one generation. Build one with the class methods, which name the moves."""

    state: str | None  # None: the state stays
    next_attempt_at: datetime | None
    count_attempt: bool = False
    reset_attempts: bool = False
    settle: bool = False  # sets the charged cost and the reconciliation time
    charged_cost: Decimal | None = None

    @classmethod
    def settled(cls, *, state: str, charged_cost: Decimal | None, recheck_at: datetime | None) -> "Transition":
        """Looked up and decided: verified, disputed, missing or expired; re-checked at `recheck_at`."""
        return cls(state=state, next_attempt_at=recheck_at, count_attempt=True, settle=True, charged_cost=charged_cost)

    @classmethod
    def retried(cls, *, when: datetime) -> "Transition":
        """Looked up without an answer to settle on: count the attempt, look again at `when`."""
        return cls(state=None, next_attempt_at=when, count_attempt=True)

    @classmethod
    def released(cls, *, now: datetime) -> "Transition":
        """Not looked up (its gateway or key is paused): due again, no attempt counted."""
        return cls(state=None, next_attempt_at=now)

    @classmethod
    def requeued(cls, *, now: datetime, reset_attempts: bool) -> "Transition":
        """Back to pending, due now: a slow re-check (attempts kept, so a 404 is missing again at
        once) or a re-check finance asked for (attempts reset: a fresh start)."""
        return cls(state=GenerationState.PENDING, next_attempt_at=now, reset_attempts=reset_attempts)

    def apply(self, generation: Generation, *, now: datetime) -> None:
        if self.state is not None:
            generation.state = self.state
        if self.reset_attempts:
            generation.attempts = 0
        elif self.count_attempt:
            generation.attempts = min(generation.attempts + 1, MAX_ATTEMPTS)
        generation.next_attempt_at = self.next_attempt_at
        if self.settle:
            generation.charged_cost = self.charged_cost
            generation.reconciled_at = now


def generations_transition(*, changes: list[tuple[Generation, Transition]], now: datetime | None = None) -> None:
    """Apply each transition to its generation (rows the caller has locked, in its transaction)
    and write them, with their roll-ups, in a few statements."""
    now = now or timezone.now()
    if not changes:
        return
    rollup_changes: list[tuple[SpendFacts, SpendFacts]] = []
    for generation, transition in changes:
        before = SpendFacts.of(generation)
        transition.apply(generation, now=now)
        rollup_changes.append((before, SpendFacts.of(generation)))
    _generations_update([generation for generation, _ in changes])
    rollup_generations_changed(rollup_changes)


def generations_lease(
    *, ids: list[int], now: datetime, leased_until: datetime, made: tuple[datetime | None, datetime | None] = (None, None)
) -> list[int]:
    """Lease due pending generations (rows the caller has locked) to one batch: their next
    attempt becomes the lease's end, which is also the claim's token. Returns, sorted, the ids
    this lease got (those still pending and due). `made`: the first and last of their
    `created_at`, if known (models.made_range), so that only their months are read."""
    leased = Generation.objects.made_between(*made).filter(pk__in=ids)
    leased.filter(state=GenerationState.PENDING, next_attempt_at__lte=now).update(next_attempt_at=leased_until)
    return sorted(leased.filter(next_attempt_at=leased_until).values_list("pk", flat=True))


def generations_expedite(*, generations: "QuerySet[Generation]", now: datetime) -> int:
    """Bring the next lookup of these pending generations forward to now (their gateway's
    retention is near). Returns how many."""
    return generations.filter(state=GenerationState.PENDING).update(next_attempt_at=now)


def generations_recorded(generations: Iterable[Generation | SpendFacts]) -> None:
    """Count newly recorded (pending) generations in their roll-ups; ingest calls it in the
    transaction that inserted them."""
    rollup_generations_added(generations)


def generation_requeue(*, generation_id: int, reset_attempts: bool, now: datetime | None = None) -> Generation:
    """Put one generation back in the lookup queue, due now (a re-check finance asked for)."""
    now = now or timezone.now()
    with transaction.atomic():
        generation = Generation.objects.select_for_update().get(pk=generation_id)
        generations_transition(changes=[(generation, Transition.requeued(now=now, reset_attempts=reset_attempts))], now=now)
    return generation


def generations_requeue_rechecks(*, now: datetime | None = None, limit: int = 5000) -> int:
    """Put missing and unreadable generations whose slow re-check is due back in the lookup
    queue (pending, due now). Returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Generation.objects.recheck_due(now)
            .order_by("next_attempt_at", "pk")
            .select_for_update(skip_locked=True)[:limit]
        )
        transition = Transition.requeued(now=now, reset_attempts=False)
        generations_transition(changes=[(generation, transition) for generation in due], now=now)
    return len(due)


def _generations_update(generations: list[Generation]) -> None:
    """Write TRANSITION_FIELDS of each generation: on PostgreSQL one UPDATE ... FROM unnest(...),
    which costs far less to build than bulk_update's CASE per field and row."""
    if not generations:
        return
    if connection.vendor != "postgresql":
        Generation.objects.bulk_update(generations, fields=TRANSITION_FIELDS)
        return
    table = Generation._meta.db_table
    arrays = ", ".join(f"%s::{TRANSITION_COLUMN_TYPES[field]}[]" for field in ("id", *TRANSITION_FIELDS))
    assignments = ", ".join(f"{field} = batch.{field}" for field in TRANSITION_FIELDS)
    # One array per column: the statement is the same for every batch size, so psycopg converts
    # it once per process rather than a VALUES list of a new length each time.
    params = [
        [generation.pk for generation in generations],
        *([getattr(generation, field) for generation in generations] for field in TRANSITION_FIELDS),
        # Their months only (see GenerationQuerySet.made_between): the range is plain parameters,
        # so the partitions outside it are pruned when the statement is planned.
        *made_range(generation.created_at for generation in generations),
    ]
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest({arrays}) "
        f"AS batch(id, {', '.join(TRANSITION_FIELDS)}) WHERE {table}.id = batch.id "
        f"AND {table}.created_at >= %s AND {table}.created_at <= %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
