"""Reads of spend, from the daily roll-ups (never from raw generations)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Context, Decimal, localcontext

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import Count, OuterRef, Prefetch, Q, Sum
from django.db.models.functions import Coalesce

from accounts.models import ApiKey, Team
from billing.coverage.selectors import open_unrecorded_spend, open_unrecorded_spend_by
from billing.models import OPEN_STATUSES, Discrepancy, Severity
from generations.models import SPEND_FIELDS, SPEND_MONEY_FIELDS, DailySpend, Generation, GenerationState
from lib.precision import MONEY_DIGITS

ZERO = Decimal(0)
# Enough digits that a month of daily sums, each of numeric(38, 18) amounts, adds up exactly.
_EXACT_SUMS = Context(prec=MONEY_DIGITS + 4)


@dataclass(frozen=True)
class SpendRow:
    """Spend over some group of generations. `amount` is what an invoice bills: the charged
    cost where verified, the recorded cost where not yet."""

    key: object  # the group: a date, a model name, an ApiKey id...
    generations: int
    tokens_prompt: int
    tokens_completion: int
    tokens_cached: int
    tokens_reasoning: int
    recorded_cost: Decimal
    charged_cost: Decimal
    verified_recorded_cost: Decimal
    verified_charged_cost: Decimal
    pending: int
    verified: int
    disputed: int
    missing: int
    expired: int
    # Open unrecorded_spend findings over the same range: what the gateway billed that no record
    # explains. Not part of `amount` (nothing can be billed without records), but unverified.
    unrecorded_spend: Decimal = ZERO

    @property
    def tokens(self) -> int:
        return self.tokens_prompt + self.tokens_completion

    @property
    def amount(self) -> Decimal:
        return self.verified_charged_cost + (self.recorded_cost - self.verified_recorded_cost)

    @property
    def verified_share(self) -> Decimal | None:
        """Share of the amount that is verified, 0..1, counting unrecorded spend as unverified;
        None when there is nothing to verify."""
        total = self.amount + self.unrecorded_spend
        if not total:
            return None if not self.generations else Decimal(self.verified) / Decimal(self.generations)
        return self.verified_charged_cost / total


def _rows(queryset, group_field: str | None) -> list[SpendRow]:
    if group_field is None:
        aggregates = {name: Coalesce(Sum(name), 0 if name not in SPEND_MONEY_FIELDS else ZERO) for name in SPEND_FIELDS}
        return [SpendRow(key=None, **queryset.aggregate(**aggregates))]
    # A group is never empty, so no sum is NULL.
    rows = queryset.values(group_field).order_by(group_field).annotate(**{name: Sum(name) for name in SPEND_FIELDS})
    return [SpendRow(key=row.pop(group_field), **row) for row in rows]




def _key_range(api_key: ApiKey, start: date, end: date):
    """Roll-ups of one key from start (inclusive) to end (exclusive)."""
    return DailySpend.objects.filter(api_key=api_key, day__gte=start, day__lt=end)


def key_spend_total(*, api_key: ApiKey, start: date, end: date) -> SpendRow:
    row = _rows(_key_range(api_key, start, end), None)[0]
    return replace(row, unrecorded_spend=open_unrecorded_spend(api_key=api_key, start=start, end=end))


def key_spend_by_day(*, api_key: ApiKey, start: date, end: date) -> list[SpendRow]:
    return _rows(_key_range(api_key, start, end), "day")


def spend_rows_total(rows: Sequence[SpendRow], *, unrecorded: Iterable[Decimal] = ()) -> SpendRow:
    """The sum of spend rows (and of the unrecorded spend amounts given) as one row, exactly;
    zeros when there are none. A key's month from its days, without reading the roll-ups again."""
    with localcontext(_EXACT_SUMS):
        sums = {
            name: sum((getattr(row, name) for row in rows), ZERO if name in SPEND_MONEY_FIELDS else 0)
            for name in SPEND_FIELDS
        }
        return SpendRow(key=None, unrecorded_spend=sum(unrecorded, ZERO), **sums)


def key_spend_by_model(*, api_key: ApiKey, start: date, end: date) -> list[SpendRow]:
    return _rows(_key_range(api_key, start, end), "model")


