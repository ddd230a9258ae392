"""Adjustment lines: decisions on disputed generations, carried to exactly one invoice.

A generation that is not verified is billed provisionally at its recorded cost. When finance
settles it (every error-level discrepancy of the generation resolved or written off), the
decision fixes what the team owes for it:

- resolved ("accept the gateway's figure"): the team owes what the gateway charged (nothing if
  the gateway has no record of it), so the adjustment is charged cost - recorded cost;
- written off (if any of its error discrepancies is): the organisation absorbs the generation,
  so the adjustment is - recorded cost.

The adjustment becomes one line on the team's invoice for the generation's own period while
that invoice is a draft, otherwise on the team's next draft invoice: a finalized invoice is never
edited. The line points at the generation's last-settled error discrepancy (a one-to-one), so a
decision is carried once. Decisions that change nothing (resolved at the recorded figure) make no
line. Verified generations are billed at the charged cost already and never get adjustments.

Limitation: an adjustment already carried by an invoice that is later voided is not carried again.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal

from billing.invoicing.periods import period_bounds, period_of
from billing.models import (
    SETTLED_STATUSES,
    Discrepancy,
    DiscrepancyStatus,
    Invoice,
    InvoiceStatus,
    Severity,
)
from generations.models import Generation, GenerationState


@dataclass(frozen=True)
class Adjustment:
    discrepancy: Discrepancy
    amount_exact: Decimal
    description: str


def adjustment_amount(*, generation: Generation, decisions: list[Discrepancy]) -> Decimal:
    """What a settled, unverified generation's decisions change on the bill (see module docstring)."""
    if any(decision.status == DiscrepancyStatus.WRITTEN_OFF for decision in decisions):
        return -generation.cost
    charged = generation.charged_cost if generation.charged_cost is not None else Decimal(0)
    return charged - generation.cost


def adjustments_for_draft(*, invoice: Invoice) -> list[Adjustment]:
    """The adjustments a draft invoice carries: settled decisions on the team's unverified
    generations of its own period or earlier periods that have no draft of their own."""
    return adjustments_for_drafts(invoices=[invoice])[invoice.pk]


def adjustments_for_drafts(*, invoices: list[Invoice]) -> dict[int, list[Adjustment]]:
    """adjustments_for_draft for several drafts of one period at once (closing a month), by
    invoice id, in two queries whatever the number of teams."""
    result: dict[int, list[Adjustment]] = {invoice.pk: [] for invoice in invoices}
    if not invoices:
        return result
    periods = {invoice.period for invoice in invoices}
    if len(periods) != 1:
        raise ValueError("adjustments_for_drafts takes drafts of one period.")
    _, end = period_bounds(periods.pop())
    by_team = {invoice.team_id: invoice for invoice in invoices}
    other_draft_periods: dict[int, set[date]] = defaultdict(set)
    for team_id, invoice_id, period in Invoice.objects.filter(
        team_id__in=by_team, status=InvoiceStatus.DRAFT
    ).values_list("team_id", "pk", "period"):
        if invoice_id != by_team[team_id].pk:
            other_draft_periods[team_id].add(period)
    # Start from the teams' settled error findings (index discrepancy_team_status_key), never
    # from the teams' generations: a month of those is millions of rows.
    settled_generation_ids = Discrepancy.objects.filter(
        team_id__in=by_team, status__in=SETTLED_STATUSES, severity=Severity.ERROR
    ).values("generation_id")
    candidates = (
        Discrepancy.objects.filter(
            generation_id__in=settled_generation_ids,
            generation__created_at__lt=end,
            severity=Severity.ERROR,
        )
        .exclude(generation__state=GenerationState.VERIFIED)
        .select_related("generation", "generation__api_key", "adjustment_line")
        .order_by("generation_id", "status_changed_at", "id")
    )
    by_generation: dict[int, list[Discrepancy]] = {}
    for discrepancy in candidates:
        by_generation.setdefault(discrepancy.generation_id, []).append(discrepancy)

    for decisions in by_generation.values():
        generation = decisions[0].generation
        invoice = by_team[generation.team_id]
        settled = all(decision.status in SETTLED_STATUSES for decision in decisions)
        carried_elsewhere = any(_carried_by_another(decision, invoice) for decision in decisions)
        own_period = period_of(generation.created_at.astimezone(UTC).date())
        if not settled or carried_elsewhere or own_period in other_draft_periods[generation.team_id]:
            continue
        amount = adjustment_amount(generation=generation, decisions=decisions)
        if not amount:
            continue
        carrier = decisions[-1]
        result[invoice.pk].append(
            Adjustment(discrepancy=carrier, amount_exact=amount, description=_describe(carrier, own_period))
        )
    return result


def _carried_by_another(discrepancy: Discrepancy, invoice: Invoice) -> bool:
    line = getattr(discrepancy, "adjustment_line", None)
    return line is not None and line.invoice_id != invoice.pk


def _describe(discrepancy: Discrepancy, period: date) -> str:
    verb = "Written off" if discrepancy.status == DiscrepancyStatus.WRITTEN_OFF else "Resolved"
    generation = discrepancy.generation
    return f"{verb}: generation {generation.external_id} of {period:%Y-%m} ({discrepancy.get_kind_display()})"
