"""The monthly close: the worked example of docs/billing.md, settlement, idempotency, resume."""
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db.models import Sum

from billing import pricing, services
from billing.models import CloseRun, Invoice, InvoiceEntry
from charging.models import ChargePoint
from operators.models import WalletTransaction
from portal.models import AuditEvent
from tests.billing.conftest import CLOSE_DAY, NOV, at, charge, charge_points, deposit
from tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db

D = Decimal


def ledger(op):
    return list(WalletTransaction.objects.filter(operator=op).order_by("id").values_list("reference", "amount"))


def balance(op):
    return WalletTransaction.objects.filter(operator=op).aggregate(s=Sum("amount"))["s"]


def linked_sum(invoice):
    return InvoiceEntry.objects.filter(invoice=invoice).aggregate(s=Sum("transaction__amount"))["s"]


def test_worked_example(worked_example, django_capture_on_commit_callbacks, eager):
    op = worked_example
    with django_capture_on_commit_callbacks(execute=True):
        result = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY)
    invoice = result.invoice
    assert result.outcome == "settled"
    lines = [(li.description, li.quantity, li.unit_price, li.net) for li in invoice.lines.all()]
    assert lines == [
        ("Subscription November 2026, charge points 1–10", D("10.0000"), D("50.0000"), D("500.00")),
        ("Subscription November 2026, charge points 11–50", D("2.5000"), D("40.0000"), D("100.00")),
        ("Platform fees on charges: 3 charges, 1 credit refunded", D("1.0000"), D("13.0000"), D("13.00")),
    ]
    assert (invoice.net, invoice.vat, invoice.total) == (D("613.00"), D("153.25"), D("766.25"))
    assert (invoice.vat_category, invoice.vat_rate) == ("S", D("25.00"))
    assert invoice.number == "INV-2026-000001" and invoice.status == "paid"
    assert invoice.issue_date == CLOSE_DAY and invoice.due_date == date(2026, 12, 15)
    # the fee entries (−18.00 + 5.00) plus one settlement of −753.25 = −766.25
    settlement = WalletTransaction.objects.get(reference=f"invoice-settlement:{invoice.pk}")
    assert settlement.amount == D("-753.25")
    assert linked_sum(invoice) == -invoice.total
    assert balance(op) == D("433.75")  # 300 − 100 income, −13 fees, +1000 deposit, −753.25
    assert invoice.seller["name"] == "CPO Platform ApS" and invoice.buyer["vat_number"] == "DK13585628"
    cps = invoice.details["charge_points"]
    assert len(cps) == 13 and sorted(r[5] for r in cps) == [15] + [30] * 12
    # mailed once, with the PDF
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["finance@operator.test"]
    assert mail.outbox[0].attachments[0][0] == "INV-2026-000001.pdf"
    invoice.refresh_from_db()
    assert invoice.emailed_at is not None
    verbs = set(AuditEvent.objects.filter(operator=op).values_list("verb", flat=True))
    assert {"invoice.issued", "invoice.settled"} <= verbs


def test_close_twice_changes_nothing(worked_example, django_capture_on_commit_callbacks, eager):
    op = worked_example
    with django_capture_on_commit_callbacks(execute=True):
        services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY)
    before = (ledger(op), list(Invoice.objects.values_list("id", "number", "status", "total")))
    with django_capture_on_commit_callbacks(execute=True):
        again = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY)
    assert again.outcome == "unchanged"
    assert (ledger(op), list(Invoice.objects.values_list("id", "number", "status", "total"))) == before
    assert len(mail.outbox) == 1


def test_failure_after_numbering_then_rerun_settles_once(worked_example, monkeypatch):
    op = worked_example
    real = services.settle_open_invoices

    def crash(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(services, "settle_open_invoices", crash)
    [result] = services.close_month(period=NOV, operators=[op], today=CLOSE_DAY)
    assert result.outcome == "failed" and "worker killed" in result.message
    invoice = Invoice.objects.get(operator=op)
    assert invoice.status == "issued" and invoice.number == "INV-2026-000001"
    assert not WalletTransaction.objects.filter(kind="invoice_settlement").exists()
    assert CloseRun.objects.get(operator=op).outcome == "failed"

    monkeypatch.setattr(services, "settle_open_invoices", real)
    result = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY)
    result2 = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY)
    assert result.outcome == "settled" and result2.outcome == "unchanged"
    assert Invoice.objects.filter(operator=op).count() == 1
    assert WalletTransaction.objects.filter(kind="invoice_settlement").count() == 1
    assert linked_sum(invoice) == -invoice.total


