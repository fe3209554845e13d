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


AUDIT_LOOP = """    {% for e in page %}
      <tr>
        <td>{{ e.created_at|date:"j M Y" }} <span class="nowrap">{{ e.created_at|date:"H:i:s" }}</span><span class="muted mono tiny event-id" title="Event id {{ e.id }}">{{ e.id }}</span></td>
        <td>{{ e.actor_label }}</td>
        <td><span class="badge {{ e.action }}">{{ e.get_action_display }}</span>{% if e.verb %}<div class="muted tiny">{{ e.verb }}</div>{% endif %}</td>
        <td><strong>{{ e.item_type|capfirst }}</strong> {{ e.item_repr }}{% if e.parent_type %}<div class="muted tiny">in {{ e.parent_type }} {{ e.parent_repr }}</div>{% endif %}</td>
        <td>
          {% for field, change in e.changes.items %}<div class="change"><span class="field">{{ field }}</span> {% if change.before is not None %}<span class="before">{{ change.before }}</span>{% endif %}{% if change.before is not None and change.after is not None %} → {% endif %}{% if change.after is not None %}<span class="after">{{ change.after }}</span>{% endif %}</div>{% endfor %}
        </td>
        <td class="mono">{{ e.ip_address|default:"—" }}</td>
      </tr>
    {% empty %}
      <tr><td colspan="6" class="muted">No events match these filters.</td></tr>
    {% endfor %}
"""


def test_audit_rows_are_what_the_template_loop_wrote(operator):
    """portal/tables.py builds the rows in Python: the same HTML as the template loop, for events
    with every kind of change value (text needing escaping, numbers, booleans, lists, None)."""
    import re
    from datetime import datetime

    from django.template import engines

    from portal.models import AuditEvent
    from portal.tables import audit_rows

    at = datetime(2026, 3, 29, 0, 30, 5, tzinfo=UTC)  # (the night Copenhagen goes to summer time)
    AuditEvent.objects.create(created_at=at, operator=operator, actor_label='Ann <ann@x.example>', action="updated",
                              verb="site.updated", item_type="site", item_repr='Depot "B" & <co>',
                              parent_type="operator", parent_repr="Op & Co",
                              changes={"name": {"before": "<b>old</b>", "after": "new & shiny"},
                                       "max_kw": {"before": 22, "after": 7.5}, "public": {"before": True, "after": False},
                                       "tags": {"before": ["a", "<b>"], "after": None}, "note": {"before": None, "after": ""}},
                              ip_address="203.0.113.7")
    AuditEvent.objects.create(created_at=at, operator=operator, actor_label="system", action="created", item_type="API key",
                              item_repr="ERP", changes={})
    events = list(AuditEvent.objects.filter(operator=operator).order_by("-created_at", "-id"))
    normal = lambda html: re.sub(r">\s+<", "><", html).strip()  # noqa: E731
    old = engines["django"].from_string(AUDIT_LOOP).render({"page": events})
    assert normal(audit_rows(events)) == normal(old)
    assert "&lt;b&gt;old&lt;/b&gt;" in old and "203.0.113.7" in old and "API key" in old
    assert normal(audit_rows([])) == normal(engines["django"].from_string(AUDIT_LOOP).render({"page": []}))
