"""The charges table's rows built in Python (charging/tables.py) are the HTML the template loop
wrote: both rendered for charges of every kind (credit, failed with a reason, running, no site,
text that needs escaping) and compared."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.template import engines
from django.utils import timezone

from tests.factories import ChargeFactory, ChargePointFactory, SiteFactory

pytestmark = pytest.mark.django_db

TEMPLATE_LOOP = """{% load portal %}
<div class="table-scroll"><table class="table" data-testid="charges">
  <thead><tr><th>Started</th><th>Stopped</th>{% if not hide_point %}<th>Charge point</th>{% endif %}<th>Type</th><th>State</th><th class="num">kWh</th><th class="num">Price</th><th class="num">VAT</th><th>External id</th></tr></thead>
  <tbody>
  {% for c in charges %}
    <tr>
      <td class="nowrap"><a href="{% url 'charging:charge_detail' current_operator.slug c.pk %}">{{ c.started_at|date:"j M Y, H:i" }}</a></td>
      <td class="nowrap">{{ c.stopped_at|date:"j M Y, H:i"|default:"—" }}</td>
      {% if not hide_point %}<td><a href="{% url 'charging:charge_point_detail' current_operator.slug c.charge_point_id %}">{{ c.charge_point.name }}</a>{% if c.charge_point.site %}<div class="muted tiny">{{ c.charge_point.site.name }}</div>{% endif %}</td>{% endif %}
      <td>{{ c.get_type_display }}{% if c.credit_of_id %} <span class="badge warn">Credit</span>{% endif %}</td>
      <td>{% state_badge c.state c.get_state_display %}{% if c.failure_reason %}<div class="muted tiny">{{ c.failure_reason }}</div>{% endif %}</td>
      <td class="num">{{ c.consumed_kwh|floatformat:3 }}</td>
      <td class="num nowrap">{% money c.price c.currency %}</td>
      <td class="num nowrap">{% money c.vat_amount c.currency %}</td>
      <td class="mono tiny">{{ c.external_id|default:"—" }}</td>
    </tr>
  {% empty %}
    <tr><td colspan="9" class="muted">No charges.</td></tr>
  {% endfor %}
  </tbody>
