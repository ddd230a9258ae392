"""Drafting invoices from the daily spend roll-ups (never from raw generations).

A draft has usage lines for its month, late-usage lines for finalized earlier months whose next
draft it is (billing/invoicing/late_usage.py) and adjustment lines for decisions
(billing/invoicing/adjustments.py). Two rules keep a draft honest:
- no credit makes it negative: credits (adjustments that reverse, true-ups that lower) are taken
  in order while the subtotal stays at or above zero; one that does not fit waits, whole, for a
  later draft;
- the team's markup applies to what is charged (the positive lines), never to a credit.
Every figure is checked against its column before anything is written; a draft that does not fit
fails for its team alone, with the reason kept on the invoice (`draft_error`) for finance.
"""

import logging
from collections.abc import Iterable
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import ApiKey, Team
from billing.invoicing.adjustments import Adjustment, adjustments_for_drafts
from billing.invoicing.bounds import invoice_figures_fit
from billing.invoicing.draft_lines import DraftLine, draft_lines_insert
from billing.invoicing.late_usage import LateUsage, carried_periods, late_usage_for_drafts
from billing.invoicing.periods import period_next, period_of
from billing.invoicing.spend import Billable, billable_by, billable_by_group
from billing.models import USAGE_KINDS, Invoice, InvoiceLine, InvoiceStatus
from billing.money import ZERO_CENTS, money_round, money_sum
from generations.models import DailySpend
from lib.errors import DomainError

logger = logging.getLogger(__name__)
TOTAL_FIELDS = ["subtotal", "markup", "total", "verified_amount", "usage_amount", "drafted_at", "draft_error"]


class InvoiceStateError(DomainError):
    """The invoice is not in a state that allows this action; the message says why."""


class InvoiceTooLargeError(InvoiceStateError):
    """A figure of the draft would not fit its column; the draft was left as it was."""


def invoice_draft(*, team: Team, period: date) -> Invoice:
    """Create or rebuild the team's draft invoice for a month and return it.

    Usage lines come from the roll-ups per (api key, model): the amount is the charged cost of
    verified generations plus the recorded cost of the others (SpendRow.amount). Late-usage and
    adjustment lines as the module docstring says. A finalized invoice for the period is
    returned as it is: it never changes. Raises InvoiceTooLargeError, changing nothing, when a
    figure would not fit.
    """
    period = period_of(period)
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)  # one drafter per team at a time
        invoice = Invoice.objects.exclude(status=InvoiceStatus.VOID).filter(team=team, period=period).first()
        if invoice is not None and invoice.status == InvoiceStatus.FINALIZED:
            return invoice
        if invoice is None:
            invoice = Invoice.objects.create(team=team, period=period)
        usage = _usage(team=team, period=period)
        carried = carried_periods(invoices=[invoice])
        adjustments = adjustments_for_drafts(invoices=[invoice], carried=carried)[invoice.pk]
        late = late_usage_for_drafts(invoices=[invoice], carried=carried)[invoice.pk]
        lines = _draft_lines(invoice, usage, late, adjustments, _key_names(usage, late, adjustments))
        _set_totals(invoice, lines, markup_fraction=team.invoice_markup)
        problem = invoice_figures_fit(invoice, lines)
        if problem:
            raise InvoiceTooLargeError(f"{invoice} cannot be drafted: {problem}.")
        invoice.lines.all().delete()
        draft_lines_insert(lines)
        invoice.drafted_at = timezone.now()
        invoice.draft_error = ""
        invoice.save()
    return invoice


def invoice_redraft(*, invoice: Invoice) -> Invoice:
    """Rebuild one draft from the current roll-ups and decisions."""
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvoiceStateError(f"Only drafts are rebuilt; {invoice} is {invoice.status}.")
    return invoice_draft(team=invoice.team, period=invoice.period)


Usage = dict[tuple[int, str], Billable]  # what a month bills per (api key id, model)


def _usage(*, team: Team, period: date) -> Usage:
    """What the team's month bills per (api key id, model)."""
    month = DailySpend.objects.filter(team=team, day__gte=period, day__lt=period_next(period))
    return billable_by(month, ("api_key_id", "model"))


def _usage_by_team(*, period: date) -> dict[int, Usage]:
    """_usage of every team, read in one grouped query."""
    month = DailySpend.objects.filter(day__gte=period, day__lt=period_next(period))
    return billable_by_group(month, "team_id", ("api_key_id", "model"))


def _key_names(
    usage: Iterable[tuple[int, str]], late: Iterable[LateUsage], adjustments: Iterable[Adjustment]
) -> dict[int, str]:
    """Names of the keys the lines of drafts are about (`usage`: (api key id, model) pairs)."""
    ids = {api_key_id for api_key_id, _ in usage} | {item.api_key_id for item in late}
    ids |= {adjustment.api_key_id for adjustment in adjustments}
    return dict(ApiKey.objects.filter(pk__in=ids).values_list("pk", "name"))


