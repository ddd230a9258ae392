"""The daily digest of new findings: to finance (all teams) and to each opted-in team's admins
(their team only), ordered by the money at stake, with links."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from accounts.models import Team
from billing.alerts.models import Alert, AlertKind
from billing.alerts.raising import Audience, alert_raise
from billing.alerts.recipients import finance_emails, team_admin_emails
from billing.models import Discrepancy, DiscrepancyKind, Severity

# Findings whose delta is an amount of money; for the others the whole generation's cost is at stake.
MONEY_KINDS = {
    DiscrepancyKind.COST_MISMATCH,
    DiscrepancyKind.PRICE_MISMATCH,
    DiscrepancyKind.BYOK_FEE_UNEXPECTED,
    DiscrepancyKind.UPSTREAM_INCONSISTENT,
}
LISTED = 50


@dataclass(frozen=True)
class DigestLine:
    discrepancy: Discrepancy
    at_stake: Decimal
    link: str


def money_at_stake(discrepancy: Discrepancy) -> Decimal:
    """What a finding puts in doubt: the amount it differs by, or else the generation's cost."""
    if discrepancy.kind in MONEY_KINDS and discrepancy.delta is not None:
        return abs(discrepancy.delta)
    return discrepancy.generation.cost


def digest_lines(*, day: date, team: Team | None = None, for_finance: bool) -> list[DigestLine]:
    """The warning- and error-level findings first filed on `day` (UTC), of one team or all,
    largest money at stake first. Finance links go to the admin, team links to the spend pages."""
    start = datetime.combine(day, time.min, tzinfo=dt_timezone.utc)
    findings = Discrepancy.objects.filter(
        created_at__gte=start,
        created_at__lt=start + timedelta(days=1),
        severity__in=(Severity.WARNING, Severity.ERROR),
        generation__isnull=False,
    ).select_related("generation", "api_key", "team")
    if team is not None:
        findings = findings.filter(team=team)
    lines = []
    for discrepancy in findings:
        if for_finance:
            path = reverse("admin:billing_discrepancy_change", args=[discrepancy.pk])
        else:
            path = reverse("spend:generation", args=[discrepancy.api_key.slug, discrepancy.generation_id])
        lines.append(DigestLine(discrepancy, money_at_stake(discrepancy), settings.TALLY_BASE_URL + path))
    return sorted(lines, key=lambda line: (-line.at_stake, line.discrepancy.pk))


def digests_send(*, day: date) -> list[Alert]:
    """Raise the day's digests: one to finance, one to each opted-in team with findings. Once per
    recipient group and day."""
    raised = []
    lines = digest_lines(day=day, for_finance=True)
    if lines:
        raised.append(
            alert_raise(
                kind=AlertKind.DIGEST,
                scope="finance",
                window=day.isoformat(),
                subject=f"Tally: {len(lines)} new findings on {day:%d %B %Y}",
                message=_message(lines, day=day, with_team=True),
                audience=Audience(emails=finance_emails()),
            )
        )
    for team in Team.objects.filter(digest_opt_in=True):
        lines = digest_lines(day=day, team=team, for_finance=False)
        if lines:
            raised.append(
                alert_raise(
                    kind=AlertKind.DIGEST,
                    scope=f"team:{team.pk}",
                    window=day.isoformat(),
                    subject=f"Tally: {len(lines)} new findings for {team.name} on {day:%d %B %Y}",
                    message=_message(lines, day=day, with_team=False),
                    audience=Audience(emails=team_admin_emails(team)),
                    team=team,
                )
            )
    return [alert for alert in raised if alert]


def _message(lines: list[DigestLine], *, day: date, with_team: bool) -> str:
    total = sum((line.at_stake for line in lines), Decimal(0))
    text = [f"{len(lines)} new findings on {day:%d %B %Y}, {total.quantize(Decimal('0.000001'))} USD at stake.", ""]
    for line in lines[:LISTED]:
        finding = line.discrepancy
        owner = f"{finding.team.name} / {finding.api_key.name}" if with_team else finding.api_key.name
        text.append(
            f"- {line.at_stake.quantize(Decimal('0.000001'))} USD  {finding.get_kind_display()} ({finding.severity}) "
            f"on {finding.generation.external_id}, {owner}\n  {line.link}"
        )
    if len(lines) > LISTED:
        text.append(f"... and {len(lines) - LISTED} more.")
    return "\n".join(text)
