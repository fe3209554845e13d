"""Deposit, Withdraw and Refund through the pages, as a Bookkeeper would, and the money rules."""
from decimal import Decimal as D

import pytest
from django.db import connection

from charging.ledger import post_charges
from operators.models import WalletTransaction
from payouts import services
from payouts.models import Payout, WalletAction
from portal.models import AuditEvent
from portal.permissions import Role
from tests.factories import ChargeFactory, OperatorFactory, member
from tests.payouts.conftest import bank_account, credited, payout_fee


@pytest.fixture
def op(db):
    from datetime import date

    from operators.models import Fee

    op = OperatorFactory(currency="DKK")
    Fee.objects.create(kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=D("10"), valid_from=date(2020, 1, 1))
    Fee.objects.create(kind=Fee.Kind.TRANSACTION_FIXED, amount=D("1.00"), currency="DKK", valid_from=date(2020, 1, 1))
    return op


@pytest.fixture
def bookkeeper(op, login):
    return login(member(op, Role.BOOKKEEPER))


def url(op, name, *args):
    from django.urls import reverse

    return reverse(f"payouts:{name}", args=[op.slug, *args])


def token(client, path):
    page = client.get(path)
    assert page.status_code == 200
    return page.context["form"]["token"].value()


def submit(client, path, data, confirm=True):
    data = {"token": token(client, path), **data}
    review = client.post(path, data)
    if not confirm or review.status_code != 200 or not review.context.get("confirming"):
        return review, data
    return client.post(path, {**data, "confirm": "yes"}), data


def balance(op):
    return services.balance_at(op)


@pytest.mark.django_db
def test_deposit_confirms_with_the_balance_after_and_posts_once(op, bookkeeper):
    path = url(op, "deposit")
    data = {"token": token(bookkeeper, path), "amount": "1 250.50", "bank_reference": "NDEA-778812", "note": ""}
    review = bookkeeper.post(path, data)
    assert review.status_code == 200 and review.context["confirming"]
    assert "1\u202f250.50 DKK" in review.content.decode() and not WalletAction.objects.exists()  # nothing yet
    done = bookkeeper.post(path, {**data, "confirm": "yes"}, follow=True)
    assert "credited to your balance once the platform confirms" in done.content.decode()
    assert "NDEA-778812" in done.content.decode()  # listed under Deposits, awaiting confirmation
    again = bookkeeper.post(path, {**data, "confirm": "yes"}, follow=True)  # the double submit
    assert "already recorded" in again.content.decode()
    action = WalletAction.objects.get()
    # Only the operator's word so far: not in the balance, cannot be withdrawn or settle anything.
    assert action.state == WalletAction.State.PENDING and balance(op) == 0
    assert not WalletTransaction.objects.filter(operator=op, kind="deposit").exists()
    assert services.confirm_deposit(action=action, actor=None) is True
    assert services.confirm_deposit(action=action, actor=None) is False  # once
    assert balance(op) == D("1250.50")
    entry = WalletTransaction.objects.get(operator=op, kind="deposit")
    assert "NDEA-778812" in entry.note
    event = AuditEvent.objects.get(verb="wallet.deposit")
    assert event.actor.email and event.changes["amount"]["after"] == "1250.50"
    assert AuditEvent.objects.filter(verb="wallet.deposit_confirmed").count() == 1


