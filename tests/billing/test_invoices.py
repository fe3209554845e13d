"""Issued invoices are immutable (models and, on PostgreSQL, the database); numbers are gapless
per series; credit notes cancel in full or in part; the PDF is rendered from the snapshot."""
import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Sum

from billing import services
from billing.models import Invoice, InvoiceEntry, InvoiceSeries
from operators.models import Operator, WalletTransaction
from tests.billing.conftest import CLOSE_DAY, NOV, charge_points, deposit, make_plan, make_seller
from tests.factories import OperatorFactory

D = Decimal
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL triggers")


@pytest.fixture
def issued(billing_setup):
    op = OperatorFactory()
    charge_points(op, 3)
    deposit(op, "1000.00")
    return services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY).invoice


@pytest.mark.django_db
def test_model_refuses_changes_and_deletion_of_an_issued_invoice(issued):
    issued.net, issued.vat, issued.total = D("1.00"), D("0.00"), D("1.00")
    with pytest.raises(PermissionError):
        issued.save()
    reloaded = Invoice.objects.get(pk=issued.pk)
    reloaded.buyer = {**reloaded.buyer, "name": "Someone else"}
    with pytest.raises(PermissionError):
        reloaded.save()
    with pytest.raises(PermissionError):
        issued.delete()
    with pytest.raises(PermissionError):
        Invoice.objects.filter(pk=issued.pk).update(number="INV-2026-999999")
    with pytest.raises(PermissionError):
        Invoice.objects.filter(pk=issued.pk).delete()
    assert Invoice.objects.get(pk=issued.pk).total == D("187.50")  # 3 × 50.00 + 25 %


@postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize("sql", [
    "UPDATE billing_invoice SET total = 1, net = 1, vat = 0 WHERE id = %s",
    "UPDATE billing_invoice SET number = 'INV-2026-999999' WHERE id = %s",
    "UPDATE billing_invoice SET buyer = '{}'::jsonb WHERE id = %s",
    "UPDATE billing_invoice SET status = 'draft' WHERE id = %s",
    "DELETE FROM billing_invoice WHERE id = %s",
    "UPDATE billing_invoiceline SET net = 0 WHERE invoice_id = %s",
    "DELETE FROM billing_invoiceline WHERE invoice_id = %s",
    "DELETE FROM billing_invoiceentry WHERE invoice_id = %s",
])
def test_database_refuses_changes_to_an_issued_invoice(issued, sql):
    with pytest.raises(DatabaseError, match="issued"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [issued.pk])
    assert Invoice.objects.get(pk=issued.pk).total == D("187.50")


@postgres_only
@pytest.mark.django_db
def test_database_stores_the_einvoice_once_and_refuses_replacing_it(issued):
    xml = services.invoice_einvoice(issued)  # the first store of an issued invoice's e-invoice is allowed
    with pytest.raises(DatabaseError, match="e-invoice"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE billing_invoice SET einvoice = 'x'::bytea WHERE id = %s", [issued.pk])
    assert bytes(Invoice.objects.get(pk=issued.pk).einvoice) == xml


@postgres_only
@pytest.mark.django_db
def test_database_allows_status_and_mail_marker(issued):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_invoice SET emailed_at = now(), status = 'credited' WHERE id = %s", [issued.pk])


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_issuers_get_consecutive_numbers():
    make_seller()
    make_plan()
    ops = [OperatorFactory() for _ in range(20)]
    for op in ops:
        charge_points(op, 1)
    barrier, errors = threading.Barrier(20), []

    def issue(op_id):
        try:
            barrier.wait(timeout=30)
            services.invoice_issue(operator=Operator.objects.get(pk=op_id), period=NOV, today=CLOSE_DAY)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue, args=(op.pk,)) for op in ops]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    numbers = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert numbers == list(range(1, 21))
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [f"INV-2026-{n:06d}" for n in range(1, 21)]
    assert InvoiceSeries.objects.get(code="INV").last_number == 20


@pytest.mark.django_db
def test_a_rolled_back_issue_gives_its_number_back(billing_setup):
    a, b = OperatorFactory(), OperatorFactory()
    charge_points(a, 1)
    charge_points(b, 1)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.invoice_issue(operator=a, period=NOV, today=CLOSE_DAY)
        raise RuntimeError("crash before commit")
    assert services.invoice_issue(operator=b, period=NOV, today=CLOSE_DAY).number == "INV-2026-000001"
    assert services.invoice_issue(operator=a, period=NOV, today=CLOSE_DAY).number == "INV-2026-000002"


@pytest.mark.django_db
def test_numbers_carry_the_issue_year_and_continue(billing_setup):
    op = OperatorFactory()
    charge_points(op, 1)
    dec = services.invoice_issue(operator=op, period=date(2026, 12, 1), today=date(2027, 1, 1))
    nov = services.invoice_issue(operator=op, period=NOV, today=date(2027, 1, 2))
    assert (dec.number, nov.number) == ("INV-2027-000001", "INV-2027-000002")


