"""Benchmark: the charges CSV export at 1 000 000 charges against PostgreSQL's own COPY of the same
rows (not a test; prints figures).

    DATABASE_URL=postgres://… .venv/bin/python bench/exports.py [--runs 3]

Needs the operator "scale" of `manage.py seed_demo --scale large`. For the full year and for one
month, in the same run, alternating: `COPY (SELECT <the export's columns, joins and order>) TO
STDOUT WITH CSV` read to the end by psycopg (the baseline), and the export as the background job
writes it (charging/exports.py: PostgreSQL's COPY of the escaped text columns into a temporary
file). Reports p50
seconds, rows/s and the ratio; then the peak Python memory of one full-year export (tracemalloc)
and the month through the real request (Django test client, signed in). Target (issue #14):
the full year within 3 × the COPY, memory flat.
"""
import argparse
import os
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from charging import exports, selectors  # noqa: E402
from members.models import Membership  # noqa: E402
from operators.models import Operator  # noqa: E402


def raw_copy(qs):
    sql, params = qs.values_list(*exports._CHARGE_FIELDS).query.sql_with_params()
    t0, size = time.perf_counter(), 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY ({raw.mogrify(sql, params)}) TO STDOUT WITH CSV HEADER") as copy:
            for data in copy:
                size += len(data)
    return time.perf_counter() - t0, size


def ours(qs):
    t0 = time.perf_counter()
    binary, rows = exports.charges_to_file(qs)
    with binary:
        size = binary.seek(0, 2)
    return time.perf_counter() - t0, size, rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    operator = Operator.objects.get(slug="scale")
    today = timezone.localdate()
    month_from = today.replace(day=1) - timedelta(days=1)
    cases = [
        ("full year", {}),
        ("one month", {"date_from": month_from.replace(day=1), "date_to": month_from}),
    ]
    print("| Export | rows | COPY s | export s | × COPY | COPY rows/s | export rows/s | MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, filters in cases:
        qs = selectors.charges(operator=operator, filters=filters)
        copies, mine = [], []
        for _ in range(args.runs):
            copies.append(raw_copy(qs)[0])
            seconds, size, rows = ours(qs)
            mine.append(seconds)
        c, m = statistics.median(copies), statistics.median(mine)
        print(f"| {name} | {rows:,} | {c:.2f} | {m:.2f} | {m / c:.2f} | {rows / c:,.0f} | {rows / m:,.0f} | "
              f"{size / 1e6:.0f} |")
    qs = selectors.charges(operator=operator, filters={})
    tracemalloc.start()
    ours(qs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"\nPeak Python memory of the full-year export (tracemalloc): {peak / 1e6:.1f} MB")
    admin = Membership.objects.filter(operator=operator, role="admin").select_related("user").first().user
    client = Client()
    client.force_login(admin)
    q = f"date_from={cases[1][1]['date_from']}&date_to={cases[1][1]['date_to']}"
    samples = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        response = client.get(f"/o/{operator.slug}/charges/?{q}&format=csv", HTTP_HOST="127.0.0.1")
        assert response.status_code == 200 and response.streaming, response.content[:3000]
        body = b"".join(response.streaming_content)
        samples.append(time.perf_counter() - t0)
        assert response.status_code == 200 and int(response["Content-Length"]) == len(body)
    print(f"One month through the request (download, {len(body) / 1e6:.1f} MB): p50 {statistics.median(samples):.2f} s")
    page = client.get(f"/o/{operator.slug}/charges/?format=csv", HTTP_HOST="127.0.0.1")
    assert page.status_code == 200 and b"Prepare export" in page.content
    print("Full year through the request: the page that offers the background job (no cut-off file)")


if __name__ == "__main__":
    main()