@pytest.mark.django_db
def test_a_rejected_deposit_credits_nothing_and_says_why(op, bookkeeper):
    from django.urls import reverse

    outcome = services.deposit(operator=op, actor=None, amount="999999999.00", bank_reference="FAKE", token="x" * 16)
    with pytest.raises(services.NotAllowed):
        services.reject_deposit(action=outcome.action, actor=None, note="  ")
    assert services.reject_deposit(action=outcome.action, actor=None, note="No such transfer on 2 Dec") is True
    assert services.confirm_deposit(action=outcome.action, actor=None) is False
    assert balance(op) == 0
    page = bookkeeper.get(reverse("charging:wallet", args=[op.slug])).content.decode()
    assert "Not received" in page and "No such transfer on 2 Dec" in page
    quote = services.withdraw_quote(op)
    assert quote["available"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("amount,error", [
    ("0", "more than 0"), ("-5", "more than 0"), ("10.005", "at most 2 decimals"), ("abc", "not a number"),
    ("1e999999", "not a number"), ("", "Enter an amount"), ("NaN", "not a number"), ("١٢", "digits 0-9"),
    ("1e5", "not a number"), ("+5", "not a number"), ("1_000", "not a number"), ("1,5", "decimal point"),
    ("9" * 16, "not a number"),
])
def test_bad_amounts_are_refused_with_a_specific_error(op, bookkeeper, amount, error):
    response, _ = submit(bookkeeper, url(op, "deposit"), {"amount": amount, "bank_reference": "X1"})
    assert response.status_code == 400
    assert error in " ".join(response.context["form"].errors["amount"])
    assert not WalletTransaction.objects.exists() and not WalletAction.objects.exists()


@pytest.mark.django_db
def test_a_currency_without_decimals(login):
    op = OperatorFactory(currency="ISK", country="IS")
    client = login(member(op, Role.ADMIN))
    response, _ = submit(client, url(op, "deposit"), {"amount": "100.5", "bank_reference": "X1"})
    assert "ISK amounts have no decimals" in " ".join(response.context["form"].errors["amount"])
    response, _ = submit(client, url(op, "deposit"), {"amount": "100", "bank_reference": "X1"})
    assert response.status_code == 302
    services.confirm_deposit(action=WalletAction.objects.get(operator=op), actor=None)
    assert balance(op) == D("100")


@pytest.mark.django_db
def test_withdraw_up_to_the_balance_less_the_fee(op, bookkeeper):
    payout_fee()
    bank_account(op)
    credited(op, "100.00")
    too_much, _ = submit(bookkeeper, url(op, "withdraw"), {"amount": "95.01"})
    assert too_much.status_code == 400 and "At most 95.00 DKK" in too_much.content.decode()
    done, data = submit(bookkeeper, url(op, "withdraw"), {"amount": "95.00"})
    assert done.status_code == 302
    bookkeeper.post(url(op, "withdraw"), {**data, "confirm": "yes"})  # double submit
    payout = Payout.objects.get(operator=op)
    assert payout.kind == "withdrawal" and payout.amount == D("95.00") and payout.fee == D("5.00")
    assert payout.state == Payout.State.PENDING and balance(op) == D("0.00")
    assert WalletTransaction.objects.filter(operator=op, kind="payout").count() == 1


@pytest.mark.django_db
def test_withdraw_without_a_default_account_says_why(op, bookkeeper):
    credited(op, "100.00")
    page = bookkeeper.get(url(op, "withdraw"))
    assert "No default bank account" in page.content.decode()
    forced = bookkeeper.post(url(op, "withdraw"), {"token": "a" * 32, "amount": "10", "confirm": "yes"})
    assert forced.status_code == 400 and not Payout.objects.exists()


def _charge(op, price="200.00", vat="40.00"):
    c = ChargeFactory(operator=op, price=D(price), vat_amount=D(vat))
    post_charges(operator=op, charges=[c])
    return c


@pytest.mark.django_db
def test_refund_part_of_a_charge_gives_back_the_percentage_fee(op, bookkeeper):
    c = _charge(op)  # income 200.00, fee 10 % + 1.00 = 21.00 → balance 179.00
    assert balance(op) == D("179.00")
    response, data = submit(bookkeeper, url(op, "refund", c.pk), {"amount": "50.00", "reason": "Cable fault"},
                            confirm=False)
    assert response.context["quote"]["fee_back"] == D("5.00") and response.context["quote"]["balance_after"] == D("134.00")
    done = bookkeeper.post(url(op, "refund", c.pk), {**data, "confirm": "yes"})
    assert done.status_code == 302
    bookkeeper.post(url(op, "refund", c.pk), {**data, "confirm": "yes"})  # double submit
    assert balance(op) == D("134.00")
    credit = c.credits.get()
    assert credit.price == D("-50.00") and credit.vat_amount == D("-10.00")
    assert services.refundable(c) == D("150.00")
    over, _ = submit(bookkeeper, url(op, "refund", c.pk), {"amount": "150.01"})
    assert over.status_code == 400 and "At most 150.00 DKK" in over.content.decode()


@pytest.mark.django_db
def test_refund_never_takes_the_balance_negative(op, bookkeeper):
    c = _charge(op)
    WalletTransaction.objects.create(operator=op, created_at=c.stopped_at, completed_at=c.stopped_at, group="other",
                                     kind="adjustment", amount=D("-170.00"), currency="DKK", reference="adj-1")
    response, _ = submit(bookkeeper, url(op, "refund", c.pk), {"amount": "100.00"})
    assert response.status_code == 400 and "does not cover" in response.content.decode()
    assert balance(op) == D("9.00") and not c.credits.exists()


@pytest.mark.django_db
def test_a_credit_or_failed_charge_cannot_be_refunded(op, bookkeeper):
    c = _charge(op)
    credit = ChargeFactory(operator=op, price=D("-200.00"), vat_amount=D("-40.00"), credit_of=c)
    for charge in (credit, ChargeFactory(operator=op, state="failed")):
        page = bookkeeper.get(url(op, "refund", charge.pk))
        assert "nothing left to refund" in page.content.decode()
        response, _ = submit(bookkeeper, url(op, "refund", charge.pk), {"amount": "1.00"})
        assert response.status_code == 400


@pytest.mark.django_db
def test_another_operators_charge_is_404(op, bookkeeper):
    other = _charge(OperatorFactory())
    assert bookkeeper.get(url(op, "refund", other.pk)).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.MANAGER, Role.SUPPORTER])
