"""Django admin for billing: plans with tiers, support levels, the seller; invoices read-only with
the credit note action."""
import pytest

from billing import services
from billing.models import Invoice, Plan
from portal.models import AuditEvent
from tests.billing.conftest import CLOSE_DAY, NOV, charge_points, deposit, staff_sign_in
from tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    staff_sign_in(client)  # with their authenticator app, as the admin requires
    return client


@pytest.fixture
def invoice(billing_setup):
    op = OperatorFactory()
    charge_points(op, 2)
    deposit(op, "500.00")
    return services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY).invoice


def test_admin_pages_render(staff, invoice):
    for url in ["/admin/billing/plan/", "/admin/billing/plan/add/", "/admin/billing/supportlevel/add/",
                "/admin/billing/platformseller/add/", "/admin/billing/operatorsupport/add/",
                "/admin/billing/invoice/", f"/admin/billing/invoice/{invoice.pk}/change/",
                "/admin/billing/closerun/", "/admin/billing/invoiceseries/"]:
        assert staff.get(url).status_code == 200, url


def test_invoices_cannot_be_added_changed_or_deleted_in_admin(staff, invoice):
    assert staff.get("/admin/billing/invoice/add/").status_code == 403
    assert staff.post(f"/admin/billing/invoice/{invoice.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_staff_adds_an_operator_plan_with_tiers_audited(staff):
    op = OperatorFactory()
    response = staff.post("/admin/billing/plan/add/", {
        "operator": op.pk, "name": "Volume deal", "currency": "DKK", "valid_from": "2026-12-01", "note": "",
        "tiers-TOTAL_FORMS": "2", "tiers-INITIAL_FORMS": "0", "tiers-MIN_NUM_FORMS": "0", "tiers-MAX_NUM_FORMS": "1000",
        "tiers-0-up_to": "100", "tiers-0-unit_price": "45", "tiers-1-up_to": "", "tiers-1-unit_price": "35"})
    assert response.status_code == 302
    plan = Plan.objects.get(operator=op)
    assert [(t.up_to, str(t.unit_price)) for t in plan.tiers.all()] == [(100, "45.0000"), (None, "35.0000")]
    assert AuditEvent.objects.get(operator=op).verb == "admin.plan_created"


def test_credit_action_asks_for_a_reason_then_credits(staff, invoice):
    url = "/admin/billing/invoice/"
    form = staff.post(url, {"action": "credit_in_full", "_selected_action": [invoice.pk]})
    assert form.status_code == 200 and "Reason" in form.content.decode()
    assert not Invoice.objects.filter(series="CN").exists()
    done = staff.post(url, {"action": "credit_in_full", "_selected_action": [invoice.pk], "reason": "Wrong plan"},
                      follow=True)
    assert "CN-2026-000001 credits INV-2026-000001." in done.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "credited"
    assert Invoice.objects.get(series="CN").reason == "Wrong plan"


def test_credit_in_part_asks_for_an_amount_refuses_bad_ones_then_credits(staff, invoice):
    from decimal import Decimal

    url = "/admin/billing/invoice/"
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    action = {"action": "credit_in_part", "_selected_action": [invoice.pk]}
    form = staff.post(url, action)
    assert form.status_code == 200 and "Net amount to credit" in form.content.decode()
    for net, message in (("abc", "Enter an amount, e.g. 100.00."), ("-5", "Enter an amount above zero."),
                         ("1.005", "Enter at most two decimals."), ("1e999999", "Enter an amount, e.g. 100.00."),
                         ("١٢", "Enter an amount, e.g. 100.00.")):
        page = staff.post(url, {**action, "reason": "Goodwill", "net": net}).content.decode()
        assert message in page, net
    too_much = staff.post(url, {**action, "reason": "Goodwill", "net": str(invoice.net + 1)}, follow=True)
    assert "INV-2026-000001:" in too_much.content.decode()  # the service's own message, nothing issued
    assert not Invoice.objects.filter(series="CN").exists()
    done = staff.post(url, {**action, "reason": "Goodwill", "net": "10.00"}, follow=True)
    assert "CN-2026-000001 credits 10.00 DKK net of INV-2026-000001." in done.content.decode()
    cn = Invoice.objects.get(series="CN")
    assert (cn.net, cn.credit_of_id, cn.reason) == (Decimal("-10.00"), invoice.pk, "Goodwill")
    invoice.refresh_from_db()
    assert invoice.status == "paid"  # credited in part only
    two = staff.post(url, {"action": "credit_in_part", "_selected_action": [invoice.pk, cn.pk]}, follow=True)
    assert "Select one invoice to credit in part." in two.content.decode()
