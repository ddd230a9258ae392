"""Demo finance state: last month's invoices drafted and discrepancies in every status.

seed_demo calls `demo_finance_state(by=<finance or admin user>)` once its generations exist, and
again is harmless; discrepancies exist only once reconciliation has run over some generations.
"""

from django.utils import timezone

from billing.discrepancies import discrepancy_change_status
from billing.invoicing.drafting import invoices_draft_period
from billing.invoicing.periods import period_previous
from billing.models import Discrepancy, DiscrepancyStatus, Invoice

DEMO_DECISIONS = [
    (DiscrepancyStatus.ACKNOWLEDGED, "Looking into it with the gateway's support."),
    (DiscrepancyStatus.RESOLVED, "Gateway's figure confirmed against its monthly statement."),
    (DiscrepancyStatus.WRITTEN_OFF, "Below the threshold worth disputing."),
]
PER_STATUS = 3


def demo_finance_state(*, by) -> list[Invoice]:
    """Move a few open discrepancies to each other status (with reasons), then draft every team's
    invoice for last month, so the admin shows a realistic finance workload."""
    open_ones = list(Discrepancy.objects.filter(status=DiscrepancyStatus.OPEN).order_by("id")[: PER_STATUS * 4])
    for index, discrepancy in enumerate(open_ones[PER_STATUS:]):
        to_status, reason = DEMO_DECISIONS[(index // PER_STATUS) % len(DEMO_DECISIONS)]
        discrepancy_change_status(discrepancy=discrepancy, to_status=to_status, by=by, reason=reason)
    return invoices_draft_period(period=period_previous(timezone.now().date()))
