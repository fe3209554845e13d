"""A month that credits more than it invoices (fee credits of earlier charges, a free plan) is
closed with a credit note of series CN, not a negative invoice: numbered in the CN series, the
amount added to the balance, once, its PDF and e-invoice a credit note."""
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from billing import einvoice, services
from billing.models import Invoice
from operators.models import WalletTransaction
from portal.models import AuditEvent
from tests.billing.conftest import at, charge, charge_points, deposit, make_plan
from tests.factories import member

pytestmark = pytest.mark.django_db
OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)


@pytest.fixture
def credited_month(billing_setup):
    from tests.factories import OperatorFactory

    op = OperatorFactory()
    (cp,) = charge_points(op, 1)
    make_plan(operator=op, tiers=((None, "0"),))  # a free plan: the month's fees are all it invoices
    deposit(op, "500.00", when=at(2026, 10, 2))
    first = charge(op, cp, at(2026, 10, 20))
    services.close_operator_month(operator=op, period=OCT, today=date(2026, 11, 1), send=False)
    charge(op, cp, at(2026, 11, 5), price="-100.00", credit_of=first)  # the October charge credited
    return op


def _balance(op):
    return WalletTransaction.objects.filter(operator=op, state="complete").aggregate(s=Sum("amount"))["s"]


def test_the_month_is_closed_with_a_credit_note(credited_month):
    op = credited_month
    before = _balance(op)
    run = services.close_operator_month(operator=op, period=NOV, today=date(2026, 12, 1), send=False)
    cn = run.invoice
    assert (cn.series, cn.number, cn.credit_of_id, cn.status) == ("CN", "CN-2026-000001", None, "paid")
    assert cn.total == Decimal("-6.25") and cn.net == Decimal("-5.00") and "November 2026" in cn.reason
    assert not Invoice.objects.filter(operator=op, period=NOV, series="INV").exists()
    linked = WalletTransaction.objects.filter(invoice_entry__invoice=cn).aggregate(s=Sum("amount"))["s"]
    assert linked == -cn.total  # the invariant: the document's total is what its entries moved
    # the fee credit (5.00) was on the ledger already, posted with the credited charge: the close
    # adds the VAT on it (1.25), so the balance has the credit note's whole 6.25 in the end
    assert _balance(op) == before + Decimal("1.25")
    assert AuditEvent.objects.filter(operator=op, verb="credit_note.issued", item_id=str(cn.pk)).exists()
    again = services.close_operator_month(operator=op, period=NOV, today=date(2026, 12, 1), send=False)
    assert again.invoice.pk == cn.pk and again.outcome == "unchanged" and _balance(op) == before + Decimal("1.25")
    dry = services.close_operator_month(operator=op, period=NOV, today=date(2026, 12, 1), dry_run=True)
    assert dry.invoice.pk == cn.pk
    assert Invoice.objects.filter(operator=op).count() == 2  # October's invoice and November's credit note


def test_its_pages_pdf_and_e_invoice_are_a_credit_note(credited_month, login):
    from pypdf import PdfReader

    op = credited_month
    cn = services.close_operator_month(operator=op, period=NOV, today=date(2026, 12, 1), send=False).invoice
    client = login(member(op, "bookkeeper"))
    page = client.get(f"/o/{op.slug}/billing/invoices/{cn.pk}/").content.decode()
    assert "CN-2026-000001" in page and "exceed what the month invoices" in page and "added to your Operator balance" in page
    pdf = services.invoice_pdf(cn)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\n", " ")
    assert "CN-2026-000001" in text and "Credit note" in text and "exceed what the month invoices" in text
    xml = services.invoice_einvoice(cn).decode()
    assert "<CreditNote" in xml and "6.25" in xml and "-6.25" not in xml
    einvoice.checked(cn)  # every EN 16931 and Peppol rule passes