def key_spend_by_day_and_model(*, api_key: ApiKey, start: date, end: date) -> tuple[list[SpendRow], list[SpendRow]]:
    """key_spend_by_day and key_spend_by_model at once. A key's month of roll-ups is a row per
    day and model, scattered over the table: on PostgreSQL they are read once and grouped both
    ways (GROUPING SETS), in half the time of two grouped reads."""
    span = {"api_key": api_key, "start": start, "end": end}
    if connection.vendor != "postgresql":
        return key_spend_by_day(**span), key_spend_by_model(**span)
    quote = connection.ops.quote_name
    column = {field.name: quote(field.column) for field in DailySpend._meta.concrete_fields}
    # sum() of a bigint is numeric; the ORM's reads give ints, and so does this one.
    sums = ", ".join(
        f"sum({column[name]})" + ("" if name in SPEND_MONEY_FIELDS else "::bigint") for name in SPEND_FIELDS
    )
    day, model = column["day"], column["model"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT grouping({day}), {day}, {model}, {sums} FROM {quote(DailySpend._meta.db_table)} "
            f"WHERE {column['api_key']} = %s AND {day} >= %s AND {day} < %s "
            f"GROUP BY GROUPING SETS (({day}), ({model})) ORDER BY 1, 2, 3",
            [api_key.pk, start, end],
        )
        rows = cursor.fetchall()
    by_day, by_model = [], []
    for grouped_by_model, row_day, row_model, *values in rows:
        sums = dict(zip(SPEND_FIELDS, values, strict=True))
        if grouped_by_model:
            by_model.append(SpendRow(key=row_model, **sums))
        else:
            by_day.append(SpendRow(key=row_day, **sums))
    return by_day, by_model


def teams_spend_by_key(*, teams: Sequence[Team], start: date, end: date) -> dict[int, SpendRow]:
    """Spend per key id of the teams over the range, with each key's open unrecorded spend."""
    queryset = DailySpend.objects.filter(team__in=teams, day__gte=start, day__lt=end)
    unrecorded = open_unrecorded_spend_by(teams=teams, start=start, end=end, field="api_key_id")
    rows = {row.key: replace(row, unrecorded_spend=unrecorded.get(row.key, ZERO)) for row in _rows(queryset, "api_key_id")}
    for api_key_id, amount in unrecorded.items():
        rows.setdefault(api_key_id, replace(empty_spend_row(api_key_id), unrecorded_spend=amount))
    return rows


def open_discrepancy_counts_by_key(*, teams: Sequence[Team]) -> dict[int, int]:
    """Open error-level discrepancies per key id of the teams (served by discrepancy_team_status_key)."""
    queryset = Discrepancy.objects.filter(team__in=teams, status__in=OPEN_STATUSES)
    rows = (
        queryset.values("api_key_id")
        .order_by("api_key_id")
        .annotate(count=Count("id", filter=Q(severity="error")))
    )
    return {row["api_key_id"]: row["count"] for row in rows}


def key_open_discrepancy_count(*, api_key: ApiKey, start: datetime, end: datetime) -> int:
    """Open error-level discrepancies of the key's generations made in [start, end), counted in
    the discrepancy_open_error_key index alone (no generation is read)."""
    return Discrepancy.objects.filter(
        api_key=api_key,
        severity=Severity.ERROR,
        status__in=OPEN_STATUSES,
        generation_created_at__gte=start,
        generation_created_at__lt=end,
    ).count()


def spend_total(queryset) -> SpendRow:
    """The spend of a DailySpend queryset as one row (zeros when it is empty)."""
    return _rows(queryset, None)[0]


def teams_spend_total(*, teams: Sequence[Team], start: date, end: date) -> dict[int, SpendRow]:
    """All of each team's spend over the range, one row per team id (an empty one without spend)."""
    queryset = DailySpend.objects.filter(team__in=teams, day__gte=start, day__lt=end)
    totals = {row.key: row for row in _rows(queryset, "team_id")}
    unrecorded = open_unrecorded_spend_by(teams=teams, start=start, end=end, field="team_id")
    return {
        team.pk: replace(totals.get(team.pk) or empty_spend_row(team.pk), unrecorded_spend=unrecorded.get(team.pk, ZERO))
        for team in teams
    }


