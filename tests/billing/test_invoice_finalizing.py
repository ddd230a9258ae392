import threading
from datetime import UTC, date, datetime

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction

from billing.discrepancies import discrepancy_change_status
from billing.invoicing.drafting import invoice_draft
from billing.invoicing.finalizing import InvoiceNotSettledError, invoice_finalize
from billing.invoicing.numbering import invoice_number_format
from billing.invoicing.voiding import invoice_void
from billing.models import DiscrepancyStatus, Invoice, InvoiceNumberSequence, InvoiceStatus
from generations.models import GenerationState
from lib.errors import NotAllowed
from tests.billing.invoice_helpers import (
    PERIOD,
    make_discrepancy,
    make_finance_user,
    make_generation,
    make_key,
    make_team,
)


@pytest.mark.django_db
def test_it_refuses_to_finalize_while_generations_are_pending_or_disputed():
    team = make_team()
    key = make_key(team)
    make_generation(key, cost="1.00")
    disputed = make_generation(key, cost="2.00", charged="2.50", state=GenerationState.DISPUTED)
    make_discrepancy(disputed)
    invoice = invoice_draft(team=team, period=PERIOD)

    with pytest.raises(InvoiceNotSettledError) as refused:
        invoice_finalize(invoice=invoice, by=make_finance_user())

    assert refused.value.unsettled == 2
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number) == (InvoiceStatus.DRAFT, None)


@pytest.mark.django_db
def test_it_finalizes_once_every_discrepancy_is_resolved_or_written_off():
    team = make_team()
    key = make_key(team)
    make_generation(key, cost="1.00", charged="1.00", state=GenerationState.VERIFIED)
    disputed = make_generation(key, cost="2.00", charged="2.50", state=GenerationState.DISPUTED)
    finding = make_discrepancy(disputed)
    finance = make_finance_user()
    discrepancy_change_status(discrepancy=finding, to_status=DiscrepancyStatus.WRITTEN_OFF, by=finance, reason="small")

    invoice = invoice_finalize(invoice=invoice_draft(team=team, period=PERIOD), by=finance)

    assert invoice.status == InvoiceStatus.FINALIZED
    assert invoice.number == invoice_number_format(year=invoice.finalized_at.year, number=1)
    assert invoice.finalized_by == finance and invoice.override_reason == ""


@pytest.mark.django_db
def test_finance_may_finalize_an_unsettled_invoice_with_an_override_and_a_reason():
    team = make_team()
    make_generation(make_key(team), cost="1.00")
    finance = make_finance_user()
    invoice = invoice_draft(team=team, period=PERIOD)

    finalized = invoice_finalize(invoice=invoice, by=finance, override_reason="Quarter close; 1 call pending")

    assert finalized.status == InvoiceStatus.FINALIZED
    assert finalized.override_reason == "Quarter close; 1 call pending"


@pytest.mark.django_db
def test_an_override_by_someone_outside_finance_is_refused():
    team = make_team()
    make_generation(make_key(team), cost="1.00")
    invoice = invoice_draft(team=team, period=PERIOD)
    clerk = User.objects.create_user("clerk", is_staff=True)

    with pytest.raises(NotAllowed, match="Only finance may finalize"):
        invoice_finalize(invoice=invoice, by=clerk, override_reason="because")

    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.DRAFT


@pytest.mark.django_db
def test_voiding_keeps_the_number_and_records_why():
    team = make_team()
    make_generation(make_key(team), cost="1.00", charged="1.00", state=GenerationState.VERIFIED)
    finance = make_finance_user()
    finalized = invoice_finalize(invoice=invoice_draft(team=team, period=PERIOD), by=finance)

    voided = invoice_void(invoice=finalized, by=finance, reason="Billed to the wrong cost centre")

    voided.refresh_from_db()
    assert voided.status == InvoiceStatus.VOID
    assert voided.number == finalized.number
    assert (voided.voided_by, voided.void_reason) == (finance, "Billed to the wrong cost centre")
    assert voided.lines.count() == 1
    # The period can be invoiced again, under a new number.
    replacement = invoice_finalize(invoice=invoice_draft(team=team, period=PERIOD), by=finance)
    assert replacement.pk != voided.pk and replacement.number != voided.number


