"""On PostgreSQL, the invariant "an issued invoice's total is minus the sum of its linked ledger
entries" is guarded on both sides: an issued invoice takes only its own settlement entry as a new
link (reference `invoice-settlement:<id>`), and a ledger entry linked to an issued invoice keeps its
amount, currency, operator, kind and state (found in review: raw SQL could link any entry to a
sent invoice, or change a billed fee's amount, and the documents no longer matched the ledger)."""
from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION billing_invoiceentry_insert_guard() RETURNS trigger AS $$
DECLARE
    invoice_number text;
BEGIN
    SELECT number INTO invoice_number FROM billing_invoice WHERE id = NEW.invoice_id;
    IF invoice_number IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM operators_wallettransaction t
         WHERE t.id = NEW.transaction_id AND t.reference = 'invoice-settlement:' || NEW.invoice_id) THEN
        RAISE EXCEPTION 'issued invoice % takes no further ledger entries but its own settlement', invoice_number;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoiceentry_insert_guard BEFORE INSERT ON billing_invoiceentry
    FOR EACH ROW EXECUTE FUNCTION billing_invoiceentry_insert_guard();

CREATE OR REPLACE FUNCTION billing_linked_entry_guard() RETURNS trigger AS $$
DECLARE
    invoice_number text;
BEGIN
    IF (NEW.amount, NEW.currency, NEW.operator_id, NEW.kind, NEW.state)
       IS NOT DISTINCT FROM (OLD.amount, OLD.currency, OLD.operator_id, OLD.kind, OLD.state) THEN
        RETURN NEW;
    END IF;
    SELECT i.number INTO invoice_number FROM billing_invoiceentry e JOIN billing_invoice i ON i.id = e.invoice_id
     WHERE e.transaction_id = OLD.id;
    IF invoice_number IS NOT NULL THEN
        RAISE EXCEPTION 'ledger entry % is billed by issued invoice %: its amount never changes', OLD.id, invoice_number;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_linked_entry_guard BEFORE UPDATE ON operators_wallettransaction
    FOR EACH ROW EXECUTE FUNCTION billing_linked_entry_guard();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS billing_linked_entry_guard ON operators_wallettransaction;
DROP FUNCTION IF EXISTS billing_linked_entry_guard();
DROP TRIGGER IF EXISTS billing_invoiceentry_insert_guard ON billing_invoiceentry;
DROP FUNCTION IF EXISTS billing_invoiceentry_insert_guard();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_series_and_immutability")]

    operations = [migrations.RunPython(forward, backward)]