</table></div>
"""


def _normal(html):
    return re.sub(r">\s+<", "><", html).strip()


@pytest.mark.parametrize("hide_point", [False, True])
def test_rows_are_what_the_template_wrote(operator, hide_point):
    site = SiteFactory(operator=operator, name="Harbour <b>&</b>")
    point = ChargePointFactory(operator=operator, site=site, name='Bay "1" <script>')
    lonely = ChargePointFactory(operator=operator, site=None, name="No site")
    now = timezone.now().replace(second=0, microsecond=0)
    first = ChargeFactory(operator=operator, charge_point=point, started_at=now - timedelta(days=40, hours=3),
                          stopped_at=now - timedelta(days=40), price=Decimal("1234567.50"), external_id="X<1>")
    ChargeFactory(operator=operator, charge_point=point, credit_of=first, price=Decimal("-1234567.50"),
                  vat_amount=Decimal("-246913.50"), consumed_kwh=Decimal("-20.125"))
    ChargeFactory(operator=operator, charge_point=lonely, state="failed", failure_reason="EV <refused>",
                  price=Decimal("0"), consumed_kwh=Decimal("0"), external_id="")
    ChargeFactory(operator=operator, charge_point=lonely, state="charging", stopped_at=None,
                  started_at=now - timedelta(minutes=5))
    from charging.models import Charge

    charges = list(Charge.objects.filter(operator=operator).select_related("charge_point__site").order_by("pk"))
    engine = engines["django"]
    context = {"charges": charges, "current_operator": operator, "hide_point": hide_point}
    old = engine.from_string(TEMPLATE_LOOP).render(context)
    new = engine.get_template("charging/_charge_table.html").render(context)
    assert _normal(new) == _normal(old)
    assert ("&lt;script&gt;" in new) is not hide_point and "EV &lt;refused&gt;" in new
    empty = {"charges": [], "current_operator": operator}
    assert _normal(engine.get_template("charging/_charge_table.html").render(empty)) == _normal(
        engine.from_string(TEMPLATE_LOOP).render(empty))


CP_LOOP = """{% load portal %}    {% for cp in page %}
      <tr>
        <td><a href="{% url 'charging:charge_point_detail' current_operator.slug cp.pk %}">{{ cp.name }}</a><div class="muted tiny mono">{{ cp.serial_number }}</div></td>
        <td class="mono">{{ cp.evse_id|default:"—" }}</td>
        <td>{{ cp.site.name|default:"—" }}</td>
        <td>{{ cp.brand_name }} {{ cp.model_name }}</td>
        <td>{{ cp.get_type_display }}</td>
        <td class="num">{{ cp.max_kw|default_if_none:"—"|floatformat:"-2" }}</td>
        <td class="small">{% for c in cp.connectors.all %}{{ c }}{% if not forloop.last %}, {% endif %}{% empty %}—{% endfor %}</td>
        <td>{{ cp.get_visibility_display }}</td>
        <td>{% state_badge cp.state cp.get_state_display %}</td>
      </tr>
    {% empty %}
      <tr><td colspan="9" class="muted">No charge points match.</td></tr>
    {% endfor %}"""


def test_charge_point_rows_are_what_the_template_wrote(operator):
    from charging.models import ChargePoint, Connector
    from charging.tables import charge_point_rows

    site = SiteFactory(operator=operator, name="Depot & <Yard>")
    a = ChargePointFactory(operator=operator, site=site, name="A <1>", serial_number="S&1", max_kw=Decimal("22.00"))
    ChargePointFactory(operator=operator, site=None, name="B", evse_id="", max_kw=None, brand_name="", model_name="")
    ChargePointFactory(operator=operator, site=site, name="C", max_kw=Decimal("7.40"), state="error")
    Connector.objects.create(operator=operator, charge_point=a, identifier="type2", max_kw=22)
    Connector.objects.create(operator=operator, charge_point=a, identifier="ccs", max_kw=50)
    points = list(ChargePoint.objects.filter(operator=operator).select_related("site").prefetch_related("connectors")
                  .order_by("pk"))
    old = engines["django"].from_string(CP_LOOP).render({"page": points, "current_operator": operator})
    assert _normal(charge_point_rows(points, operator)) == _normal(old)
    assert _normal(charge_point_rows([], operator)) == _normal(
        engines["django"].from_string(CP_LOOP).render({"page": [], "current_operator": operator}))


@pytest.mark.parametrize("value,decimals,shown", [
    (1_000_000, 0, "1\u202f000\u202f000"), (Decimal("34391770.25"), 1, "34\u202f391\u202f770.3"), (0, 0, "0"),
    (Decimal("-1234.5"), 1, "-1\u202f234.5"), (None, 0, "—"), (Decimal("0.04"), 1, "0.0"), ("n/a", 0, "n/a"),
])
def test_totals_are_grouped_as_amounts_are(value, decimals, shown):
    from portal.templatetags.portal import grouped

    assert grouped(value, decimals) == shown


SITE_LOOP = """    {% for site in page %}
      <tr>
        <td><a href="{% url 'charging:charge_point_list' current_operator.slug %}?site={{ site.pk }}">{{ site.name }}</a>{% if site.note %}<div class="muted tiny">{{ site.note }}</div>{% endif %}</td>
        <td>{{ site.address|default:"—" }}</td>
        <td class="mono">{% if site.latitude is not None %}{{ site.latitude }}, {{ site.longitude }}{% else %}—{% endif %}</td>
        <td><span class="badge">{{ site.get_visibility_display }}</span></td>
        <td class="num">{{ site.charge_point_count }}</td>
        <td class="actions">{% if "charging:write" in op_perms %}
          <a class="button small secondary" href="{% url 'charging:site_edit' current_operator.slug site.pk %}">Edit</a>
          <form method="post" action="{% url 'charging:site_delete' current_operator.slug site.pk %}" data-confirm="Delete this site?"><input type="hidden" name="csrfmiddlewaretoken" value="{{ token }}"><button class="small danger" type="submit">Delete</button></form>
        {% endif %}</td>
      </tr>
    {% empty %}
      <tr><td colspan="6" class="muted">No sites match.</td></tr>
    {% endfor %}
