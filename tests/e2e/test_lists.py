"""Lists at scale in Chromium: the site search box suggests sites as you type (htmx, under the
real CSP), picking one filters the charges, and the pager walks Next / Previous / Last keeping
the filter."""
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from charging.models import Site
from portal.permissions import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, ChargeFactory, ChargePointFactory, OperatorFactory, member


@pytest.mark.django_db(transaction=True)
def test_site_search_filters_charges_and_the_pager_keeps_the_filter(page):
    operator = OperatorFactory(name="Many Sites ApS")
    sites = Site.objects.bulk_create(Site(operator=operator, name=f"Garage {i:03d}", city="Aarhus", country="DK")
                                     for i in range(130))
    here, elsewhere = (ChargePointFactory(operator=operator, site=sites[42], name="Here #1"),
                       ChargePointFactory(operator=operator, site=sites[7], name="Elsewhere #1"))
    at = timezone.now() - timedelta(days=2)
    for i in range(60):
        ChargeFactory(operator=operator, charge_point=here, started_at=at - timedelta(minutes=i),
                      stopped_at=at + timedelta(hours=1))
    ChargeFactory(operator=operator, charge_point=elsewhere)
    user = member(operator, Role.MANAGER)
    sign_in(page, user.email, PASSWORD)
    page.goto(f"/o/{operator.slug}/charges/")
    box = page.locator('input[name="site"]')
    expect(box).to_have_attribute("list", "id_site-options")
    box.fill("Garage 04")
    options = page.locator("#id_site-options option")
    expect(options.first).to_have_attribute("value", "Garage 040 — Aarhus")  # the suggestions arrived
    expect(options).to_have_count(10)
    box.fill("Garage 042 — Aarhus")  # what picking a suggestion puts in the box
    page.get_by_role("button", name="Filter").click()
    expect(page.locator('[data-testid="charge-totals"]')).to_contain_text("60")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(50)
    expect(page.get_by_text("Elsewhere #1")).to_have_count(0)
    page.get_by_test_id("page-next").click()
    expect(rows).to_have_count(10)
    assert "site=" in page.url and "after=" in page.url
    page.get_by_test_id("page-previous").click()
    expect(rows).to_have_count(50)
    page.get_by_test_id("page-last").click()
    expect(rows).to_have_count(50)
    expect(page.get_by_test_id("page-next")).to_have_count(0)
    expect(box).to_have_value("Garage 042 — Aarhus")
    page.screenshot(path="/tmp/lists-e2e.png", full_page=True)
