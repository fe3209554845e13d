"""Payouts and wallet actions in Chromium: the Bookkeeper records a deposit, refunds part of a
charge and opens a payout's statement; the Manager sees no wallet actions."""
from datetime import date
from decimal import Decimal as D

import pytest
from playwright.sync_api import expect

from charging.ledger import post_charges
from operators.models import Fee
from payouts.models import WalletAction
from payouts.services import balance_at
from portal.permissions import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, ChargeFactory, OperatorFactory, PayoutFactory, member


@pytest.fixture
def setup(transactional_db):
    op = OperatorFactory(slug="ladeklar", name="Ladeklar ApS", currency="DKK")
    Fee.objects.create(kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=D("10"), valid_from=date(2020, 1, 1))
    charge = ChargeFactory(operator=op, price=D("200.00"), vat_amount=D("40.00"), external_id="CDR-E2E-1")
    post_charges(operator=op, charges=[charge])
    payout = PayoutFactory(operator=op, period=date(2026, 10, 1), state="returned", reason_code="AC06",
                           reason_text="Blocked account")
    return {"op": op, "charge": charge, "payout": payout,
            "bookkeeper": member(op, Role.BOOKKEEPER, user__email="birgit@ladeklar.test"),
            "manager": member(op, Role.MANAGER, user__email="mads@ladeklar.test")}


def test_bookkeeper_deposits_refunds_and_reads_a_statement(page, setup):
    op = setup["op"]
    sign_in(page, "birgit@ladeklar.test", PASSWORD)
    page.goto(f"/o/{op.slug}/wallet/")
    page.get_by_role("link", name="Deposit", exact=True).click()
    page.get_by_label("Amount (DKK)").fill("1000.005")
    page.get_by_label("Bank reference").fill("NDEA-4471")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert").first).to_contain_text("at most 2 decimals")
    page.get_by_label("Amount (DKK)").fill("1000.00")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("balance-after")).to_have_text("1\u202f180.00 DKK")  # 180.00 + 1 000.00
    page.get_by_role("button", name="Confirm deposit").click()
    expect(page.get_by_text("Deposit of 1\u202f000.00 DKK recorded")).to_be_visible()
    expect(page.get_by_test_id("deposits")).to_contain_text("Awaiting confirmation")
    expect(page.get_by_test_id("deposits")).to_contain_text("NDEA-4471")
    expect(page.get_by_test_id("balance")).to_have_text("180.00 DKK")  # credited once the platform confirms

    page.goto(f"/o/{op.slug}/charges/{setup['charge'].pk}/")
    page.get_by_test_id("refund").click()
    page.get_by_label("Amount (DKK)").fill("50")
    page.get_by_label("Reason").fill("Cable fault")
    page.get_by_role("button", name="Continue").click()
    confirmation = page.get_by_test_id("confirmation")
    expect(confirmation).to_contain_text("-50.00 DKK")
    expect(confirmation).to_contain_text("5.00 DKK")  # 10 % fee given back
    expect(page.get_by_test_id("balance-after")).to_have_text("135.00 DKK")
    page.get_by_role("button", name="Confirm refund").click()
    expect(page.get_by_text("Refund of 50.00 DKK recorded")).to_be_visible()
    expect(page.get_by_test_id("charge-ledger")).to_contain_text("Refund of charge CDR-E2E-1")
    assert balance_at(op) == D("135.00") and WalletAction.objects.count() == 2

    page.get_by_role("link", name="Payouts").click()
    expect(page.get_by_test_id("payouts")).to_contain_text("AC06 Blocked account")
    page.get_by_role("link", name="October 2026").click()
    statement = page.get_by_test_id("statement")
    expect(statement).to_contain_text("Invoice settled")
    expect(statement).to_contain_text("Amount paid out")
    expect(page.get_by_test_id("payout")).to_contain_text("DK•• •••• 6243")


def test_manager_sees_no_wallet_actions(page, setup):
    op = setup["op"]
    sign_in(page, "mads@ladeklar.test", PASSWORD)
    page.goto(f"/o/{op.slug}/wallet/")
    expect(page.get_by_role("heading", name="Wallet transactions")).to_be_visible()
    expect(page.get_by_role("link", name="Deposit", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Withdraw")).to_have_count(0)
    expect(page.get_by_role("link", name="Payouts")).to_have_count(0)
    page.goto(f"/o/{op.slug}/charges/{setup['charge'].pk}/")
    expect(page.get_by_test_id("refund")).to_have_count(0)
    response = page.goto(f"/o/{op.slug}/wallet/deposit/")
    assert response.status == 403
