import pytest

from operators.models import Operator
from portal.models import AuditEvent
from portal.permissions import Role
from tests.factories import member

VALID = {
    "name": "Demo Charging ApS", "vat_number": "DK 13 58 56 28", "contact_email": "hello@demo.test",
    "finance_email": "finance@demo.test", "street": "Vesterbrogade 10", "postcode": "1620",
    "city": "København V", "country": "DK", "ean": "", "po_number": "",
}


def post(client, operator, **overrides):
    return client.post(f"/o/{operator.slug}/settings/", {**VALID, **overrides})


@pytest.mark.django_db
class TestSettings:
    def test_page_says_it_is_used_for_invoicing(self, admin_client, operator):
        html = admin_client.get(f"/o/{operator.slug}/settings/").content.decode()
        assert "used for invoicing" in html

    def test_save_normalises_vat_and_records_audit_with_before_after(self, admin_client, admin_user, operator):
        old_name = operator.name
        response = post(admin_client, operator, name="New Name ApS", ean="5798009932006", po_number=" PO-42 ")
        assert response.status_code == 302
        operator.refresh_from_db()
        assert operator.name == "New Name ApS" and operator.vat_number == "DK13585628"
        assert operator.ean == "5798009932006" and operator.po_number == "PO-42"
        assert operator.updated_by == admin_user
        event = AuditEvent.objects.get(operator=operator)
        assert event.action == "updated" and event.item_type == "operator"
        assert event.changes["name"] == {"before": old_name, "after": "New Name ApS"}
        assert event.changes["ean"] == {"before": "", "after": "5798009932006"}
        assert "vat_number" not in event.changes  # DK13585628 before and after

    def test_invalid_vat_shows_field_error_and_saves_nothing(self, admin_client, operator):
        before = Operator.objects.values().get(pk=operator.pk)
        response = post(admin_client, operator, name="Changed", vat_number="DK13585627")
        assert response.status_code == 400
        html = response.content.decode()
        assert "The check digit of this Denmark VAT number is wrong" in html
        assert Operator.objects.values().get(pk=operator.pk) == before
        assert not AuditEvent.objects.exists()

    def test_vat_checked_for_the_chosen_country(self, admin_client, operator):
        response = post(admin_client, operator, country="NO", vat_number="DK13585628")
        assert response.status_code == 400
        assert "starts with" not in response.content.decode()  # DK isn't an EU prefix for NO
        assert "not a valid VAT number for Norway" in response.content.decode()
        response = post(admin_client, operator, country="NO", vat_number="995 525 828")
        assert response.status_code == 302
        operator.refresh_from_db()
        assert (operator.country, operator.vat_number) == ("NO", "NO995525828MVA")

    def test_bad_ean_and_missing_required_fields(self, admin_client, operator):
        response = post(admin_client, operator, ean="5798009932007", finance_email="", contact_email="not-an-email")
        html = response.content.decode()
        assert response.status_code == 400
        assert "The check digit of this EAN number is wrong" in html
        assert "This field is required." in html
        assert "Enter a valid email address." in html

    def test_page_shows_when_and_by_whom_it_was_last_changed(self, admin_client, admin_user, operator):
        post(admin_client, operator, name="Changed ApS")
        html = admin_client.get(f"/o/{operator.slug}/").content.decode()
        assert f"by {admin_user.get_full_name()}" in html and "Last changed" in html

    def test_unchanged_save_writes_no_event(self, admin_client, operator):
        post(admin_client, operator)  # first save normalises/changes some fields
        count = AuditEvent.objects.count()
        post(admin_client, operator)
        assert AuditEvent.objects.count() == count

    def test_supporter_reads_but_cannot_save(self, login, operator):
        client = login(member(operator, Role.SUPPORTER))
        html = client.get(f"/o/{operator.slug}/settings/").content.decode()
        assert "<form" not in html.split('aria-labelledby="settings-h"')[1].split("</section>")[0]
        assert post(client, operator, name="Hacked").status_code == 403
        operator.refresh_from_db()
        assert operator.name != "Hacked"
