from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from billing.invoicing.document import invoice_document
from billing.invoicing.drafting import invoice_draft
from billing.invoicing.finalizing import invoice_finalize
from billing.models import Invoice, InvoiceFrozenError, InvoiceLine, InvoiceStatus
from generations.models import GenerationState
from tests.billing.invoice_helpers import PERIOD, make_finance_user, make_generation, make_key, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def finalized() -> Invoice:
    team = make_team()
    make_generation(make_key(team), cost="1.00", charged="1.00", state=GenerationState.VERIFIED)
    return invoice_finalize(invoice=invoice_draft(team=team, period=PERIOD), by=make_finance_user())


def test_an_orm_save_of_a_finalized_invoice_is_refused(finalized):
    finalized.total = Decimal("0.01")
    with pytest.raises(InvoiceFrozenError):
        finalized.save()
    assert Invoice.objects.get(pk=finalized.pk).total == Decimal("1.00")


def test_a_finalized_invoice_cannot_be_deleted(finalized):
    with pytest.raises(InvoiceFrozenError):
        finalized.delete()
    with pytest.raises(InvoiceFrozenError):
        Invoice.objects.filter(pk=finalized.pk).delete()


def test_a_queryset_update_of_finalized_invoices_is_refused(finalized):
    with pytest.raises(InvoiceFrozenError):
        Invoice.objects.filter(pk=finalized.pk).update(total=Decimal("0"))
    assert Invoice.objects.get(pk=finalized.pk).total == Decimal("1.00")


def test_lines_of_a_finalized_invoice_cannot_be_changed_added_or_deleted(finalized):
    line = finalized.lines.get()
    line.amount = Decimal("0.50")
    with pytest.raises(InvoiceFrozenError):
        line.save()
    with pytest.raises(InvoiceFrozenError):
        InvoiceLine.objects.filter(pk=line.pk).update(amount=Decimal("0"))
    with pytest.raises(InvoiceFrozenError):
        line.delete()
    with pytest.raises(InvoiceFrozenError):
        InvoiceLine(invoice=finalized, amount=Decimal("5.00"), description="extra").save()
    assert InvoiceLine.objects.get(pk=line.pk).amount == Decimal("1.00")


def test_redrafting_leaves_a_finalized_invoice_as_it_was(finalized):
    make_generation(make_key(finalized.team, "late"), cost="7.00")
    again = invoice_draft(team=finalized.team, period=PERIOD)
    assert again.pk == finalized.pk and again.total == Decimal("1.00")


def test_a_void_invoice_cannot_change_back(finalized):
    finalized.status = InvoiceStatus.VOID
    finalized.void_reason = "duplicate"
    finalized.save()
    finalized.status = InvoiceStatus.FINALIZED
    with pytest.raises(InvoiceFrozenError):
        finalized.save()


@pytest.mark.postgres
def test_the_database_refuses_raw_sql_changes_to_finalized_invoices_and_lines(finalized):
    statements = [
        ("UPDATE billing_invoice SET total = 0 WHERE id = %s", finalized.pk),
        ("UPDATE billing_invoice SET status = 'draft' WHERE id = %s", finalized.pk),
        ("UPDATE billing_invoice SET usage_amount = 0 WHERE id = %s", finalized.pk),
        ("UPDATE billing_invoice SET draft_error = 'x' WHERE id = %s", finalized.pk),
        ("UPDATE billing_invoice SET bill_to_name = 'Someone else' WHERE id = %s", finalized.pk),
        ("UPDATE billing_invoice SET markup_rate = 0.5 WHERE id = %s", finalized.pk),
        ("DELETE FROM billing_invoice WHERE id = %s", finalized.pk),
        ("UPDATE billing_invoiceline SET amount = 0 WHERE invoice_id = %s", finalized.pk),
        ("DELETE FROM billing_invoiceline WHERE invoice_id = %s", finalized.pk),
    ]
    for sql, pk in statements:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [pk])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_invoice SET status = 'void', void_reason = 'x' WHERE id = %s", [finalized.pk])
    assert Invoice.objects.get(pk=finalized.pk).status == InvoiceStatus.VOID


def test_a_finalized_invoice_keeps_the_terms_it_was_finalized_with(finalized, settings):
    team = finalized.team
    before = invoice_document(finalized)
    team.bill_to_name, team.bill_to_address, team.invoice_markup = "New Name Ltd", "1 New Street", Decimal("0.5")
    team.save()
    settings.TALLY_INVOICE_ISSUER_NAME = "Another Issuer"

    after = invoice_document(Invoice.objects.get(pk=finalized.pk))
    draft = invoice_document(invoice_draft(team=team, period=PERIOD.replace(month=PERIOD.month - 1 or 12)))

    assert (after.bill_to_name, after.bill_to_address, after.issuer_name, after.markup_label) == (
        before.bill_to_name, before.bill_to_address, before.issuer_name, before.markup_label
    )
    assert after.bill_to_name != "New Name Ltd" and after.markup_label == "Markup (0%)"
    assert (draft.bill_to_name, draft.issuer_name, draft.markup_label) == ("New Name Ltd", "Another Issuer", "Markup (50%)")


def test_a_finalized_invoice_prints_its_keys_as_they_were_named(finalized):
    line = finalized.lines.get()
    key = line.api_key
    before = [document_line.key for document_line in invoice_document(finalized).lines]
    key.name = "Renamed later"
    key.save()

    after = [document_line.key for document_line in invoice_document(Invoice.objects.get(pk=finalized.pk)).lines]

    assert before[0] and after == before and "Renamed later" not in after and line.key_name == before[0]
