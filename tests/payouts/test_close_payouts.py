"""The monthly payout in the close: exactly once, with a statement that adds up, and the reasons
for not paying out."""
from decimal import Decimal as D

import pytest
from django.db import connection, transaction

from billing import services as billing
from billing.models import CloseRun, Invoice
from operators.models import Fee, Operator, WalletTransaction
from payouts import services
from payouts.models import Payout
from tests.billing.conftest import CLOSE_DAY, NOV, at, charge, charge_points, deposit
from tests.concurrency import at_once
from tests.factories import OperatorFactory
from tests.payouts.conftest import bank_account, credited, payout_fee

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL row locks")


def balance(op):
    return services.balance_at(op)


def debits(op):
    return WalletTransaction.objects.filter(operator=op, kind__in=["payout", "payout_fee"]).count()


@pytest.mark.django_db
def test_close_pays_out_the_balance_after_the_invoice_less_the_fee(paying):
    result = billing.close_operator_month(operator=paying, period=NOV, today=CLOSE_DAY, send=False)
    invoice = result.invoice
    assert invoice.status == Invoice.Status.PAID
    payout = Payout.objects.get(operator=paying)
    before = balance(paying) + payout.amount + payout.fee
    assert payout.state == Payout.State.PENDING and payout.fee == D("5.00")
    assert payout.amount == before - D("5.00") and payout.amount > 0
    assert payout.invoice == invoice and payout.iban == "DK5000400440116243"
    assert balance(paying) == D("0.00")
    assert "payout PAYOUT-" in result.message and "pending" in result.message
    s = payout.statement
    parts = sum(D(s[k]) for k in ("opening_balance", "income", "fees", "invoice_settled", "deposits", "returned",
                                 "withdrawals", "other"))
    assert parts == D(s["balance"]) == before
    settlement = WalletTransaction.objects.get(reference=f"invoice-settlement:{invoice.pk}")
    assert D(s["invoice_settled"]) == settlement.amount  # the rest of the invoice: its fees were debited already
    assert D(s["invoice_settled"]) + D(s["fees"]) == -invoice.total
    assert D(s["balance"]) + D(s["payout_fee"]) + D(s["amount"]) == D(s["closing_balance"]) == 0
    assert D(s["other"]) == D("1000.00")  # the worked example's deposit is an adjustment entry


@pytest.mark.django_db
def test_close_twice_pays_once(paying):
    billing.close_operator_month(operator=paying, period=NOV, today=CLOSE_DAY, send=False)
    again = billing.close_operator_month(operator=paying, period=NOV, today=CLOSE_DAY, send=False)
    assert again.outcome == CloseRun.Outcome.UNCHANGED
    assert Payout.objects.filter(operator=paying).count() == 1 and debits(paying) == 2
    assert balance(paying) == D("0.00")


@pytest.mark.django_db
def test_failure_after_the_payout_row_leaves_nothing_and_a_rerun_pays_once(paying, monkeypatch):
    real = services._post_payout

    def crash(payout, at):
        real(payout, at)
        raise RuntimeError("worker killed after the payout row and its debit")

    monkeypatch.setattr(services, "_post_payout", crash)
    with pytest.raises(RuntimeError):
        billing.close_operator_month(operator=paying, period=NOV, today=CLOSE_DAY, send=False)
    assert not Payout.objects.exists() and debits(paying) == 0
    monkeypatch.setattr(services, "_post_payout", real)
    billing.close_operator_month(operator=paying, period=NOV, today=CLOSE_DAY, send=False)
    billing.close_operator_month(operator=paying, period=NOV, today=CLOSE_DAY, send=False)
    assert Payout.objects.count() == 1 and debits(paying) == 2