def test_failure_for_one_operator_does_not_stop_the_others(billing_setup, monkeypatch):
    good, bad = OperatorFactory(), OperatorFactory()
    charge_points(good, 2)
    charge_points(bad, 2)
    deposit(good, "500.00")
    real = services.invoice_issue

    def issue(*, operator, **kw):
        if operator.pk == bad.pk:
            raise ValueError("broken buyer data")
        return real(operator=operator, **kw)

    monkeypatch.setattr(services, "invoice_issue", issue)
    results = {r.operator.pk: r for r in services.close_month(period=NOV, operators=[bad, good], today=CLOSE_DAY)}
    assert results[bad.pk].outcome == "failed" and "broken buyer data" in results[bad.pk].message
    assert results[good.pk].outcome == "settled"


def test_balance_too_low_stays_due_then_later_close_settles_oldest_first(billing_setup):
    op = OperatorFactory()
    charge_points(op, 2)  # 2 × 50.00 = 100.00 + 25 % = 125.00 a month
    oct_ = services.close_operator_month(operator=op, period=date(2026, 10, 1), today=date(2026, 11, 1))
    assert oct_.outcome == "due" and oct_.invoice.status == "issued"
    deposit(op, "130.00", when=at(2026, 11, 20))
    nov = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY)
    oct_inv = Invoice.objects.get(operator=op, period=date(2026, 10, 1))
    assert oct_inv.status == "paid"  # the older one first
    assert nov.invoice.status == "issued"  # 5.00 left: not enough for November
    assert balance(op) == D("5.00")
    deposit(op, "200.00", when=at(2026, 12, 2), ref="later")
    services.settle_open_invoices(operator=op)
    nov.invoice.refresh_from_db()
    assert nov.invoice.status == "paid" and balance(op) == D("80.00")


def test_nothing_issues_for_a_month_not_over(billing_setup):
    op = OperatorFactory()
    charge_points(op, 1)
    with pytest.raises(services.MonthNotOver):
        services.close_operator_month(operator=op, period=NOV, today=date(2026, 11, 30))
    assert not Invoice.objects.exists()


def test_dry_run_numbers_and_posts_nothing(worked_example):
    op = worked_example
    before = ledger(op)
    result = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY, dry_run=True)
    assert result.preview.total == D("766.25")
    assert "would invoice 766.25 DKK" in result.message
    assert ledger(op) == before and not Invoice.objects.exists() and not InvoiceEntry.objects.exists()


def test_empty_month_issues_nothing(billing_setup):
    op = OperatorFactory()
    result = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY)
    assert result.outcome == "empty" and not Invoice.objects.exists()


def test_pro_rata_removed_charge_point(billing_setup):
    op = OperatorFactory()
    keep, gone = charge_points(op, 2)
    with time_machine.travel(at(2026, 11, 10, 15), tick=False):
        gone.delete()
    lines, details = pricing.subscription_lines(operator=op, period=NOV)
    # keep: 30 days, gone: 1–10 November (the day it was removed counts) = 40 charge point days
    assert sorted(r[5] for r in details["charge_points"]) == [10, 30]
    [line] = lines
    assert (line.quantity, line.net) == (D("1.3333"), D("66.67"))  # 40 / 30 × 50.00, rounded once


def test_late_fee_entry_of_a_closed_month_is_billed_next_month(billing_setup):
    op = OperatorFactory()
    [cp] = charge_points(op, 1)
    deposit(op, "1000.00")
    services.close_operator_month(operator=op, period=date(2026, 10, 1), today=date(2026, 11, 1))
    charge(op, cp, at(2026, 10, 30))  # imported after October was closed
    nov = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY).invoice
    fee_line = nov.lines.get(kind="platform_fee")
    assert fee_line.net == D("6.00") and fee_line.covers["entries"] == 1


def test_charge_point_removal_is_remembered(billing_setup):
    op = OperatorFactory()
    [cp] = charge_points(op, 1)
    pk = cp.pk
    cp.delete()
    assert not ChargePoint.objects.filter(pk=pk).exists()
    from billing.models import ChargePointRemoval

    assert ChargePointRemoval.objects.get(charge_point_id=pk).operator_id == op.pk
