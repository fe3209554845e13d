"""Bad input in Chromium: a typed BIC that contradicts the IBAN's bank is refused on the field
with the bank's own BIC named; leaving it empty saves the registry's BIC."""
import os

import pytest
from playwright.sync_api import expect

from operators.models import BankAccount
from portal.permissions import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, OperatorFactory, member


@pytest.fixture
def admin(transactional_db):
    operator = OperatorFactory(slug="bic")
    return operator, member(operator, Role.ADMIN, user__email="bic-admin@example.test")


def test_a_bic_of_another_bank_is_refused_then_the_registrys_is_used(page, admin):
    operator, user = admin
    sign_in(page, user.email, PASSWORD)
    page.goto(f"/o/{operator.slug}/bank-accounts/new/")
    page.get_by_label("Account holder").fill("Operator ApS")
    page.get_by_label("IBAN").fill("DK50 0040 0440 1162 43")
    page.get_by_label("BIC (SWIFT)").fill("DABADKKK")
    page.get_by_role("button", name="Add bank account").click()
    expect(page.get_by_text("is not the BIC of the bank this IBAN belongs to (NORDEA BANK DANMARK A/S, BIC "
                            "NDEADKKK)")).to_be_visible()
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "bic-mismatch.png"), full_page=True)
    assert not BankAccount.objects.exists()
    page.get_by_label("BIC (SWIFT)").fill("")
    page.get_by_role("button", name="Add bank account").click()
    expect(page.get_by_text("Bank account DK•• •••• 6243 added.")).to_be_visible()
    assert BankAccount.objects.get(operator=operator).bic == "NDEADKKK"
