"""Drafting invoices from the daily spend roll-ups (never from raw generations)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, Team
from billing.invoicing.adjustments import Adjustment, adjustments_for_draft, adjustments_for_drafts
from billing.invoicing.periods import period_next, period_of
from billing.invoicing.rounding import ZERO_CENTS, money_round, money_sum
from billing.invoicing.spend import spend_rows_by
from billing.models import Invoice, InvoiceLine, InvoiceStatus
from billing.selectors import SpendRow
from generations.models import DailySpend
from lib.errors import DomainError


class InvoiceStateError(DomainError):
    """The invoice is not in a state that allows this action; the message says why."""


def invoice_draft(*, team: Team, period: date, usage: list[SpendRow] | None = None) -> Invoice:
    """Create or rebuild the team's draft invoice for a month and return it.

    Usage lines come from the roll-ups per (api key, model): the amount is the charged cost of
    verified generations plus the recorded cost of the others (SpendRow.amount). `usage` is
    those rows when the caller has already read them (a whole period at once). Adjustment lines
    come from billing.invoicing.adjustments. A finalized invoice for the period is returned as it
    is: it never changes.
    """
    period = period_of(period)
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)  # one drafter per team at a time
        invoice = Invoice.objects.exclude(status=InvoiceStatus.VOID).filter(team=team, period=period).first()
        if invoice is not None and invoice.status == InvoiceStatus.FINALIZED:
            return invoice
        if invoice is None:
            invoice = Invoice.objects.create(team=team, period=period)
        invoice.lines.all().delete()
        if usage is None:
            usage = _usage_rows(team=team, period=period)
        lines = _usage_lines(invoice, usage, _key_names(usage))
        lines += _adjustment_lines(invoice, adjustments_for_draft(invoice=invoice))
        InvoiceLine.objects.bulk_create(lines)
        _set_totals(invoice, lines, markup_fraction=team.invoice_markup)
        invoice.drafted_at = timezone.now()
        invoice.save()
    return invoice


def invoice_redraft(*, invoice: Invoice) -> Invoice:
    """Rebuild one draft from the current roll-ups and decisions."""
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvoiceStateError(f"Only drafts are rebuilt; {invoice} is {invoice.status}.")
    return invoice_draft(team=invoice.team, period=invoice.period)


def _usage_rows(*, team: Team, period: date) -> list[SpendRow]:
    """The team's spend in the month per (api key id, model)."""
    month = DailySpend.objects.filter(team=team, day__gte=period, day__lt=period_next(period))
    return spend_rows_by(month, ("api_key_id", "model"))


def _usage_rows_by_team(*, period: date) -> dict[int, list[SpendRow]]:
    """Every team's spend in the month per (api key id, model), read in one grouped query."""
    month = DailySpend.objects.filter(day__gte=period, day__lt=period_next(period))
    by_team: dict[int, list[SpendRow]] = defaultdict(list)
    for row in spend_rows_by(month, ("team_id", "api_key_id", "model")):
        team_id, api_key_id, model = row.key
        by_team[team_id].append(replace(row, key=(api_key_id, model)))
    return by_team


def _key_names(rows: Iterable[SpendRow]) -> dict[int, str]:
    """Names of the keys of spend rows keyed by (api key id, model)."""
    return dict(ApiKey.objects.filter(pk__in={row.key[0] for row in rows}).values_list("pk", "name"))


def _usage_lines(invoice: Invoice, rows: list[SpendRow], key_names: dict[int, str]) -> list[InvoiceLine]:
    lines = []
    for row in rows:
        api_key_id, model = row.key
        if not row.generations:
            continue
        lines.append(
            InvoiceLine(
                invoice=invoice,
                kind=InvoiceLine.Kind.USAGE,
                api_key_id=api_key_id,
                model=model,
                description=f"{key_names[api_key_id]} · {model}",
                generations=row.generations,
                tokens=row.tokens,
                amount_exact=row.amount,
                amount=money_round(row.amount),
                verified_amount=money_round(row.verified_charged_cost),
            )
        )
    return lines


def _adjustment_lines(invoice: Invoice, adjustments: list[Adjustment]) -> list[InvoiceLine]:
    return [
        InvoiceLine(
            invoice=invoice,
            kind=InvoiceLine.Kind.ADJUSTMENT,
            api_key_id=adjustment.discrepancy.generation.api_key_id,
            model=adjustment.discrepancy.generation.model,
            description=adjustment.description,
            generations=1,
            amount_exact=adjustment.amount_exact,
            amount=money_round(adjustment.amount_exact),
            # A decision by finance, not a figure the gateway confirmed.
            verified_amount=ZERO_CENTS,
            discrepancy=adjustment.discrepancy,
        )
        for adjustment in adjustments
    ]


def _set_totals(invoice: Invoice, lines: list[InvoiceLine], *, markup_fraction) -> None:
    invoice.subtotal = money_sum(line.amount for line in lines)
    invoice.markup = money_round(invoice.subtotal * markup_fraction)
    invoice.total = invoice.subtotal + invoice.markup
    invoice.verified_amount = money_sum(line.verified_amount for line in lines)


def invoices_draft_period(*, period: date) -> list[Invoice]:
    """Draft (or redraft) every team's invoice for a month; finalized ones are left alone.

    The same result as invoice_draft for each team, done set-based so that closing a month
    costs a few statements rather than a few per team: the month's roll-ups are read once, the
    lines written in one bulk insert, the totals in one bulk update. Every team's drafting lock
    is held for the duration (taken in primary-key order, as invoice_draft takes one)."""
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


def _drafts_rebuild(drafts: list[Invoice], *, period: date) -> None:
    """Rebuild the period's drafts (their teams locked, `team` loaded) in a few statements: the
    month's roll-ups read once, the lines written in one bulk insert, the totals in one update."""
    InvoiceLine.objects.filter(invoice__in=drafts).delete()
    usage = _usage_rows_by_team(period=period)
    key_names = _key_names(row for rows in usage.values() for row in rows)
    adjustments = adjustments_for_drafts(invoices=drafts)
    all_lines: list[InvoiceLine] = []
    now = timezone.now()
    for invoice in drafts:
        lines = _usage_lines(invoice, usage.get(invoice.team_id, []), key_names)
        lines += _adjustment_lines(invoice, adjustments[invoice.pk])
        _set_totals(invoice, lines, markup_fraction=invoice.team.invoice_markup)
        invoice.drafted_at = now
        all_lines += lines
    InvoiceLine.objects.bulk_create(all_lines, batch_size=5000)
    Invoice.objects.bulk_update(drafts, ["subtotal", "markup", "total", "verified_amount", "drafted_at"])


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
            _drafts_rebuild(drafts, period=period)
        count += len(drafts)
    return count
