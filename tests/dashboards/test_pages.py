"""Each dashboard kind through the test client: the figures a user reads equal the charges
counted plainly, the CSV carries exactly the table's numbers, filters narrow, bad ids 404."""
import csv
import io
from datetime import date, datetime
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboards import selectors, services
from dashboards.models import Dashboard
from portal.permissions import Role
from tests.factories import ChargeFactory, ChargePointFactory, OperatorFactory, SiteFactory, member

TODAY = date(2026, 6, 15)


@pytest.fixture
def network(db):
    op = OperatorFactory(currency="DKK")
    north, south = SiteFactory(operator=op, name="North"), SiteFactory(operator=op, name="South")
    ac = ChargePointFactory(operator=op, site=north, name="North AC", type="ac")
    dc = ChargePointFactory(operator=op, site=south, name="South DC", type="dc", visibility="private")
    tz = timezone.get_current_timezone()
    at = lambda d, h: datetime(2026, *d, h, tzinfo=tz)  # noqa: E731
    ChargeFactory(operator=op, charge_point=ac, started_at=at((5, 3), 8), stopped_at=at((5, 3), 10),
                  consumed_kwh=D("10.000"), price=D("50.00"), vat_amount=D("10.00"))
    ChargeFactory(operator=op, charge_point=ac, started_at=at((6, 1), 23), stopped_at=at((6, 2), 1), type="roaming",
                  consumed_kwh=D("8.000"), price=D("40.00"), vat_amount=D("8.00"))
    ChargeFactory(operator=op, charge_point=dc, started_at=at((6, 10), 12), stopped_at=at((6, 10), 12),
                  state="failed", failure_reason="Ground fault", consumed_kwh=D("0"), price=D("0"), vat_amount=D("0"))
    ChargeFactory(operator=op, charge_point=dc, started_at=at((6, 11), 9), stopped_at=at((6, 11), 10),
                  consumed_kwh=D("30.000"), price=D("165.00"), vat_amount=D("33.00"))
    return op, north


def board(op, kind, **extra):
    return services.dashboard_create(operator=op, actor=None, data={
        "name": kind, "kind": kind, "range_kind": "between", "date_from": date(2026, 5, 1),
        "date_to": date(2026, 6, 30), "last_days": None, **extra})


def chart(op, kind, key, **extra):
    view = selectors.dashboard_view(board(op, kind, **extra), today=TODAY)
    return next(c for c in view.charts if c.key == key)


@pytest.mark.django_db
def test_network_counts_sessions_and_kwh_per_month_and_site(network):
    op, north = network
    rows = {r["month"]: r for r in chart(op, "network", "activity").rows}
    assert (rows[date(2026, 5, 1)]["sessions"], rows[date(2026, 6, 1)]["sessions"]) == (1, 2)  # failed not counted
    assert rows[date(2026, 6, 1)]["kwh"] == D("38.000")
    sites = {r["site"]: r for r in chart(op, "network", "sites").rows}
    assert (sites["North"]["sessions"], sites["South"]["sessions"]) == (2, 1)
    status = {r["group"]: r["count"] for r in chart(op, "network", "status").rows}
    assert (status["AC"], status["DC"], status["Public"], status["Private"]) == (1, 1, 1, 1)
    # filters narrow: the North site, AC, public only
    only_north = {r["month"]: r["sessions"] for r in chart(op, "network", "activity", site=north).rows}
    assert only_north == {date(2026, 5, 1): 1, date(2026, 6, 1): 1}
    assert sum(r["sessions"] for r in chart(op, "network", "activity", current_type="dc").rows) == 1
    assert sum(r["sessions"] for r in chart(op, "network", "activity", charge_point_visibility="private").rows) == 1


