"""Prompt alert when a team's share of disputed generations in the last hour passes its threshold."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Team
from billing.alerts.models import Alert, AlertKind
from billing.alerts.raising import Audience, alert_raise
from billing.alerts.recipients import team_admin_emails
from generations.models import Generation, GenerationState

WINDOW = timedelta(hours=1)


def dispute_rate_alerts_check(*, team_ids: Iterable[int], now: datetime | None = None) -> list[Alert]:
    """For each team, the generations settled (verified or disputed) in the last hour: if at
    least TALLY_DISPUTE_RATE_MIN_GENERATIONS and the disputed share reaches the team's threshold
    (or TALLY_DISPUTE_RATE_THRESHOLD), alert its admins. Once per clock hour per team."""
    now = now or timezone.now()
    default = Decimal(settings.TALLY_DISPUTE_RATE_THRESHOLD)
    raised = []
    for team in Team.objects.filter(pk__in=set(team_ids)):
        threshold = team.dispute_rate_threshold if team.dispute_rate_threshold is not None else default
        counts = Generation.objects.filter(
            team=team,
            created_at__gte=now - timedelta(days=31),  # the (team, created_at) index bounds the scan
            reconciled_at__gte=now - WINDOW,
            state__in=(GenerationState.VERIFIED, GenerationState.DISPUTED),
        ).aggregate(settled=Count("id"), disputed=Count("id", filter=Q(state=GenerationState.DISPUTED)))
        settled, disputed = counts["settled"], counts["disputed"]
        if settled < settings.TALLY_DISPUTE_RATE_MIN_GENERATIONS or Decimal(disputed) < threshold * settled:
            continue
        share = (Decimal(disputed) / settled * 100).quantize(Decimal("0.1"))
        link = settings.TALLY_BASE_URL + reverse("spend:team", args=[team.slug])
        alert = alert_raise(
            kind=AlertKind.DISPUTE_RATE,
            scope=f"team:{team.pk}",
            window=f"{now:%Y-%m-%dT%H}",
            subject=f"Team {team.name}: {share}% of the last hour's generations disputed",
            message=f"{disputed} of the {settled} generations of team {team.name} settled in the last hour were "
            f"disputed ({share}%; the alert threshold is {(threshold * 100).normalize()}%).\n\n{link}",
            audience=Audience(emails=team_admin_emails(team), webhook_team=team),
            team=team,
        )
        if alert:
            raised.append(alert)
    return raised
