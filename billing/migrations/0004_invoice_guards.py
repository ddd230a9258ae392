"""Database guards for finalized invoices (PostgreSQL only; SQLite serves only the demo).

A finalized invoice may change only by being voided (status and the voided_* fields); a void
invoice never changes; neither can be deleted; lines of either cannot be added, changed or
deleted. These back up the model and queryset checks against raw SQL and future code.
"""

from django.db import migrations

CREATE = """
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
            NEW.verified_amount, NEW.created_at, NEW.drafted_at, NEW.finalized_at, NEW.finalized_by_id,
            NEW.override_reason)
           IS DISTINCT FROM
           (OLD.team_id, OLD.period, OLD.number, OLD.currency, OLD.subtotal, OLD.markup, OLD.total,
            OLD.verified_amount, OLD.created_at, OLD.drafted_at, OLD.finalized_at, OLD.finalized_by_id,
            OLD.override_reason)
    ) THEN
        RAISE EXCEPTION 'invoice % is finalized; it can only be voided', OLD.number;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_frozen
BEFORE UPDATE OR DELETE ON billing_invoice
FOR EACH ROW EXECUTE FUNCTION billing_invoice_frozen_guard();

CREATE OR REPLACE FUNCTION billing_invoiceline_frozen_guard() RETURNS trigger AS $$
DECLARE
    frozen boolean;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT status IN ('finalized', 'void') INTO frozen FROM billing_invoice WHERE id = OLD.invoice_id;
        IF frozen THEN
            RAISE EXCEPTION 'lines of invoice % are frozen', OLD.invoice_id;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT status IN ('finalized', 'void') INTO frozen FROM billing_invoice WHERE id = NEW.invoice_id;
        IF frozen THEN
            RAISE EXCEPTION 'lines of invoice % are frozen', NEW.invoice_id;
        END IF;
        RETURN NEW;
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoiceline_frozen
BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
FOR EACH ROW EXECUTE FUNCTION billing_invoiceline_frozen_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS billing_invoiceline_frozen ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_invoiceline_frozen_guard();
DROP TRIGGER IF EXISTS billing_invoice_frozen ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoice_frozen_guard();
"""


def create_guards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(CREATE)


def drop_guards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_beat_schedules")]
    operations = [migrations.RunPython(create_guards, drop_guards)]
