"""Django admin (platform staff) cannot bypass the portal's audit log or its guards."""
import pytest

from members.models import Membership
from portal.models import AuditEvent
from portal.permissions import Role
from tests.factories import OperatorFactory, UserFactory, enable_totp, member, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    # staff sign in as anyone does, with their authenticator app (required for the admin)
    user = UserFactory(is_staff=True, is_superuser=True)
    assert sign_in(client, user, secret=enable_totp(user)).status_code == 302
    return client


def test_staff_edit_of_an_operator_is_audited_on_its_log(staff):
    operator = OperatorFactory(name="Old Name ApS")
    data = {f: getattr(operator, f) for f in ("name", "slug", "country", "currency", "vat_number", "contact_email",
                                              "finance_email", "street", "postcode", "city", "ean", "po_number")}
    response = staff.post(f"/admin/operators/operator/{operator.pk}/change/", {**data, "name": "New Name ApS"})
    assert response.status_code == 302
    event = AuditEvent.objects.get(operator=operator)
    assert event.verb == "admin.operator_changed"
    assert event.changes == {"name": {"before": "Old Name ApS", "after": "New Name ApS"}}


@pytest.mark.parametrize("field,value,error", [
    ("street", "Havne\x0bgade 1", "control character"),
    ("ean", "5790000000006", "check digit"),
    ("vat_number", "DK13585627", "check digit"),
])
def test_staff_edits_of_an_operator_follow_the_settings_rules(staff, field, value, error):
    operator = OperatorFactory(country="DK")
    data = {f: getattr(operator, f) for f in ("name", "slug", "country", "currency", "vat_number", "contact_email",
                                              "finance_email", "street", "postcode", "city", "ean", "po_number")}
    response = staff.post(f"/admin/operators/operator/{operator.pk}/change/", {**data, field: value})
    assert response.status_code == 200 and error in response.content.decode()
    operator.refresh_from_db()
    assert getattr(operator, field) != value


def test_staff_can_add_a_first_admin_audited_but_not_change_or_delete_memberships(staff):
    operator, user = OperatorFactory(), UserFactory()
    response = staff.post("/admin/members/membership/add/",
                          {"operator": operator.pk, "user": user.pk, "role": Role.ADMIN})
    assert response.status_code == 302
    membership = Membership.objects.get(operator=operator, user=user)
    assert AuditEvent.objects.get(operator=operator).verb == "admin.membership_created"
    staff.post(f"/admin/members/membership/{membership.pk}/change/",
               {"operator": operator.pk, "user": user.pk, "role": Role.SUPPORTER})
    assert staff.post(f"/admin/members/membership/{membership.pk}/delete/", {"post": "yes"}).status_code == 403
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


@pytest.mark.parametrize("model", ["charging/site", "charging/chargepoint", "members/invitation",
                                   "members/membershipnotice", "operators/wallettransaction", "portal/auditevent"])
def test_operator_data_is_read_only_in_admin(staff, model):
    assert staff.get(f"/admin/{model}/add/").status_code == 403


def test_admin_pages_render(staff):
    operator = OperatorFactory()
    member(operator)
    for url in ["/admin/", "/admin/operators/operator/", f"/admin/operators/operator/{operator.pk}/change/",
                "/admin/members/membership/", "/admin/operators/fee/", "/admin/charging/charge/"]:
        assert staff.get(url).status_code == 200, url
