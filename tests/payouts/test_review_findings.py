"""Found in the fresh-eyes review of payouts: each test failed on the code before its fix."""
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from charging.ledger import post_charges
from operators.models import Fee, WalletTransaction
from payouts import bank_reports, export, services
from payouts.models import Payout
from portal.permissions import Role
from tests.factories import ChargeFactory, OperatorFactory, member
from tests.payouts.conftest import bank_account, credited, payout_fee
from tests.payouts.test_export_and_returns import camt054, pain002, pending


@pytest.fixture
def exported(seller):
    op = OperatorFactory(country="DE", currency="EUR")
    payout = pending(op, "1000.00", iban="DE89370400440532013000", bic="COBADEFFXXX")
    export.export_all()
    payout.refresh_from_db()
    return payout


def _camt(rows, amount_ccy="EUR"):
    return camt054(rows).replace(b"Ccy='EUR'", f"Ccy='{amount_ccy}'".encode())


@pytest.mark.django_db
def test_a_credit_naming_a_payout_without_return_information_is_not_a_return(exported):
    bank_reports.apply(camt054([(exported.reference, "1000.00", "DBIT", "")]))
    exported.refresh_from_db()
    assert exported.state == Payout.State.PAID
    result = bank_reports.apply(camt054([(exported.reference, "0.01", "CRDT", "")]))  # anyone can send this
    exported.refresh_from_db()
    assert exported.state == Payout.State.PAID and result.returned == []
    assert services.balance_at(exported.operator) == D("-1000.00")


@pytest.mark.django_db
@pytest.mark.parametrize("amount,ccy", [("999.99", "EUR"), ("1000.00", "DKK")])
def test_a_line_whose_amount_or_currency_differs_is_not_applied(exported, amount, ccy):
    result = bank_reports.apply(_camt([(exported.reference, amount, "DBIT", "")], ccy))
    exported.refresh_from_db()
    assert exported.state == Payout.State.EXPORTED and result.mismatched == [exported.reference]
    assert "amount or currency differs" in result.summary()


@pytest.mark.django_db
@pytest.mark.parametrize("e2e", ["PAYOUT-\u00b2", "PAYOUT-\uff11", "CPO-PAYOUTS-\u00b2"])
def test_non_ascii_digits_in_a_reference_are_not_ours_and_no_500(exported, e2e):
    result = bank_reports.apply(pain002([(e2e, "ACSC", "", "")], group=(e2e, "FF01")))
    assert result.unknown and result.paid == [] and result.returned == []


@pytest.mark.django_db
def test_a_rejection_with_a_line_break_or_a_long_code_is_applied(exported):
    result = bank_reports.apply(pain002([(exported.reference, "RJCT", "AC0400", "Account closed\n\tby customer")]))
    exported.refresh_from_db()
    assert result.returned == [exported.reference]
    assert exported.reason_code == "NARR" and "Account closed by customer" in exported.reason_text
    assert "AC0400" in exported.reason_text


@pytest.mark.django_db
def test_no_exchange_rate_for_the_payout_fee_is_a_reason_not_a_500(login, seller):
    op = OperatorFactory(country="IS", currency="JPY")  # JPY has no rate; the fee is in EUR
    Fee.objects.create(kind=Fee.Kind.PAYOUT_FIXED, amount=D("1.00"), currency="EUR", valid_from=date(2020, 1, 1))
    bank_account(op)
    client = login(member(op, Role.BOOKKEEPER))
    for name in ("operators:overview", "payouts:list", "payouts:withdraw"):
        response = client.get(reverse(name, args=[op.slug]))
        assert response.status_code == 200 and "no exchange rate" in response.content.decode().lower()
    payout = services.monthly_payout(operator=op, period=date(2026, 11, 1))
    assert payout.skip_reason == Payout.SkipReason.NO_RATE


@pytest.mark.django_db
def test_a_future_dated_debit_never_lets_a_payout_take_the_wallet_below_zero(seller):
    op = OperatorFactory()
    bank_account(op)
    credited(op, "1000.00")
    later = timezone.now() + timedelta(days=400)
    WalletTransaction.objects.create(operator=op, created_at=later, completed_at=later, group="charge",
                                     kind="platform_fee", amount=D("-300.00"), currency="DKK", reference="future")
    payout = services.monthly_payout(operator=op, period=date(2026, 11, 1))
    assert payout.amount == D("700.00") and services.balance_at(op) == D("0.00")


@pytest.mark.django_db
def test_many_small_refunds_give_back_no_more_fee_or_vat_than_the_charge_had(seller):
    op = OperatorFactory()
    Fee.objects.create(kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=D("10"), valid_from=date(2020, 1, 1))
    charge = ChargeFactory(operator=op, price=D("1.00"), vat_amount=D("0.20"))
    post_charges(operator=op, charges=[charge])
    credited(op, "100.00", token="c" * 16)
    for n in range(20):
        services.refund(operator=op, actor=None, charge_id=charge.pk, amount="0.05", token=f"refund-token-{n:04d}")
    fee_back = sum(e.amount for e in WalletTransaction.objects.filter(operator=op, kind="platform_fee", amount__gt=0))
    assert fee_back == D("0.10")  # exactly the percentage fee the charge paid
    vat_back = -sum(c.vat_amount for c in charge.credits.all())
    assert vat_back == D("0.20") and services.refundable(charge) == 0


@pytest.mark.django_db
def test_a_name_the_file_cannot_carry_is_named_and_the_rest_still_exported(seller):
    good = pending(OperatorFactory(), "10.00")
    bad = pending(OperatorFactory(country="DE", currency="EUR"), "20.00", iban="DE89370400440532013000",
                  bic="COBADEFFXXX", holder_name="\U0001f697\u26a1")
    problems = []
    batches = export.export_all(problems=problems)
    assert [b.currency for b in batches] == ["DKK"]
    assert len(problems) == 1 and bad.reference in problems[0]
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.state == Payout.State.PENDING and good.state == Payout.State.EXPORTED


@pytest.mark.django_db
def test_a_pending_payout_cannot_be_marked_failed(seller):
    p = pending(OperatorFactory(), "10.00")
    with pytest.raises(services.NotAllowed):
        services.mark_failed(payout=p, code="AC04")
    assert services.balance_at(p.operator) == D("-10.00")


@pytest.mark.django_db
def test_an_unconfirmed_deposit_cannot_be_withdrawn(seller, login):
    op = OperatorFactory()
    bank_account(op)
    payout_fee()
    services.deposit(operator=op, actor=None, amount="999999999.99", bank_reference="fake", token="z" * 16)
    with pytest.raises(services.NotAllowed):
        services.withdraw(operator=op, actor=None, amount="100.00", token="w" * 16)
    assert not Payout.objects.exists()
