"""The stored e-invoice of an issued invoice, write-once like its PDF: on PostgreSQL the invoice
guard also refuses replacing a stored e-invoice."""
import importlib

from django.db import migrations, models

_0002 = importlib.import_module("billing.migrations.0002_series_and_immutability")

GUARD_PDF = "(OLD.pdf IS NOT NULL AND NEW.pdf IS DISTINCT FROM OLD.pdf)"
GUARD_BOTH = GUARD_PDF + " OR (OLD.einvoice IS NOT NULL AND NEW.einvoice IS DISTINCT FROM OLD.einvoice)"
FUNCTION = _0002.FORWARD[:_0002.FORWARD.index("CREATE TRIGGER billing_invoice_guard")]
assert GUARD_PDF in FUNCTION


def guard(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:  # no parameters: the SQL has literal % signs
                cursor.execute(sql)
    return run


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_credit_invoice_permission")]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="einvoice",
            field=models.BinaryField(blank=True, editable=False, null=True, verbose_name="e-invoice",
                                     help_text="Peppol BIS 3.0 UBL 2.1, its PDF embedded; stored on first use."),
        ),
        migrations.RunPython(guard(FUNCTION.replace(GUARD_PDF, f"({GUARD_BOTH})").replace(
            "or get another PDF", "or get another PDF or e-invoice")), guard(FUNCTION)),
    ]