"""


@pytest.mark.parametrize("can_write", [True, False])
def test_site_rows_are_what_the_template_wrote(operator, can_write):
    from charging.models import ChargePoint
    from charging.selectors import sites
    from charging.tables import site_rows

    a = SiteFactory(operator=operator, name="Harbour <b>&</b>", note='Gate "B" & <code>', street="Kaj 1",
                    postcode="8000", city="Aarhus", country="DK", latitude=Decimal("56.150000"),
                    longitude=Decimal("-10.203921"))
    SiteFactory(operator=operator, name="Bare", street="", postcode="", city="", country="", latitude=None,
                longitude=None, note="", visibility="private")
    for n in range(3):
        ChargePointFactory(operator=operator, site=a, name=f"P{n}")
    ChargePointFactory(operator=operator, site=None)
    page = list(sites(operator=operator))
    assert [s.charge_point_count for s in page] == [0, 3] and ChargePoint.objects.count() == 4
    token = "tok<&>" + "x" * 20
    perms = {"charging:write"} if can_write else set()
    old = engines["django"].from_string(SITE_LOOP).render(
        {"page": page, "current_operator": operator, "op_perms": perms, "token": token})
    assert _normal(site_rows(page, operator, can_write=can_write, csrf_token=token)) == _normal(old)
    assert ("Delete this site?" in old) is can_write and "Gate &quot;B&quot; &amp; &lt;code&gt;" in old
    assert _normal(site_rows([], operator, can_write=can_write, csrf_token=token)) == _normal(
        engines["django"].from_string(SITE_LOOP).render({"page": [], "current_operator": operator, "op_perms": perms}))


@pytest.mark.parametrize("form_name,data", [
    ("SiteFilterForm", None), ("SiteFilterForm", {"q": "<b>x</b>", "visibility": "nope"}),
    ("ChargePointFilterForm", None), ("ChargePointFilterForm", {"site": "999999", "state": "x"}),
    ("ChargeFilterForm", None), ("ChargeFilterForm", {"date_from": "2026-13-01", "charge_point": "abc"}),
    ("WalletFilterForm", {"kind": "x", "date_from": "2026-02-02", "date_to": "2026-01-01"}),
])
def test_form_fields_are_what_the_field_include_wrote(operator, form_name, data):
    from charging import forms

    SiteFactory(operator=operator, name="Depot & <Yard>")
    form = getattr(forms, form_name)(data, operator=operator)
    if data:
        assert not form.is_valid()
    engine = engines["django"]
    old = engine.from_string('{% for field in form %}{% include "includes/field.html" %}{% endfor %}').render(
        {"form": form})
    new = engine.from_string("{% load portal %}{% form_fields form %}").render({"form": form})
    assert _normal(new) == _normal(old)
    assert ("has-error" in new) is bool(data) and "(optional)" in new


def test_the_sites_page_of_an_operator_whose_slug_is_all_digits(login):
    """(Review finding: the row links' stand-in id split a slug of the same digits: a 500.)"""
    from portal.permissions import Role
    from tests.factories import OperatorFactory, member

    operator = OperatorFactory(slug="987654321")
    site = SiteFactory(operator=operator, name="Depot")
    response = login(member(operator, Role.ADMIN)).get(f"/o/{operator.slug}/sites/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/o/987654321/sites/{site.pk}/edit/"' in html
    assert f'action="/o/987654321/sites/{site.pk}/delete/"' in html
