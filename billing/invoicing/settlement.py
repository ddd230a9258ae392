"""Whether a team's period is settled: every generation verified, or its findings decided."""

from datetime import date

from django.db.models import Exists, OuterRef, Q

from accounts.models import Team
from billing.invoicing.periods import period_bounds
from billing.models import SETTLED_STATUSES, Discrepancy, Severity
from generations.models import Generation, GenerationState


def unsettled_generations(*, team: Team, period: date):
    """Generations of the team in the period that are still pending, or not verified with an
    error-level discrepancy that is neither resolved nor written off.

    Only unverified rows are read, through the generation_team_unverified partial index.
    """
    start, end = period_bounds(period)
    open_error = Discrepancy.objects.filter(generation=OuterRef("pk"), severity=Severity.ERROR).exclude(
        status__in=SETTLED_STATUSES
    )
    return (
        Generation.objects.filter(team=team, created_at__gte=start, created_at__lt=end)
        .exclude(state=GenerationState.VERIFIED)
        .filter(Q(state=GenerationState.PENDING) | Exists(open_error))
    )
