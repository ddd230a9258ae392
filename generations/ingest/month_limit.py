"""Refusing a request that would make a team's month cost more than Tally's sums can hold
(the bound and why: lib/bounds.py)."""

from datetime import date

from django.db.models import Q, Sum
from django.db.models.functions import TruncMonth

from accounts.models import Team
from generations.ingest.records import IngestRejected, RecordError, ValidRecord
from generations.models import DailySpend
from lib.bounds import team_month_cost_limit


def refuse_months_over_limit(created: list[ValidRecord]) -> None:
    """IngestRejected (rolling the request back) when a team's month, with what this request
    adds, costs more than team_month_cost_limit(). Called inside the ingest transaction, after the
    new generations are in the roll-ups, so what it reads includes them."""
    team_months = {(record.team_id, record.created_at.date().replace(day=1)) for record in created}
    over = _team_months_over_limit(team_months)
    if not over:
        return
    slugs = dict(Team.objects.filter(pk__in={team_id for team_id, _, _ in over}).values_list("pk", "slug"))
    limit = team_month_cost_limit()
    raise IngestRejected(
        [
            RecordError(
                None,
                "cost",
                f"team {slugs[team_id]!r} would have {recorded:f} USD of generations in {month:%Y-%m}, more than "
                f"the {limit} USD a team's month may hold; nothing was written. Check that costs are in USD, "
                "or ask finance to spread this spend over more teams.",
            )
            for team_id, month, recorded in over
        ]
    )


def _team_months_over_limit(team_months: set[tuple[int, date]]) -> list[tuple[int, date, object]]:
    if not team_months:
        return []
    limit = team_month_cost_limit()
    condition = Q(pk__in=[])
    for team_id, month in team_months:
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        condition |= Q(team_id=team_id, day__gte=month, day__lt=following)
    rows = (
        DailySpend.objects.filter(condition)
        .annotate(month=TruncMonth("day"))
        .values("team_id", "month")
        .order_by("team_id", "month")
        .annotate(recorded=Sum("recorded_cost"))
    )
    return [(row["team_id"], row["month"], row["recorded"]) for row in rows if row["recorded"] > limit]