@pytest.mark.django_db
def test_failure_after_commit_before_export_then_rerun_and_export(paying, monkeypatch):
    from payouts import export

    billing.close_operator_month(operator=paying, period=NOV, today=CLOSE_DAY, send=False)
    monkeypatch.setattr(export, "build_xml", lambda *a: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError):
        export.export_all()
    payout = Payout.objects.get()
    assert payout.state == Payout.State.PENDING and payout.batch is None
    monkeypatch.undo()
    billing.close_operator_month(operator=paying, period=NOV, today=CLOSE_DAY, send=False)
    [batch] = export.export_all()
    assert batch.count == 1 and Payout.objects.get().batch == batch and debits(paying) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("setup,reason", [
    ("no_account", Payout.SkipReason.NO_ACCOUNT),
    ("hold", Payout.SkipReason.HOLD),
    ("low", Payout.SkipReason.LOW_BALANCE),
])
def test_no_payout_and_the_reason(worked_example, setup, reason):
    op = worked_example
    payout_fee("5000.00")  # above any balance, for "low"
    if setup != "no_account":
        bank_account(op)
    if setup == "hold":
        Operator.objects.filter(pk=op.pk).update(payout_hold=True, payout_hold_note="KYC review")
        Fee.objects.filter(kind="payout_fixed").update(amount=D("5.00"))
    if setup == "no_account":
        Fee.objects.filter(kind="payout_fixed").update(amount=D("5.00"))
    before_close = billing.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY, send=False)
    payout = Payout.objects.get(operator=op)
    assert payout.state == Payout.State.SKIPPED and payout.skip_reason == reason
    assert payout.amount == 0 and debits(op) == 0
    assert "no payout" in before_close.message
    if setup == "hold":
        assert payout.hold_note == "KYC review"


@pytest.mark.django_db
def test_a_skipped_payout_is_made_when_the_close_runs_again_with_an_account(worked_example):
    payout_fee()
    billing.close_operator_month(operator=worked_example, period=NOV, today=CLOSE_DAY, send=False)
    assert Payout.objects.get().state == Payout.State.SKIPPED
    bank_account(worked_example)
    billing.close_operator_month(operator=worked_example, period=NOV, today=CLOSE_DAY, send=False)
    payout = Payout.objects.get()
    assert payout.state == Payout.State.PENDING and payout.amount > 0 and debits(worked_example) == 2


@pytest.mark.django_db
def test_an_invoice_still_due_keeps_the_balance(billing_setup):
    op = OperatorFactory()
    charge_points(op, 40)  # a plan invoice of well over 100 DKK
    deposit(op, "100.00")
    payout_fee()
    bank_account(op)
    result = billing.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY, send=False)
    assert result.invoice.status == Invoice.Status.ISSUED
    payout = Payout.objects.get(operator=op)
    assert payout.skip_reason == Payout.SkipReason.INVOICE_DUE and balance(op) == D("100.00")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_closes_pay_out_once(billing_setup):
    op = OperatorFactory()
    cps = charge_points(op, 2)
    charge(op, cps[0], at(2026, 11, 5), price="900.00")
    deposit(op, "500.00")
    payout_fee()
    bank_account(op)
    at_once(lambda: billing.close_operator_month(operator=Operator.objects.get(pk=op.pk), period=NOV,
                                                 today=CLOSE_DAY, send=False))
    assert Payout.objects.filter(operator=op).count() == 1 and debits(op) == 2
    assert balance(op) == D("0.00")


@pytest.mark.django_db
def test_the_database_refuses_a_second_monthly_payout(paying):
    billing.close_operator_month(operator=paying, period=NOV, today=CLOSE_DAY, send=False)
    first = Payout.objects.get()
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        Payout.objects.create(operator=paying, period=NOV, currency=first.currency, amount=D("1"), fee=D("0"),
                              state="pending", created_at=first.created_at)



@pytest.mark.django_db
def test_the_next_statement_shows_the_returned_payout_and_deposits(paying):
    from datetime import timedelta

    from tests.billing.conftest import at as moment

    billing.close_operator_month(operator=paying, period=NOV, today=CLOSE_DAY, send=False,
                                 settle_at=moment(2026, 12, 1, 3))
    first = Payout.objects.get()
    from payouts import export

    export.export_all(at=first.created_at + timedelta(minutes=5))
    services.mark_failed(payout=first, code="AC06", at=first.created_at + timedelta(hours=1))
    first.refresh_from_db()
    credited(paying, "40.00")
    dec = billing.close_operator_month(operator=paying, period=NOV.replace(month=12), today=NOV.replace(
        year=2027, month=1), send=False)
    second = Payout.objects.exclude(pk=first.pk).get()
    s = second.statement
    assert D(s["returned"]) == first.amount + first.fee and D(s["deposits"]) == D("40.00")
    assert D(s["opening_balance"]) == 0
    # December's invoice (13 charge points) is more than the balance: it stays due and the
    # balance is kept for it; the statement still says where the balance came from.
    assert dec.invoice.status == Invoice.Status.ISSUED and second.skip_reason == Payout.SkipReason.INVOICE_DUE
    assert D(s["closing_balance"]) == D(s["balance"]) == first.amount + first.fee + D("40.00")