def test_manager_and_supporter_see_no_wallet_actions_and_are_refused(op, login, role):
    client = login(member(op, role))
    c = _charge(op)
    from django.urls import reverse

    wallet = client.get(reverse("charging:wallet", args=[op.slug])).content.decode()
    assert url(op, "deposit") not in wallet and url(op, "withdraw") not in wallet
    assert url(op, "refund", c.pk) not in client.get(reverse("charging:charge_detail", args=[op.slug, c.pk])).content.decode()
    for path, data in [(url(op, "deposit"), {"amount": "1", "bank_reference": "x"}), (url(op, "withdraw"), {"amount": "1"}),
                       (url(op, "refund", c.pk), {"amount": "1"})]:
        assert client.post(path, {**data, "token": "a" * 32, "confirm": "yes"}).status_code == 403
    assert not WalletAction.objects.exists()


@pytest.mark.django_db
def test_payouts_page_and_statement(op, bookkeeper):
    from tests.factories import PayoutFactory

    p = PayoutFactory(operator=op, state="returned", reason_code="AC06", reason_text="Blocked account")
    PayoutFactory(operator=op, state="skipped", skip_reason="no_account", amount=D("0"), fee=D("0"))
    page = bookkeeper.get(url(op, "list")).content.decode()
    assert p.reference in page and "DK•• •••• 6243" in page and "DK5000400440116243" not in page
    assert "AC06" in page and "No default bank account" in page
    detail = bookkeeper.get(url(op, "detail", p.pk)).content.decode()
    for text in ("Opening balance", "Charging income", "Platform fees", "Invoice settled", "Payout fee",
                 "Amount paid out", "1\u202f234.50 DKK"):
        assert text in detail
    other = PayoutFactory(operator=OperatorFactory())
    assert bookkeeper.get(url(op, "detail", other.pk)).status_code == 404


@pytest.mark.django_db
def test_overview_shows_the_next_expected_payout(op, bookkeeper, login):
    from django.urls import reverse

    payout_fee()
    bank_account(op)
    credited(op, "300.00")
    page = bookkeeper.get(reverse("operators:overview", args=[op.slug])).content.decode()
    assert "Next expected payout" in page and "295.00 DKK" in page
    manager = login(member(op, Role.MANAGER))
    assert "Next expected payout" not in manager.get(reverse("operators:overview", args=[op.slug])).content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_the_same_form_submitted_twice_at_once_posts_once():
    from tests.concurrency import at_once

    op = OperatorFactory()
    outcomes = at_once(lambda: services.deposit(operator=op, actor=None, amount="75.00", bank_reference="R-1",
                                                token="f" * 32))
    assert sorted(o.repeated for o in outcomes) == [False, True]
    assert WalletAction.objects.filter(operator=op).count() == 1