def _draft_lines(
    invoice: Invoice,
    usage: Usage,
    late: list[LateUsage],
    adjustments: list[Adjustment],
    key_names: dict[int, str],
) -> list[DraftLine]:
    lines = _usage_lines(invoice, usage, key_names) + _late_usage_lines(invoice, late, key_names)
    return _without_negative_total(lines, _adjustment_lines(invoice, adjustments, key_names))


def _usage_lines(invoice: Invoice, usage: Usage, key_names: dict[int, str]) -> list[DraftLine]:
    return [
        DraftLine(
            invoice_id=invoice.pk,
            kind=InvoiceLine.Kind.USAGE,
            api_key_id=api_key_id,
            key_name=key_names[api_key_id],
            model=model,
            description=f"{key_names[api_key_id]} · {model}",
            generations=billable.generations,
            tokens=billable.tokens,
            amount_exact=billable.amount,
            amount=money_round(billable.amount),
            verified_amount=money_round(billable.verified_amount),
        )
        for (api_key_id, model), billable in usage.items()
        if billable.generations
    ]


def _late_usage_lines(invoice: Invoice, late: list[LateUsage], key_names: dict[int, str]) -> list[DraftLine]:
    return [
        DraftLine(
            invoice_id=invoice.pk,
            kind=InvoiceLine.Kind.LATE_USAGE,
            api_key_id=item.api_key_id,
            key_name=key_names[item.api_key_id],
            model=item.model,
            description=f"Late usage of {item.period:%Y-%m}: {key_names[item.api_key_id]} · {item.model}",
            generations=item.generations,
            tokens=item.tokens,
            amount_exact=item.amount_exact,
            amount=money_round(item.amount_exact),
            verified_amount=money_round(item.verified_amount_exact),
            usage_period=item.period,
        )
        for item in late
    ]


def _adjustment_lines(invoice: Invoice, adjustments: list[Adjustment], key_names: dict[int, str]) -> list[DraftLine]:
    return [
        DraftLine(
            invoice_id=invoice.pk,
            kind=InvoiceLine.Kind.ADJUSTMENT,
            api_key_id=adjustment.api_key_id,
            key_name=key_names[adjustment.api_key_id],
            model=adjustment.model,
            description=adjustment.description,
            generations=1,
            amount_exact=adjustment.amount_exact,
            amount=money_round(adjustment.amount_exact),
            # A decision by finance, not a figure the gateway confirmed.
            verified_amount=ZERO_CENTS,
            discrepancy_id=adjustment.discrepancy_id,
        )
        for adjustment in adjustments
    ]


def _is_credit(line: DraftLine) -> bool:
    """A line that only gives money back: an adjustment below zero, or a true-up of a finalized
    month below zero that bills no new generation."""
    if line.amount >= 0:
        return False
    return line.kind == InvoiceLine.Kind.ADJUSTMENT or line.generations <= 0


def _without_negative_total(lines: list[DraftLine], adjustment_lines: list[DraftLine]) -> list[DraftLine]:
    """`lines` and the adjustment lines, less the credits that would take the subtotal below
    zero; those are not carried now, so a later draft carries them."""
    candidates = lines + adjustment_lines
    kept = [line for line in candidates if not _is_credit(line)]
    subtotal = money_sum(line.amount for line in kept)
    for line in candidates:
        if _is_credit(line) and subtotal + line.amount >= 0:
            kept.append(line)
            subtotal += line.amount
    return kept


def _set_totals(invoice: Invoice, lines: list[DraftLine], *, markup_fraction) -> None:
    invoice.subtotal = money_sum(line.amount for line in lines)
    charged = money_sum(line.amount for line in lines if line.amount > 0)
    invoice.markup = money_round(charged * markup_fraction)
    invoice.total = invoice.subtotal + invoice.markup
    invoice.verified_amount = money_sum(line.verified_amount for line in lines)
    invoice.usage_amount = money_sum(line.amount for line in lines if line.kind in USAGE_KINDS)


def invoices_draft_period(*, period: date) -> list[Invoice]:
    """Draft (or redraft) every team's invoice for a month; finalized ones are left alone.

    The same result as invoice_draft for each team, done set-based so that closing a month
    costs a few statements rather than a few per team: the month's roll-ups are read once, the
    lines written in one bulk insert, the totals in one bulk update. Every team's drafting lock
    is held for the duration (taken in primary-key order, as invoice_draft takes one).

    Drafting is per team: a team whose draft cannot be built keeps its previous draft, with the
    reason in `draft_error` (logged, and shown to finance), and every other team is drafted."""
    period = period_of(period)
    with transaction.atomic():
        teams = list(Team.objects.select_for_update().order_by("pk"))
        invoices = {
            invoice.team_id: invoice
            for invoice in Invoice.objects.exclude(status=InvoiceStatus.VOID).filter(period=period)
        }
        Invoice.objects.bulk_create(
            [Invoice(team=team, period=period) for team in teams if team.pk not in invoices]
        )
        invoices = {
            invoice.team_id: invoice
            for invoice in Invoice.objects.exclude(status=InvoiceStatus.VOID).filter(period=period).select_related("team")
        }
        drafts = [invoices[team.pk] for team in teams if invoices[team.pk].status == InvoiceStatus.DRAFT]
        _drafts_rebuild(drafts, period=period)
    return [invoices[team.pk] for team in teams]


