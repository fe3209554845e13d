"""Benchmark: the list pages and exports at 10 000 charge points and 1 000 000 charges on
PostgreSQL (not a test; prints figures).

    DATABASE_URL=postgres://… .venv/bin/python bench/lists.py [--runs 15]

Needs the operator "scale" of `manage.py seed_demo --scale large`; adds 200 000 audit events to it
once (the audit log's scale). Every page is fetched through the real stack (Django test client,
signed in as the Admin: middleware, tenancy, permissions, template), alternating with a bare page
in the same run: a Django view that renders 50 charges from one query with a plain template. Reports
p50 of each, the ratio and the queries. Target (issue #14): every list page within 3 × the bare
page; a list's last page no slower than 1.2 × its first.
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

from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.template import engines  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils import timezone  # noqa: E402

from charging.models import Charge  # noqa: E402
from members.models import Membership  # noqa: E402
from operators.models import Operator  # noqa: E402
from portal.models import AuditEvent  # noqa: E402
from portal.pagination import _encode  # noqa: E402

BARE = engines["django"].from_string(
    "<!DOCTYPE html><html><body><table>{% for c in rows %}<tr><td>{{ c.started_at }}</td><td>{{ c.state }}</td>"
    "<td>{{ c.consumed_kwh }}</td><td>{{ c.price }}</td></tr>{% endfor %}</table></body></html>")


def bare(request):
    rows = list(Charge.objects.filter(operator_id=SCALE[0]).order_by("-started_at", "-id")[:50])
    return HttpResponse(BARE.render({"rows": rows}))


SCALE = []  # the operator's id, set in main()
urlpatterns = [path("bench/bare/", bare), path("", include("portal.urls"))]


def p50(client, url, runs):
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(samples)


def audit_events(operator, n=200_000):
    have = AuditEvent.objects.filter(operator=operator).count()
    if have >= n:
        return
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        (AuditEvent(created_at=now - timezone.timedelta(minutes=i), operator=operator, actor_label="bench@scale.example",
                    action="updated", item_type="charge point", item_id=str(i), item_repr=f"Scale #{i % 10000:05d}",
                    changes={"note": {"before": "", "after": f"n{i}"}}) for i in range(n - have)), batch_size=5000)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database.")
    operator = Operator.objects.get(slug="scale")
    SCALE.append(operator.pk)
    audit_events(operator)
    admin = Membership.objects.filter(operator=operator, role="admin").select_related("user").first().user
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    o = f"/o/{operator.slug}"
    middle = Charge.objects.filter(operator=operator).order_by("-started_at", "-id").values_list(
        "started_at", "id")[500_000]
    pages = [
        ("charges, page 1", f"{o}/charges/"),
        ("charges, row 500 000 on", f"{o}/charges/?after={_encode(middle)}"),
        ("charges, last page", f"{o}/charges/?last=1"),
        ("charges, one site", f"{o}/charges/?site={operator.sites.order_by('pk').first().pk}"),
        ("charge points, page 1", f"{o}/charge-points/"),
        ("charge points, last", f"{o}/charge-points/?last=1"),
        ("sites, page 1", f"{o}/sites/"),
        ("audit log, page 1", f"{o}/audit-log/"),
        ("audit log, last page", f"{o}/audit-log/?last=1"),
    ]
    with override_settings(ROOT_URLCONF=__name__):
        for url in ["/bench/bare/"] + [u for _, u in pages]:  # warm-up
            client.get(url)
        print(f"{'page':<26}{'p50 ms':>8}{'bare ms':>9}{'× bare':>8}{'queries':>9}")
        for label, url in pages:
            page, base = [], []
            for _ in range(args.runs):  # alternating, so both see the same machine
                base.append(p50(client, "/bench/bare/", 1))
                page.append(p50(client, url, 1))
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            ms, bare_ms = statistics.median(page), statistics.median(base)
            print(f"{label:<26}{ms:>8.1f}{bare_ms:>9.1f}{ms / bare_ms:>8.2f}{len(queries):>9}")


if __name__ == "__main__":
    main()