@pytest.mark.django_db
def test_numbers_follow_each_other_without_gaps_after_a_refusal():
    finance = make_finance_user()
    numbers = []
    for slug in ("alpha", "bravo", "charlie"):
        team = make_team(slug)
        key = make_key(team)
        make_generation(key, cost="1.00", charged="1.00", state=GenerationState.VERIFIED)
        if slug == "bravo":
            make_generation(key, cost="1.00")
            with pytest.raises(InvoiceNotSettledError):
                invoice_finalize(invoice=invoice_draft(team=team, period=PERIOD), by=finance)
            continue
        numbers.append(invoice_finalize(invoice=invoice_draft(team=team, period=PERIOD), by=finance).number)

    year = Invoice.objects.get(number=numbers[0]).finalized_at.year
    assert numbers == [invoice_number_format(year=year, number=1), invoice_number_format(year=year, number=2)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_finalizations_get_consecutive_numbers():
    finance = make_finance_user()
    invoices = []
    for slug in ("alpha", "bravo", "charlie", "delta"):
        team = make_team(slug)
        make_generation(make_key(team), cost="1.00", charged="1.00", state=GenerationState.VERIFIED)
        invoices.append(invoice_draft(team=team, period=date(2026, 3, 1)))
    start = threading.Barrier(len(invoices))
    errors: list[BaseException] = []

    def finalize(invoice: Invoice) -> None:
        try:
            start.wait(timeout=10)
            invoice_finalize(invoice=invoice, by=finance)
        except BaseException as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=finalize, args=(invoice,)) for invoice in invoices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    year = datetime.now(UTC).year
    assert numbers == [invoice_number_format(year=year, number=n) for n in range(1, len(invoices) + 1)]


def _verified_draft(slug: str) -> Invoice:
    team = make_team(slug)
    make_generation(make_key(team), cost="1.00", charged="1.00", state=GenerationState.VERIFIED)
    return invoice_draft(team=team, period=PERIOD)


@pytest.mark.django_db
def test_a_finalization_rolled_back_after_taking_its_number_gives_the_number_back():
    finance = make_finance_user()
    first, second = _verified_draft("alpha"), _verified_draft("bravo")

    with pytest.raises(RuntimeError, match="the caller's transaction fails"):
        with transaction.atomic():
            taken = invoice_finalize(invoice=first, by=finance)
            assert taken.number is not None
            raise RuntimeError("the caller's transaction fails after the number was taken")

    first.refresh_from_db()
    assert (first.status, first.number) == (InvoiceStatus.DRAFT, None)
    year = datetime.now(UTC).year
    assert invoice_finalize(invoice=second, by=finance).number == invoice_number_format(year=year, number=1)


@pytest.mark.django_db
def test_a_number_already_taken_fails_the_finalization_and_changes_nothing():
    finance = make_finance_user()
    first, second = _verified_draft("alpha"), _verified_draft("bravo")
    year = datetime.now(UTC).year
    issued = invoice_finalize(invoice=first, by=finance)
    # The sequence behind the invoices (a restore from an older backup, say): its next number is taken.
    InvoiceNumberSequence.objects.filter(year=year).update(last_number=0)

    with pytest.raises(IntegrityError):
        with transaction.atomic():
            invoice_finalize(invoice=second, by=finance)

    second.refresh_from_db()
    assert (second.status, second.number) == (InvoiceStatus.DRAFT, None)
    assert InvoiceNumberSequence.objects.get(year=year).last_number == 0
    assert Invoice.objects.get(pk=issued.pk).number == invoice_number_format(year=year, number=1)
