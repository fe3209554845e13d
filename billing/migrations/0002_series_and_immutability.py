"""The invoice series counter rows, and on PostgreSQL the triggers that make issued invoices
immutable in the database: no UPDATE of an issued invoice's number, dates, parties or amounts, no
status back to draft, no replacing its stored PDF, no DELETE; no change to its lines or to the
links of its ledger entries."""
from django.db import migrations

INVOICE_FROZEN = ["operator_id", "series", "period", "number", "sequence", "issue_date", "due_date", "issued_at",
                  "currency", "net", "vat", "total", "vat_category", "vat_rate", "vat_note", "seller", "buyer",
                  "details", "credit_of_id", "reason"]
_old = ", ".join(f"OLD.{c}" for c in INVOICE_FROZEN)
_new = ", ".join(f"NEW.{c}" for c in INVOICE_FROZEN)

FORWARD = f"""
CREATE OR REPLACE FUNCTION billing_invoice_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.number IS NOT NULL THEN
            RAISE EXCEPTION 'invoice % is issued: it is never deleted (issue a credit note)', OLD.number;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.number IS NOT NULL THEN
        IF ({_new}) IS DISTINCT FROM ({_old}) THEN
            RAISE EXCEPTION 'invoice % is issued: its number, dates, parties and amounts never change', OLD.number;
        END IF;
        IF NEW.status = 'draft' OR (OLD.pdf IS NOT NULL AND NEW.pdf IS DISTINCT FROM OLD.pdf) THEN
            RAISE EXCEPTION 'invoice % is issued: it cannot go back to draft or get another PDF', OLD.number;
        END IF;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_guard BEFORE UPDATE OR DELETE ON billing_invoice
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_guard();

CREATE OR REPLACE FUNCTION billing_invoice_child_guard() RETURNS trigger AS $$
DECLARE
    invoice_number text;
BEGIN
    SELECT number INTO invoice_number FROM billing_invoice
     WHERE id = CASE WHEN TG_OP = 'INSERT' THEN NEW.invoice_id ELSE OLD.invoice_id END;
    IF invoice_number IS NOT NULL THEN
        RAISE EXCEPTION '% of issued invoice % cannot change', TG_TABLE_NAME, invoice_number;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoiceline_guard BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_child_guard();
-- Links are added to an issued invoice when it is settled, never changed or removed.
CREATE TRIGGER billing_invoiceentry_guard BEFORE UPDATE OR DELETE ON billing_invoiceentry
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_child_guard();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS billing_invoiceentry_guard ON billing_invoiceentry;
DROP TRIGGER IF EXISTS billing_invoiceline_guard ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_invoice_child_guard();
DROP TRIGGER IF EXISTS billing_invoice_guard ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoice_guard();
"""


def triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no parameters: the SQL has literal % signs
            cursor.execute(FORWARD)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(BACKWARD)


def series(apps, schema_editor):
    InvoiceSeries = apps.get_model("billing", "InvoiceSeries")
    for code in ("INV", "CN"):
        InvoiceSeries.objects.get_or_create(code=code)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        migrations.RunPython(series, migrations.RunPython.noop),
        migrations.RunPython(triggers, drop_triggers),
    ]