def team_spend_total(*, team: Team, start: date, end: date) -> SpendRow:
    """All of a team's spend over the range, in one row."""
    return teams_spend_total(teams=[team], start=start, end=end)[team.pk]


# The states a key's generations list can be narrowed to; "missing" includes expired ones.
GENERATION_STATE_FILTERS: dict[str, tuple[str, ...]] = {
    "disputed": (GenerationState.DISPUTED,),
    "missing": (GenerationState.MISSING, GenerationState.EXPIRED),
    "pending": (GenerationState.PENDING,),
}


# What the key page lists of each generation: only these are read (another field would be read
# again per generation).
RECENT_GENERATION_FIELDS = (
    "external_id", "model", "created_at", "tokens_prompt", "tokens_completion", "cost", "charged_cost", "state",
)  # fmt: skip


def key_recent_generations(
    *, api_key: ApiKey, start: datetime, end: datetime, limit: int = 50, state: str = ""
) -> list[Generation]:
    """The key's latest generations in [start, end), newest first, optionally only those in one
    of GENERATION_STATE_FILTERS, each with the kinds of its error-level discrepancies (what makes
    it disputed), sorted, in `error_kinds`.

    Reads raw generations, but only `limit` of them, through the (api_key, created_at) index. On
    PostgreSQL the kinds come in the same query (an array per generation), elsewhere in a second.
    """
    queryset = Generation.objects.filter(api_key=api_key, created_at__gte=start, created_at__lt=end)
    if state:
        queryset = queryset.filter(state__in=GENERATION_STATE_FILTERS[state])
    queryset = queryset.only(*RECENT_GENERATION_FIELDS).order_by("-created_at", "-id")
    errors = Discrepancy.objects.filter(severity=Severity.ERROR).order_by("kind")
    if connection.vendor == "postgresql":
        kinds = ArraySubquery(errors.filter(generation=OuterRef("pk")).values("kind"))
        return list(queryset.annotate(error_kinds=kinds)[:limit])
    generations = list(
        queryset.prefetch_related(
            Prefetch("discrepancies", queryset=errors.only("generation_id", "kind"), to_attr="error_discrepancies")
        )[:limit]
    )
    for generation in generations:
        generation.error_kinds = [discrepancy.kind for discrepancy in generation.error_discrepancies]
    return generations


@dataclass(frozen=True)
class KeySpend:
    """One key of a team with its spend over a range and its open discrepancies."""

    api_key: ApiKey
    spend: SpendRow
    open_discrepancies: int

    @property
    def budget_used(self) -> Decimal | None:
        """The range's amount as a share of the key's monthly budget; None without a budget."""
        budget = self.api_key.monthly_budget
        if not budget:
            return None
        return self.spend.amount / budget


def teams_key_spend(*, teams: Sequence[Team], start: date, end: date) -> dict[int, list[KeySpend]]:
    """Every key of each team (revoked ones too: they may have spent in the range), by name, per
    team id: three queries whatever the number of teams and keys."""
    spend = teams_spend_by_key(teams=teams, start=start, end=end)
    discrepancies = open_discrepancy_counts_by_key(teams=teams)
    by_team: dict[int, list[KeySpend]] = {team.pk: [] for team in teams}
    for api_key in ApiKey.objects.filter(team__in=teams).select_related("gateway").order_by("name", "id"):
        by_team[api_key.team_id].append(
            KeySpend(
                api_key=api_key,
                spend=spend.get(api_key.id) or empty_spend_row(api_key.id),
                open_discrepancies=discrepancies.get(api_key.id, 0),
            )
        )
    return by_team


def team_key_spend(*, team: Team, start: date, end: date) -> list[KeySpend]:
    """Every key of the team, by name (teams_key_spend for one team)."""
    return teams_key_spend(teams=[team], start=start, end=end)[team.pk]


def empty_spend_row(key: object) -> SpendRow:
    return SpendRow(key=key, **{name: ZERO if name in SPEND_MONEY_FIELDS else 0 for name in SPEND_FIELDS})
