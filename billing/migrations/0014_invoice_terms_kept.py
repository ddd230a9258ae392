"""Finalized invoices keep their terms (issuer, bill-to, markup rate), and the database guard
covers every field of a finalized invoice.

Invoices finalized before this migration get the terms in force when it runs: the best record
there is of what they were printed with.
"""

from decimal import Decimal

from django.conf import settings
from django.db import migrations, models

GUARD = """
CREATE OR REPLACE FUNCTION billing_invoice_frozen_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status IN ('finalized', 'void') THEN
            RAISE EXCEPTION 'invoice % is % and cannot be deleted', OLD.number, OLD.status;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'void' THEN
        RAISE EXCEPTION 'invoice % is void and cannot change', OLD.number;
    END IF;
    IF OLD.status = 'finalized' AND (
        NEW.status NOT IN ('finalized', 'void')
        OR (NEW.team_id, NEW.period, NEW.number, NEW.currency, NEW.subtotal, NEW.markup, NEW.total,
            NEW.verified_amount, NEW.usage_amount, NEW.created_at, NEW.drafted_at, NEW.finalized_at,
            NEW.finalized_by_id, NEW.override_reason, NEW.draft_error, NEW.issuer_name, NEW.issuer_address,
            NEW.bill_to_name, NEW.bill_to_address, NEW.markup_rate)
           IS DISTINCT FROM
           (OLD.team_id, OLD.period, OLD.number, OLD.currency, OLD.subtotal, OLD.markup, OLD.total,
            OLD.verified_amount, OLD.usage_amount, OLD.created_at, OLD.drafted_at, OLD.finalized_at,
            OLD.finalized_by_id, OLD.override_reason, OLD.draft_error, OLD.issuer_name, OLD.issuer_address,
            OLD.bill_to_name, OLD.bill_to_address, OLD.markup_rate)
    ) THEN
        RAISE EXCEPTION 'invoice % is finalized; it can only be voided', OLD.number;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


# The guard as billing 0004 made it, for migrating backwards (before the columns it names go).
GUARD_BEFORE = GUARD.replace(
    """NEW.verified_amount, NEW.usage_amount, NEW.created_at, NEW.drafted_at, NEW.finalized_at,
            NEW.finalized_by_id, NEW.override_reason, NEW.draft_error, NEW.issuer_name, NEW.issuer_address,
            NEW.bill_to_name, NEW.bill_to_address, NEW.markup_rate)""",
    """NEW.verified_amount, NEW.created_at, NEW.drafted_at, NEW.finalized_at, NEW.finalized_by_id,
            NEW.override_reason)""",
).replace(
    """OLD.verified_amount, OLD.usage_amount, OLD.created_at, OLD.drafted_at, OLD.finalized_at,
            OLD.finalized_by_id, OLD.override_reason, OLD.draft_error, OLD.issuer_name, OLD.issuer_address,
            OLD.bill_to_name, OLD.bill_to_address, OLD.markup_rate)""",
    """OLD.verified_amount, OLD.created_at, OLD.drafted_at, OLD.finalized_at, OLD.finalized_by_id,
            OLD.override_reason)""",
)


def restore_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(GUARD_BEFORE)


def keep_terms(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute("ALTER TABLE billing_invoice DISABLE TRIGGER billing_invoice_frozen")
    for invoice in Invoice.objects.filter(finalized_at__isnull=False).select_related("team"):
        team = invoice.team
        invoice.issuer_name = settings.TALLY_INVOICE_ISSUER_NAME[:200]
        invoice.issuer_address = settings.TALLY_INVOICE_ISSUER_ADDRESS
        invoice.bill_to_name = (team.bill_to_name or team.name)[:200]
        invoice.bill_to_address = team.bill_to_address
        invoice.markup_rate = team.invoice_markup
        invoice.save(update_fields=["issuer_name", "issuer_address", "bill_to_name", "bill_to_address", "markup_rate"])
    if postgres:
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(GUARD)
        schema_editor.execute("ALTER TABLE billing_invoice ENABLE TRIGGER billing_invoice_frozen")



class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0013_merge_coverage'),
    ]

    operations = [
        migrations.AddField(
            model_name='invoice',
            name='bill_to_address',
            field=models.TextField(blank=True, default='', editable=False),
        ),
        migrations.AddField(
            model_name='invoice',
            name='bill_to_name',
            field=models.CharField(blank=True, default='', editable=False, max_length=200),
        ),
        migrations.AddField(
            model_name='invoice',
            name='issuer_address',
            field=models.TextField(blank=True, default='', editable=False),
        ),
        migrations.AddField(
            model_name='invoice',
            name='issuer_name',
            field=models.CharField(blank=True, default='', editable=False, max_length=200),
        ),
        migrations.AddField(
            model_name='invoice',
            name='markup_rate',
            field=models.DecimalField(decimal_places=4, default=Decimal('0'), editable=False, max_digits=6),
        ),
        migrations.RunPython(keep_terms, restore_guard),
    ]