def _drafts_rebuild(drafts: list[Invoice], *, period: date) -> int:
    """Rebuild the period's drafts (their teams locked, `team` loaded) in a few statements: the
    month's roll-ups read once, the lines written in one bulk insert, the totals in one update.

    Per team: a draft whose figures cannot be built or would not fit keeps its previous lines,
    with the reason in `draft_error` (logged, shown to finance); every other draft is rebuilt."""
    usage = _usage_by_team(period=period)
    carried = carried_periods(invoices=drafts)
    adjustments = adjustments_for_drafts(invoices=drafts, carried=carried)
    late = late_usage_for_drafts(invoices=drafts, carried=carried)
    key_names = _key_names(
        (pair for pairs in usage.values() for pair in pairs),
        (item for items in late.values() for item in items),
        (adjustment for items in adjustments.values() for adjustment in items),
    )
    drafted: list[Invoice] = []
    failed: list[Invoice] = []
    all_lines: list[DraftLine] = []
    now = timezone.now()
    for invoice in drafts:
        try:
            lines = _draft_lines(
                invoice, usage.get(invoice.team_id, {}), late[invoice.pk], adjustments[invoice.pk], key_names
            )
            _set_totals(invoice, lines, markup_fraction=invoice.team.invoice_markup)
            problem = invoice_figures_fit(invoice, lines)
        except ArithmeticError as error:
            problem = f"its figures could not be computed ({error.__class__.__name__})"
        if problem:
            invoice.refresh_from_db()
            invoice.draft_error = f"Drafting on {now:%Y-%m-%d %H:%M} UTC failed: {problem}."
            logger.error("Invoice %s not drafted: %s", invoice, problem)
            failed.append(invoice)
            continue
        invoice.drafted_at = now
        invoice.draft_error = ""
        drafted.append(invoice)
        all_lines += lines
    InvoiceLine.objects.filter(invoice__in=drafted).delete()
    draft_lines_insert(all_lines)
    _totals_update(drafted)
    Invoice.objects.bulk_update(failed, ["draft_error"])
    return len(drafted)


def _totals_update(drafts: list[Invoice]) -> None:
    """Write the drafts' totals: one UPDATE from arrays on PostgreSQL, bulk_update elsewhere
    (whose CASE per field and invoice costs more to build than closing the month's SQL)."""
    if connection.vendor != "postgresql" or not drafts:
        Invoice.objects.bulk_update(drafts, TOTAL_FIELDS)
        return
    fields = [Invoice._meta.get_field(name) for name in TOTAL_FIELDS]
    types = {"DecimalField": "numeric", "DateTimeField": "timestamptz", "TextField": "text"}
    arrays = ", ".join(f"%s::{types[field.get_internal_type()]}[]" for field in fields)
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    assignments = ", ".join(f"{name} = new.{name}" for name in (connection.ops.quote_name(f.column) for f in fields))
    table = connection.ops.quote_name(Invoice._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM unnest(%s::bigint[], {arrays}) AS new(id, {names}) "
            f"WHERE {table}.id = new.id AND {table}.status = %s",
            [[invoice.pk for invoice in drafts]]
            + [[getattr(invoice, field.attname) for invoice in drafts] for field in fields]
            + [InvoiceStatus.DRAFT],
        )


def invoices_redraft_open() -> int:
    """Rebuild every draft invoice (as reconciliation proceeds), set-based per month like
    invoices_draft_period; returns how many. Only existing drafts: no invoice is created."""
    periods = (
        Invoice.objects.filter(status=InvoiceStatus.DRAFT).values_list("period", flat=True).distinct().order_by("period")
    )
    count = 0
    for period in list(periods):
        with transaction.atomic():
            open_teams = Invoice.objects.filter(status=InvoiceStatus.DRAFT, period=period).values("team_id")
            teams = list(Team.objects.select_for_update().filter(pk__in=open_teams).order_by("pk"))
            # Read again under the teams' locks: a draft may have been finalized meanwhile.
            drafts = list(
                Invoice.objects.filter(status=InvoiceStatus.DRAFT, period=period, team__in=teams).select_related("team")
            )
            count += _drafts_rebuild(drafts, period=period)
    return count
