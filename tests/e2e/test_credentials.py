"""The Manager manages a payment-terminal credential in Chromium; the Supporter gets no access."""
import re

import pytest
from playwright.sync_api import expect

from credentials.models import Credential
from portal.permissions import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, OperatorFactory, member

SECRET = "pk_live_BROWSER1a2b3c4d5e6f7a8b9c0d1e2fK9M3"
REPLACEMENT = "pk_live_ROTATED9f8e7d6c5b4a3f2e1d0c9b8aZ2P7"


@pytest.mark.django_db(transaction=True)
def test_manager_creates_sees_masked_replaces_and_deletes(page):
    operator = OperatorFactory(name="Demo Charging ApS", slug="demo")
    manager = member(operator, Role.MANAGER, user__email="manager@demo.example", user__name="Mads Manager")
    sign_in(page, manager.email, PASSWORD)

    page.get_by_role("link", name="Credentials").click()
    expect(page.get_by_role("heading", name="Credentials", exact=True)).to_be_visible()
    page.get_by_role("link", name="New").click()
    expect(page.get_by_role("heading", name="Select the platform")).to_be_visible()
    page.get_by_role("link", name=re.compile("^Payter")).click()

    page.get_by_label("Name").fill("Payter – Vesterbro")
    page.get_by_label("API key").fill(SECRET)
    page.get_by_label("Terminal serial number").fill("p68d0042137")
    page.get_by_label("Environment").select_option("production")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Credentials “Payter – Vesterbro” for Payter saved.")).to_be_visible()
    row = page.get_by_test_id("credential-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("masked-secret")).to_have_text("••••K9M3")
    expect(row).to_contain_text("P68D0042137")
    expect(row).to_contain_text("Mads Manager")
    assert SECRET not in page.content()

    row.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Replace API key")).to_have_value("")  # never sent back
    assert SECRET not in page.content()
    page.get_by_label("Replace API key").fill(REPLACEMENT)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("1 secret(s) replaced")).to_be_visible()
    expect(page.get_by_test_id("masked-secret")).to_have_text("••••Z2P7")
    assert SECRET not in page.content() and REPLACEMENT not in page.content()

    page.get_by_test_id("credential-row").get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete “Payter – Vesterbro”?")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Credentials “Payter – Vesterbro” deleted.")).to_be_visible()
    expect(page.get_by_test_id("credential-row")).to_have_count(0)
    assert not Credential.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_supporter_gets_no_access(page):
    operator = OperatorFactory(name="Demo Charging ApS", slug="demo")
    supporter = member(operator, Role.SUPPORTER, user__email="supporter@demo.example")
    sign_in(page, supporter.email, PASSWORD)
    expect(page.get_by_role("navigation", name="Operator")).to_be_visible()
    expect(page.get_by_role("link", name="Credentials")).to_have_count(0)
    response = page.goto("/o/demo/credentials/")
    assert response.status == 403
    expect(page.get_by_text("You don't have access to this")).to_be_visible()
    response = page.goto("/o/demo/credentials/new/payter/")
    assert response.status == 403
