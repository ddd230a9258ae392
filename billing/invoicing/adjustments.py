"""Adjustment lines: decisions on disputed generations, carried to exactly one invoice.

A generation that is not verified is billed provisionally at its recorded cost. When finance
settles it (every error-level discrepancy of the generation resolved or written off), the
decision fixes what the team owes for it:

- resolved ("accept the gateway's figure"): the team owes what the gateway charged (nothing if
  the gateway has no record of it), so the adjustment is charged cost - recorded cost;
- written off (if any of its error discrepancies is): the organisation absorbs the generation,
  so the adjustment is - recorded cost.

An adjustment only ever reverses or tops up what an invoice really bills, so it lands where the
generation's recorded cost is billed:
- while the invoice of the generation's month is a draft, on that draft (beside the usage line
  that bills it);
- once that invoice is finalized, on the team's next draft (the earliest draft of a later month),
  which is also where any of the month's usage the finalized invoice missed is billed as late
  usage (billing/invoicing/late_usage.py), so the generation has been billed there or before;
- a generation of a month that has no invoice at all is not billed yet: no adjustment until its
  month is drafted.
A finalized invoice is never edited. The line points at the generation's last-settled error
discrepancy (a one-to-one), so a decision is carried once. Decisions that change nothing
(resolved at the recorded figure) make no line. Verified generations are billed at the charged
cost already and never get adjustments. Drafting keeps a draft's total from going negative by
holding back credits (billing/invoicing/drafting.py); a held-back credit waits for a later draft.

Limitation: an adjustment already carried by an invoice that is later voided is not carried again.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Q

from billing.invoicing.late_usage import carried_periods
from billing.invoicing.periods import period_bounds, period_of
from billing.models import SETTLED_STATUSES, Discrepancy, DiscrepancyKind, DiscrepancyStatus, Invoice, Severity
from generations.models import GenerationState


class SettledFinding(NamedTuple):
    """An error finding on an unverified generation, with what deciding and describing its
    adjustment reads of the generation: a month's findings are thousands, read as plain rows."""

    id: int
    kind: str
    status: str
    carried_by_invoice_id: int | None  # the invoice whose adjustment line points at it, if any
    generation_id: int
    team_id: int
    api_key_id: int
    model: str
    created_at: datetime
    external_id: str
    cost: Decimal
    charged_cost: Decimal | None


_READ_FIELDS = (
    "id", "kind", "status", "adjustment_line__invoice_id", "generation_id", "generation__team_id",
    "generation__api_key_id", "generation__model", "generation__created_at", "generation__external_id",
    "generation__cost", "generation__charged_cost",
)  # fmt: skip


@dataclass(frozen=True)
class Adjustment:
    """One adjustment line to be: the finding it carries, the key and model it is about."""

    discrepancy_id: int
    api_key_id: int
    model: str
    amount_exact: Decimal
    description: str


def adjustment_amount(*, decisions: list[SettledFinding]) -> Decimal:
    """What a settled, unverified generation's decisions change on the bill (see module docstring)."""
    generation = decisions[0]
    if any(decision.status == DiscrepancyStatus.WRITTEN_OFF for decision in decisions):
        return -generation.cost
    charged = generation.charged_cost if generation.charged_cost is not None else Decimal(0)
    return charged - generation.cost


def adjustments_for_draft(*, invoice: Invoice) -> list[Adjustment]:
    """The adjustments a draft invoice carries: settled decisions on the team's unverified
    generations billed on it or on the finalized invoices it is the next draft of."""
    return adjustments_for_drafts(invoices=[invoice])[invoice.pk]


def adjustments_for_drafts(
    *, invoices: list[Invoice], carried: dict[int, set[date]] | None = None
) -> dict[int, list[Adjustment]]:
    """adjustments_for_draft for several drafts at once (closing a month), by invoice id, in a
    few queries whatever the number of teams. `carried` is late_usage.carried_periods of them."""
    result: dict[int, list[Adjustment]] = {invoice.pk: [] for invoice in invoices}
    if not invoices:
        return result
    if carried is None:
        carried = carried_periods(invoices=invoices)
    # Per team: the months whose decisions each draft carries (its own and the finalized months
    # it is the next draft of).
    carrier: dict[tuple[int, date], Invoice] = {}
    for invoice in invoices:
        carrier[(invoice.team_id, invoice.period)] = invoice
        for period in carried[invoice.pk]:
            carrier[(invoice.team_id, period)] = invoice
    # Only findings on generations of the carried months can be carried: read no other month's
    # (index discrepancy_team_status_key, then each finding's own generation_created_at), never
    # the teams' generations, of which a month is millions of rows.
    months = [period_bounds(period) for period in {period for _, period in carrier}]
    made_in_carried_months = Q()
    for start, end in months:
        made_in_carried_months |= Q(generation_created_at__gte=start, generation_created_at__lt=end)
    settled_generation_ids = Discrepancy.objects.filter(
        made_in_carried_months,
        team_id__in={invoice.team_id for invoice in invoices},
        status__in=SETTLED_STATUSES,
        severity=Severity.ERROR,
    ).values("generation_id")
    candidates = (
        Discrepancy.objects.filter(
            generation_id__in=settled_generation_ids,
            # The same months again, on the generations' side: only their partitions are read.
            generation__created_at__gte=min(start for start, _ in months),
            generation__created_at__lt=max(end for _, end in months),
            severity=Severity.ERROR,
        )
        .exclude(generation__state=GenerationState.VERIFIED)
        .order_by("generation_id", "status_changed_at", "id")
        .values_list(*_READ_FIELDS)
    )
    by_generation: dict[int, list[SettledFinding]] = {}
    for row in candidates:
        finding = SettledFinding._make(row)
        by_generation.setdefault(finding.generation_id, []).append(finding)

    for decisions in by_generation.values():
        generation = decisions[0]
        own_period = period_of(generation.created_at.astimezone(UTC).date())
        invoice = carrier.get((generation.team_id, own_period))
        if invoice is None:
            continue  # billed by another draft, or not billed yet
        settled = all(decision.status in SETTLED_STATUSES for decision in decisions)
        carried_elsewhere = any(
            decision.carried_by_invoice_id not in (None, invoice.pk) for decision in decisions
        )
        if not settled or carried_elsewhere:
            continue
        amount = adjustment_amount(decisions=decisions)
        if not amount:
            continue
        carrier_decision = decisions[-1]
        result[invoice.pk].append(
            Adjustment(
                discrepancy_id=carrier_decision.id,
                api_key_id=generation.api_key_id,
                model=generation.model,
                amount_exact=amount,
                description=_describe(carrier_decision, own_period),
            )
        )
    return result


def _describe(finding: SettledFinding, period: date) -> str:
    verb = "Written off" if finding.status == DiscrepancyStatus.WRITTEN_OFF else "Resolved"
    kind = DiscrepancyKind(finding.kind).label
    return f"{verb}: generation {finding.external_id} of {period:%Y-%m} ({kind})"