@pytest.mark.django_db
def test_revenue_roaming_failed_and_utilization_figures(network):
    op, _ = network
    revenue = {r["month"]: r for r in chart(op, "revenue", "revenue").rows}
    assert revenue[date(2026, 6, 1)]["revenue"] == D("205.00") and revenue[date(2026, 6, 1)]["running"] == D("255.00")
    roaming = {r["month"]: r for r in chart(op, "roaming", "sessions").rows}
    assert (roaming[date(2026, 6, 1)]["roaming"], roaming[date(2026, 6, 1)]["own"]) == (1, 1)
    assert roaming[date(2026, 6, 1)]["share"] == D("50.0")
    per_day = chart(op, "failed_sessions", "per_day")
    assert sum(r["total"] for r in per_day.rows) == 1 and len(per_day.rows) == 61
    top = chart(op, "failed_sessions", "top").rows
    assert top == [{"charge_point": "South DC", "failed": 1, "sessions": 1, "rate": D("50.0")}]
    heat = {r["weekday"]: r for r in chart(op, "utilization", "heatmap").rows}
    # 1 June 2026 is a Monday: the 23:00–01:00 session fills Mon 23h and Tue 0h
    assert heat["Mon"]["h23"] > 0 and heat["Tue"]["h0"] > 0 and heat["Wed"]["h5"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [k for k, _ in Dashboard.Kind.choices])
def test_every_kind_renders_and_each_csv_is_exactly_its_table(network, login, kind):
    op, _ = network
    dashboard = board(op, kind)
    client = login(member(op, Role.MANAGER))
    page = client.get(reverse("dashboards:detail", args=[op.slug, dashboard.pk]))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    view = selectors.dashboard_view(dashboard)
    for c in view.charts:
        response = client.get(reverse("dashboards:csv", args=[op.slug, dashboard.pk]) + f"?chart={c.key}")
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        assert len(rows) == len(c.rows) + 1 and len(rows[0]) == len(c.columns)
        assert f'data-testid="table-{c.key}"' in page.content.decode()
    assert client.get(reverse("dashboards:csv", args=[op.slug, dashboard.pk]) + "?chart=nope").status_code == 404


@pytest.mark.django_db
def test_a_dashboard_of_another_operator_is_404(network, login):
    op, _ = network
    other = OperatorFactory()
    foreign = board(other, "revenue")
    client = login(member(op, Role.ADMIN))
    for name in ("detail", "edit", "csv", "access_log", "delete"):
        assert client.get(reverse(f"dashboards:{name}", args=[op.slug, foreign.pk])).status_code == 404
    assert client.post(reverse("dashboards:regenerate", args=[op.slug, foreign.pk])).status_code == 404


@pytest.mark.django_db
def test_late_charges_show_at_once(network, login):
    op, _ = network
    dashboard = board(op, "network")
    before = sum(r["sessions"] for r in chart(op, "network", "activity").rows)
    ChargeFactory(operator=op, charge_point=op.charge_points.first(),
                  started_at=timezone.make_aware(datetime(2026, 5, 20, 9)),
                  stopped_at=timezone.make_aware(datetime(2026, 5, 20, 10)))
    after = sum(r["sessions"] for r in selectors.dashboard_view(dashboard, today=TODAY).charts[2].rows)
    assert after == before + 1


@pytest.mark.django_db
def test_a_session_that_stops_before_it_starts_occupies_no_hour(network):
    """Seen in generated data on a spring-forward day: a wall-clock stop before the start."""
    from dashboards import rollups
    from dashboards.models import ChargePointHour

    op, _ = network
    start = timezone.make_aware(datetime(2026, 3, 29, 3, 5))
    ChargeFactory(operator=op, charge_point=op.charge_points.first(), started_at=start,
                  stopped_at=start - timezone.timedelta(minutes=35))
    rollups.rebuild(op.pk)
    assert not ChargePointHour.objects.filter(occupied_seconds__lt=0).exists()
    assert ChargePointHour.objects.get(day=date(2026, 3, 29)).sessions_started == 1
