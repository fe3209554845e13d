from datetime import UTC, datetime

import pytest
import time_machine

from operators import services
from portal import audit
from portal.models import AuditEvent
from portal.permissions import Role
from tests.factories import member


@pytest.mark.django_db
class TestAuditEvents:
    def test_events_are_append_only(self, operator, admin_user):
        event = audit.record(operator=operator, actor=admin_user, action="updated", item=operator)
        with pytest.raises(PermissionError):
            event.save()
        with pytest.raises(PermissionError):
            event.delete()
        with pytest.raises(PermissionError):
            AuditEvent.objects.all().delete()
        with pytest.raises(PermissionError):
            AuditEvent.objects.update(action="deleted")

    def test_secret_fields_are_redacted(self, operator):
        class Thing:
            AUDIT_SECRET_FIELDS = ("api_key",)
            api_key = "sk_live_123456"
            name = "Terminal"

        assert audit.snapshot(Thing(), ["name", "api_key"]) == {"name": "Terminal", "api_key": "[redacted]"}

    def test_system_actor(self, operator):
        event = audit.record(operator=operator, actor=None, action="updated", item=operator)
        assert event.actor is None and event.actor_label == "system" and event.ip_address is None


def table(response) -> str:
    """The audit table's HTML only (the operator's name also appears in the page header)."""
    return response.content.decode().split('data-testid="audit-log"')[1].split("</table>")[0]


@pytest.mark.django_db
class TestAuditLogPage:
    def _events(self, operator, admin_user, other_user):
        with time_machine.travel(datetime(2026, 10, 1, 10, tzinfo=UTC), tick=False):
            services.operator_update_settings(operator=operator, actor=admin_user, data={"name": "First ApS"})
        with time_machine.travel(datetime(2026, 11, 1, 10, tzinfo=UTC), tick=False):
            services.bank_account_create(operator=operator, actor=other_user, holder_name="Holder",
                                         iban="DK5000400440116243", bic="NDEADKKK")

    def test_newest_first_with_details(self, admin_client, admin_user, operator):
        other = member(operator, Role.BOOKKEEPER)
        self._events(operator, admin_user, other)
        html = table(admin_client.get(f"/o/{operator.slug}/audit-log/"))
        assert html.index("Bank account") < html.index("First ApS")
        assert other.email in html and admin_user.email in html
        assert "DK•• •••• 6243" in html and "DK5000400440116243" not in html
        assert "127.0.0.1" not in html  # events written outside a request have no IP

    def test_filters(self, admin_client, admin_user, operator):
        other = member(operator, Role.BOOKKEEPER)
        self._events(operator, admin_user, other)
        url = f"/o/{operator.slug}/audit-log/"
        by_user = table(admin_client.get(url, {"user": other.email}))
        assert "bank_account.added" in by_user and "operator.settings_updated" not in by_user
        by_type = table(admin_client.get(url, {"item_type": "operator"}))
        assert "operator.settings_updated" in by_type and "bank_account.added" not in by_type
        by_date = table(admin_client.get(url, {"date_from": "2026-10-15", "date_to": "2026-11-30"}))
        assert "bank_account.added" in by_date and "operator.settings_updated" not in by_date
        bad = admin_client.get(url, {"date_from": "2026-11-30", "date_to": "2026-10-15"})
        assert bad.status_code == 400 and "The end date is before the start date." in bad.content.decode()

    def test_paginates(self, admin_client, admin_user, operator):
        for i in range(60):
            audit.record(operator=operator, actor=admin_user, action="updated", item=operator, changes={"n": {"before": i, "after": i + 1}})
        url = f"/o/{operator.slug}/audit-log/"
        html = admin_client.get(url).content.decode()
        assert html.count('class="change"') == 50 and "Older →" in html  # (the walk: tests/portal/test_pagination.py)

    def test_other_operators_events_are_not_shown(self, admin_client, operator, other_operator):
        audit.record(operator=other_operator, actor=None, action="updated", item=other_operator)
        html = admin_client.get(f"/o/{operator.slug}/audit-log/").content.decode()
        assert other_operator.name not in html and "No events match" in html

    def test_only_admin(self, login, operator):
        for role in (Role.MANAGER, Role.BOOKKEEPER, Role.SUPPORTER):
            assert login(member(operator, role)).get(f"/o/{operator.slug}/audit-log/").status_code == 403

    def test_removed_users_events_stay(self, admin_client, operator):
        gone = member(operator, Role.MANAGER)
        audit.record(operator=operator, actor=gone, action="updated", item=operator)
        email = gone.email
        gone.delete()
        assert email in admin_client.get(f"/o/{operator.slug}/audit-log/").content.decode()




@pytest.mark.django_db
@pytest.mark.parametrize("path", ["audit-log/", "charges/", "wallet/", "charges/?format=csv", "wallet/?format=csv"])
@pytest.mark.parametrize("params", [{"date_from": "0001-01-01"}, {"date_to": "9999-12-31"}])
def test_out_of_range_filter_dates_are_a_400_with_a_message(admin_client, operator, path, params):
    url = f"/o/{operator.slug}/{path}"
    response = admin_client.get(url, params) if "?" not in url else admin_client.get(
        url + "&" + "&".join(f"{k}={v}" for k, v in params.items()))
    assert response.status_code == 400
    if "format=csv" not in path:
        assert "Enter a date between 1970 and 2999." in response.content.decode()
