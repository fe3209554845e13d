"""Dashboards in Chromium: the Admin creates a dashboard, sets Public, copies the link, and a fresh
browser without any sign-in sees the chart and its table; then Username & Password (a wrong
password refused, the right one shows it); then Expire at in the past → the not-available page."""
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.permissions import Role
from tests.e2e.conftest import sign_in
from tests.factories import ChargeFactory, ChargePointFactory, OperatorFactory, SiteFactory, UserFactory, member

PASSWORD = "e2e-dashboards-pass"


@pytest.fixture
def operator(transactional_db):
    op = OperatorFactory(name="Harbour Charging ApS", slug="harbour")
    site = SiteFactory(operator=op, name="Harbour Square")
    point = ChargePointFactory(operator=op, site=site, name="Harbour 1")
    now = timezone.now()
    for days in (1, 2, 3):
        ChargeFactory(operator=op, charge_point=point, started_at=now - timedelta(days=days, hours=2),
                      stopped_at=now - timedelta(days=days, hours=1))
    user = UserFactory(email="admin@harbour.example")
    user.set_password(PASSWORD)
    user.save()
    member(op, Role.ADMIN, user=user)
    return op


def test_share_a_dashboard_publicly_then_with_a_password_then_expire_it(page, browser, live_server, operator):
    sign_in(page, "admin@harbour.example", PASSWORD)
    page.goto(f"/o/{operator.slug}/dashboards/")
    page.get_by_test_id("new-dashboard").click()
    page.get_by_label("Name").fill("Harbour for the council")
    page.get_by_label("Dashboard").select_option("network")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("chart-activity").locator("svg")).to_be_visible()  # the sessions of the last days
    page.get_by_test_id("edit-dashboard").click()
    page.get_by_label("Public", exact=True).check()
    page.get_by_test_id("save").click()
    link = page.get_by_test_id("public-link").input_value()
    assert "/d/" in link
    page.get_by_test_id("copy-link").click()
    expect(page.get_by_test_id("copy-link")).to_have_text("Copied")

    outsider = browser.new_context(viewport={"width": 1280, "height": 900})
    public = outsider.new_page()
    public.goto(link)
    expect(public.get_by_role("heading", name="Harbour for the council")).to_be_visible()
    expect(public.get_by_test_id("chart-activity").locator("svg")).to_be_visible()
    public.get_by_test_id("chart-activity").locator("summary").click()
    expect(public.get_by_test_id("table-activity")).to_contain_text("Sessions")
    expect(public.locator("nav")).to_have_count(0)  # no menu
    expect(public.get_by_text("admin@harbour.example")).to_have_count(0)

    page.get_by_label("Username & Password").check()
    page.locator("#id_share_username").fill("council")
    page.locator("#id_share_password").fill("harbour council 2026")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("sharing")).to_contain_text("username council")
    public.goto(link)
    public.get_by_label("Username").fill("council")
    public.get_by_label("Password").fill("not the password")
    public.get_by_role("button", name="Sign in").click()
    expect(public.get_by_test_id("sign-in-error")).to_have_text("Wrong username or password.")
    public.get_by_label("Password").fill("harbour council 2026")
    public.get_by_role("button", name="Sign in").click()
    expect(public.get_by_test_id("chart-activity").locator("svg")).to_be_visible()

    past = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page.locator("#id_expire_at").fill(past)
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("expired")).to_be_visible()
    public.goto(link)
    expect(public.get_by_test_id("not-available")).to_contain_text("not available")
    outsider.close()
