"""Daily spend roll-ups: each generation's contribution to its (key, UTC day, model) bucket.

Callers apply a change in the same transaction as the change to the generations themselves:
ingest adds new generations, reconciliation moves one from one state (and charged cost) to
another. Increments are applied with one upsert per bucket, in a fixed order so that
concurrent transactions lock buckets in the same order and cannot deadlock.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from django.db import connection

from generations.models import SPEND_FIELDS, DailySpend, Generation, GenerationState

Bucket = tuple[int, date, str, int]  # api_key_id, day, model, team_id


@dataclass(frozen=True)
class SpendFacts:
    """The part of a generation that its roll-up bucket depends on."""

    api_key_id: int
    team_id: int
    created_at: datetime
    model: str
    state: str
    cost: Decimal
    charged_cost: Decimal | None
    tokens_prompt: int
    tokens_completion: int
    tokens_cached: int
    tokens_reasoning: int

    @classmethod
    def of(cls, generation: Generation) -> "SpendFacts":
        return cls(
            api_key_id=generation.api_key_id,
            team_id=generation.team_id,
            created_at=generation.created_at,
            model=generation.model,
            state=generation.state,
            cost=generation.cost,
            charged_cost=generation.charged_cost,
            tokens_prompt=generation.tokens_prompt,
            tokens_completion=generation.tokens_completion,
            tokens_cached=generation.tokens_cached,
            tokens_reasoning=generation.tokens_reasoning,
        )

    @classmethod
    def of_new(cls, record) -> "SpendFacts":
        """A generation being recorded now (an ingest record): pending, nothing charged yet."""
        return cls(
            api_key_id=record.api_key_id,
            team_id=record.team_id,
            created_at=record.created_at,
            model=record.model,
            state=GenerationState.PENDING,
            cost=record.cost,
            charged_cost=None,
            tokens_prompt=record.tokens_prompt,
            tokens_completion=record.tokens_completion,
            tokens_cached=record.tokens_cached,
            tokens_reasoning=record.tokens_reasoning,
        )

    @property
    def bucket(self) -> Bucket:
        day = self.created_at.astimezone(timezone.utc).date()
        return (self.api_key_id, day, self.model, self.team_id)

    def contribution(self) -> dict[str, int | Decimal]:
        charged = self.charged_cost if self.charged_cost is not None else Decimal(0)
        verified = self.state == GenerationState.VERIFIED
        values: dict[str, int | Decimal] = dict.fromkeys(SPEND_FIELDS, 0)
        values.update(
            generations=1,
            tokens_prompt=self.tokens_prompt,
            tokens_completion=self.tokens_completion,
            tokens_cached=self.tokens_cached,
            tokens_reasoning=self.tokens_reasoning,
            recorded_cost=self.cost,
            charged_cost=charged,
            verified_recorded_cost=self.cost if verified else Decimal(0),
            verified_charged_cost=charged if verified else Decimal(0),
        )
        values[self.state] = 1
        return values


def rollup_generations_added(generations: Iterable[Generation | SpendFacts]) -> None:
    """Add newly stored generations to their buckets."""
    deltas: dict[Bucket, dict[str, int | Decimal]] = defaultdict(lambda: dict.fromkeys(SPEND_FIELDS, 0))
    for generation in generations:
        facts = generation if isinstance(generation, SpendFacts) else SpendFacts.of(generation)
        _add(deltas[facts.bucket], facts.contribution(), sign=1)
    _apply(deltas)


def rollup_generations_changed(changes: Iterable[tuple[SpendFacts, SpendFacts]]) -> None:
    """Move generations from what they were (before) to what they are now (after)."""
    deltas: dict[Bucket, dict[str, int | Decimal]] = defaultdict(lambda: dict.fromkeys(SPEND_FIELDS, 0))
    for before, after in changes:
        if before == after:
            continue
        _add(deltas[before.bucket], before.contribution(), sign=-1)
        _add(deltas[after.bucket], after.contribution(), sign=1)
    _apply(deltas)


def _add(total: dict[str, int | Decimal], values: dict[str, int | Decimal], sign: int) -> None:
    for column, value in values.items():
        total[column] += sign * value


def _apply(deltas: dict[Bucket, dict[str, int | Decimal]]) -> None:
    rows = [(bucket, values) for bucket, values in sorted(deltas.items()) if any(values.values())]
    if not rows:
        return
    table = DailySpend._meta.db_table
    columns = ("api_key_id", "day", "model", "team_id", *SPEND_FIELDS)
    row_placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{column} = {table}.{column} + EXCLUDED.{column}" for column in SPEND_FIELDS)
    # Bounded statements: SQLite allows at most 32766 parameters in one.
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        params: list = []
        for bucket, values in chunk:
            params.extend(bucket)
            params.extend(values[column] for column in SPEND_FIELDS)
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            + ", ".join([row_placeholder] * len(chunk))
            + f" ON CONFLICT (api_key_id, day, model) DO UPDATE SET {updates}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
