"""Platform staff open the Django admin in Chromium: the portal's sign-in, then the two-factor step."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS
from tests.factories import PASSWORD, UserFactory, enable_totp, totp_code


@pytest.mark.django_db(transaction=True)
def test_staff_reach_the_admin_only_through_sign_in_and_two_factor(page):
    staff = UserFactory(email="staff@platform.example", is_staff=True, is_superuser=True)
    secret = enable_totp(staff)

    page.goto("/admin/operators/operator/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Fadmin%2Foperators%2Foperator%2F$"))  # not the admin's form
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    page.get_by_placeholder("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign In").click()

    expect(page).to_have_url(re.compile(r"/admin/operators/operator/$"))
    expect(page.get_by_text("Select operator to change")).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_staff_without_two_factor_are_told_to_set_it_up(page):
    staff = UserFactory(email="staff@platform.example", is_staff=True, is_superuser=True)
    page.goto("/admin/")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    expect(page.get_by_text("Two-factor authentication is required to use the admin:")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-requires-two-factor.png"), full_page=True)
    page.get_by_label("Password").fill(PASSWORD)  # allauth confirms the password first
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Activate Authenticator App")).to_be_visible()
