"""The foundation's main flow in Chromium: the demo Admin signs in, opens the Operator overview,
fixes the company settings after an invalid VAT number and manages bank accounts."""
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from operators.models import BankAccount, Operator
from tests.e2e.conftest import sign_in

PASSWORD = "e2e-demo-password"


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", password=PASSWORD, stdout=open("/dev/null", "w"))
    return Operator.objects.get(slug="demo")


def test_admin_manages_settings_and_bank_accounts(page, demo):
    sign_in(page, "admin@demo.example", PASSWORD)
    expect(page).to_have_url(re.compile(r"/o/demo/$"))
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_test_id("charge-point-count")).to_have_text("25")
    expect(page.get_by_test_id("balance")).to_contain_text("DKK")

    # Settings: an invalid VAT number is refused and nothing is saved.
    page.locator("#settings").get_by_role("link", name="Edit").click()
    page.get_by_label("Company name").fill("Demo Charging Nordic ApS")
    page.get_by_label("VAT number").fill("DK 13 58 56 27")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The check digit of this Denmark VAT number is wrong")).to_be_visible()
    demo.refresh_from_db()
    assert demo.name == "Demo Charging ApS"

    # Fixed: saved, normalised, and on the Audit log page.
    page.get_by_label("VAT number").fill("dk 13 58 56 28")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.locator("#settings")).to_contain_text("Demo Charging Nordic ApS")
    expect(page.get_by_test_id("last-changed")).to_contain_text("by Alma Admin")
    page.get_by_role("link", name="Audit log").click()
    log = page.get_by_test_id("audit-log")
    expect(log).to_contain_text("operator.settings_updated")
    expect(log).to_contain_text("Demo Charging Nordic ApS")
    expect(log).to_contain_text("admin@demo.example")

    # Bank accounts: a bad IBAN is refused, a good one is added, then made the default.
    page.get_by_role("link", name="Operator Overview").click()
    page.get_by_role("link", name="Add new").click()
    page.get_by_label("Account holder").fill("Demo Charging Nordic ApS")
    page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 01")
    page.get_by_role("button", name="Add bank account").click()
    expect(page.get_by_text("The check digits of this IBAN are wrong")).to_be_visible()
    page.get_by_label("IBAN").fill("de89 3704 0044 0532 0130 00")
    page.get_by_role("button", name="Add bank account").click()
    expect(page.get_by_text("Bank account DE•• •••• 3000 added.")).to_be_visible()
    row = page.get_by_test_id("bank-accounts").locator("tr", has_text="DE•• •••• 3000")
    expect(row).to_contain_text("COBADEFFXXX")
    row.get_by_role("button", name="Make default").click()
    expect(page.get_by_text("Default payout account changed.")).to_be_visible()
    row = page.get_by_test_id("bank-accounts").locator("tr", has_text="DE•• •••• 3000")
    expect(row).to_contain_text("Default for payouts")
    assert BankAccount.objects.get(operator=demo, is_default=True).iban == "DE89370400440532013000"


def test_supporter_sees_overview_but_no_edit_or_bank_accounts(page, demo):
    sign_in(page, "supporter@demo.example", PASSWORD)
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    expect(page.locator("#settings").get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.locator("#bank-accounts")).to_have_count(0)
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    page.goto("/o/nordlys/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