@pytest.mark.django_db
def test_reverse_charge_invoice_for_an_eu_buyer(billing_setup, django_capture_on_commit_callbacks):
    op = OperatorFactory(country="DE", vat_number="DE136695976", currency="DKK")
    charge_points(op, 2)
    invoice = services.invoice_issue(operator=op, period=NOV, today=CLOSE_DAY)
    assert (invoice.vat_category, invoice.vat_rate, invoice.vat, invoice.total) == ("AE", D("0.00"), D("0.00"),
                                                                                 D("100.00"))
    html = __import__("billing.pdf", fromlist=["x"]).render_invoice_html(invoice)
    assert "Reverse charge" in html and "DE136695976" in html and "DK13585628" in html


@pytest.mark.django_db
def test_outside_eu_buyer_in_its_own_currency(billing_setup):
    op = OperatorFactory(country="NO", vat_number="NO995525828MVA", currency="NOK")
    charge_points(op, 1)
    invoice = services.invoice_issue(operator=op, period=NOV, today=CLOSE_DAY)
    # 50.00 DKK converted at the reference rates (7.46 DKK, 11.70 NOK per EUR): 78.4182 NOK
    assert (invoice.currency, invoice.vat_category, invoice.net, invoice.vat) == ("NOK", "O", D("78.42"), D("0"))
    assert "Not subject to Danish VAT" in invoice.vat_note


def _linked(invoice):
    return InvoiceEntry.objects.filter(invoice=invoice).aggregate(s=Sum("transaction__amount"))["s"]


@pytest.mark.django_db
def test_full_credit_note_of_a_paid_invoice(issued):
    op = issued.operator
    before = WalletTransaction.objects.filter(operator=op).aggregate(s=Sum("amount"))["s"]
    cn = services.credit_note_issue(invoice=issued, actor=None, reason="Wrong plan", today=CLOSE_DAY)
    issued.refresh_from_db()
    assert cn.number == "CN-2026-000001" and cn.credit_of_id == issued.pk and cn.series == "CN"
    assert (cn.net, cn.vat, cn.total) == (-issued.net, -issued.vat, -issued.total)
    assert issued.status == "credited"
    assert _linked(cn) == -cn.total == issued.total
    after = WalletTransaction.objects.filter(operator=op).aggregate(s=Sum("amount"))["s"]
    assert after - before == issued.total
    assert [li.net for li in cn.lines.all()] == [-li.net for li in issued.lines.all()]
    with pytest.raises(services.DomainError):
        services.credit_note_issue(invoice=issued, actor=None, reason="again", today=CLOSE_DAY)


@pytest.mark.django_db
def test_partial_credit_note(issued):
    cn = services.credit_note_issue(invoice=issued, actor=None, reason="Goodwill", net=D("10.00"), today=CLOSE_DAY)
    assert (cn.net, cn.vat, cn.total) == (D("-10.00"), D("-2.50"), D("-12.50"))
    issued.refresh_from_db()
    assert issued.status == "paid"
    with pytest.raises(services.DomainError, match="at most 140.00"):
        services.credit_note_issue(invoice=issued, actor=None, reason="Too much", net=D("140.01"), today=CLOSE_DAY)
    services.credit_note_issue(invoice=issued, actor=None, reason="The rest", net=D("140.00"), today=CLOSE_DAY)
    issued.refresh_from_db()
    assert issued.status == "credited"


@pytest.mark.django_db
def test_full_credit_of_an_unpaid_invoice_nets_to_zero(billing_setup):
    op = OperatorFactory()
    charge_points(op, 2)
    invoice = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY).invoice
    assert invoice.status == "issued"  # balance 0: due
    with pytest.raises(services.DomainError, match="paid invoice"):
        services.credit_note_issue(invoice=invoice, actor=None, reason="x", net=D("1.00"))
    cn = services.credit_note_issue(invoice=invoice, actor=None, reason="Cancelled", today=CLOSE_DAY)
    invoice.refresh_from_db()
    assert invoice.status == "credited" and _linked(invoice) == -invoice.total and _linked(cn) == -cn.total
    assert WalletTransaction.objects.filter(operator=op).aggregate(s=Sum("amount"))["s"] == 0


@pytest.mark.django_db
def test_pdf_is_rendered_from_the_snapshot_and_stored(issued):
    op = issued.operator
    Operator.objects.filter(pk=op.pk).update(name="Renamed Later ApS")
    pdf = services.invoice_pdf(issued)
    assert pdf.startswith(b"%PDF")
    html = __import__("billing.pdf", fromlist=["x"]).render_invoice_html(issued)
    assert issued.buyer["name"] in html and "Renamed Later" not in html
    assert bytes(Invoice.objects.get(pk=issued.pk).pdf) == pdf
    assert services.invoice_pdf(Invoice.objects.get(pk=issued.pk)) == pdf
