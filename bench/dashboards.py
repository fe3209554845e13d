"""Benchmark: every dashboard kind over 10 000 charge points and 1 000 000 charges on PostgreSQL
(not a test; prints figures).

    DATABASE_URL=postgres://… .venv/bin/python bench/dashboards.py [--runs 5]

Needs the operator "scale" of `manage.py seed_demo --scale large` (10 000 charge points, 1 000 000
charges over a year, rollups rebuilt); creates it when missing. For each kind, a dashboard over
the last 365 days is rendered through the real page (Django test client, signed in as an Admin:
tenancy, rollup freshness check, queries, SVG, template), and compared in the same run with the
same monthly figures computed by one plain SQL GROUP BY over the charges (the baseline a portal
without rollups would run). Reports the median of `--runs` after one warm-up, and the ratio.
Target: each page at most as slow as the raw query, and under 150 ms.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from charging.models import ChargePoint, Site  # noqa: E402
from dashboards import rollups, services  # noqa: E402
from dashboards.models import Dashboard  # noqa: E402
from members.models import Membership  # noqa: E402
from operators.models import Operator  # noqa: E402

RAW = """
SELECT date_trunc('month', started_at AT TIME ZONE %s) AS month, count(*) FILTER (WHERE state <> 'failed'),
       sum(consumed_kwh), sum(price), count(*) FILTER (WHERE state = 'failed'),
       count(*) FILTER (WHERE type = 'roaming')
FROM charging_charge WHERE operator_id = %s AND started_at >= %s GROUP BY 1 ORDER BY 1"""


def timed(fn, runs):
    fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database.")
    operator = Operator.objects.filter(slug="scale").first()
    if operator is None:
        call_command("seed_demo", scale="large")
        operator = Operator.objects.get(slug="scale")
    n_points, n_charges = operator.charge_points.count(), operator.charges.count()
    admin = Membership.objects.filter(operator=operator, role="admin").select_related("user").first().user
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    since = timezone.now() - timezone.timedelta(days=365)

    def raw():
        with connection.cursor() as cursor:
            cursor.execute(RAW, [settings.TIME_ZONE, operator.pk, since])
            return cursor.fetchall()

    baseline = timed(raw, args.runs)
    print(f"{n_points} charge points, {n_charges} charges; raw GROUP BY over the charges: {baseline:.1f} ms")
    print(f"{'kind':<18}{'page ms':>10}{'× raw':>8}")
    worst = 0
    for kind, label in Dashboard.Kind.choices:
        dashboard = services.dashboard_create(operator=operator, actor=None, data={
            "name": f"bench {kind}", "kind": kind, "range_kind": "last_days", "last_days": 365})
        url = f"/o/{operator.slug}/dashboards/{dashboard.pk}/"

        def page(url=url):
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        ms = timed(page, args.runs)
        worst = max(worst, ms)
        print(f"{label:<18.18}{ms:>10.1f}{ms / baseline:>8.2f}")
        dashboard.delete()
    print(f"worst page {worst:.1f} ms; target ≤ raw ({baseline:.1f} ms) and < 150 ms: "
          f"{'met' if worst <= max(baseline, 0) and worst < 150 else 'NOT met'}")

    # What keeping them exact costs: a day of new charges (the day marked dirty, then refreshed),
    # and a charge point moved to another site (its year of history moved between segments).
    yesterday = timezone.localdate() - timezone.timedelta(days=1)

    def one_day():
        rollups.mark(operator.pk, [yesterday], enqueue_refresh=False)
        assert rollups.refresh(operator.pk) == 1

    point = ChargePoint.objects.filter(operator=operator, site__isnull=False).order_by("pk").first()
    sites = list(Site.objects.filter(operator=operator).exclude(pk=point.site_id).values_list("pk", flat=True)[:1])
    home = point.site_id

    def move():
        target = sites[0] if ChargePoint.objects.get(pk=point.pk).site_id == home else home
        ChargePoint.objects.filter(pk=point.pk).update(site_id=target)
        assert rollups.ensure_fresh(operator.pk) == 0 and not rollups._placement_stale(operator.pk)

    def move_all():  # a bulk update of every charge point (public ↔ private): the year of history moves
        current = ChargePoint.objects.filter(operator=operator).values_list("visibility", flat=True).first()
        ChargePoint.objects.filter(operator=operator).update(visibility="private" if current == "public" else "public")
        rollups.ensure_fresh(operator.pk)

    for label, fn in (("refresh one day", one_day), ("move a charge point", move), ("move all 10 000", move_all)):
        ms = timed(fn, args.runs)
        print(f"{label:<22}{ms:>6.1f} ms{ms / baseline:>8.2f} × raw")
    ChargePoint.objects.filter(pk=point.pk).update(site_id=home)
    ChargePoint.objects.filter(operator=operator).update(visibility="public")
    rollups.ensure_fresh(operator.pk)


if __name__ == "__main__":
    main()
