"""Benchmark: the partner API's list endpoints at 10 000 charge points and 1 000 000 charges on
PostgreSQL (not a test; prints figures).

    DATABASE_URL=postgres://… .venv/bin/python bench/api.py [--runs 21]

Needs the operator "scale" of `manage.py seed_demo --scale large`. Each endpoint is called through
the real stack (Django test client with a bearer token of an API key with every scope:
middleware, token lookup, rate limit, scope, serialization), alternating with a bare Django JSON
view that returns 100 charges from one query in the same run. Reports p50 of each, the ratio and
the queries. Target (issue #15): `GET /charges?perPage=100` within 2 × the bare view.
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
from django.http import JsonResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import include, path  # noqa: E402

from api import services  # noqa: E402
from api.models import ApiKey  # noqa: E402
from api.scopes import SCOPES  # noqa: E402
from charging.models import Charge  # noqa: E402
from operators.models import Operator  # noqa: E402

SCALE = []


def bare(request):
    """100 charges, every column of their rows, from one query."""
    rows = Charge.objects.filter(operator_id=SCALE[0]).order_by("-started_at", "-id").values()[:100]
    return JsonResponse({"data": list(rows)})


def bare_few(request):
    """The same rows, seven fields of each (the first version of this bench)."""
    rows = Charge.objects.filter(operator_id=SCALE[0]).order_by("-started_at", "-id")[:100]
    return JsonResponse({"data": [{"id": c.pk, "chargePointId": c.charge_point_id, "state": c.state,
                                   "startedAt": c.started_at, "stoppedAt": c.stopped_at,
                                   "consumedKwh": str(c.consumed_kwh), "price": str(c.price)} for c in rows]})


urlpatterns = [path("bench/bare/", bare), path("bench/bare-few/", bare_few), path("", include("portal.urls"))]


def timed(client, url, **headers):
    t0 = time.perf_counter()
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return (time.perf_counter() - t0) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database.")
    operator = Operator.objects.get(slug="scale")
    SCALE.append(operator.pk)
    key = ApiKey.objects.filter(operator=operator, name="bench").first()
    if key is not None:
        ApiKey.objects.filter(pk=key.pk).delete()
    new = services.key_create(operator=operator, actor=None, name="bench", scopes=list(SCOPES))
    ApiKey.objects.filter(pk=new.key.pk).update(rate_limit=10**9)
    token = services.token_for_credentials(client_id=new.key.client_id, client_secret=new.secret).access
    client = Client(HTTP_HOST="127.0.0.1", headers={"Authorization": f"Bearer {token}"})
    pages = [("GET /charges?perPage=100", "/api/v1/charges?perPage=100"),
             ("GET /charges page 100", "/api/v1/charges?perPage=100&page=100"),
             ("GET /charges?siteId", f"/api/v1/charges?perPage=100&siteId={operator.sites.order_by('pk')[0].pk}"),
             ("GET /charge-points?perPage=100", "/api/v1/charge-points?perPage=100"),
             ("GET /sites?perPage=100", "/api/v1/sites?perPage=100")]
    with override_settings(ROOT_URLCONF=__name__):
        few = []
        for _ in range(args.runs):
            few.append(timed(client, "/bench/bare-few/"))
        print(f"(bare view with seven fields of each row: {statistics.median(few):.1f} ms)")
        print(f"{'endpoint':<34}{'p50 ms':>8}{'bare ms':>9}{'× bare':>8}{'queries':>9}")
        for label, url in pages:
            if client.get(url).status_code == 404:  # (an endpoint not built yet)
                continue
            for _ in range(3):
                timed(client, url), timed(client, "/bench/bare/")
            mine, base = [], []
            for _ in range(args.runs):
                base.append(timed(client, "/bench/bare/"))
                mine.append(timed(client, url))
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            ms, bare_ms = statistics.median(mine), statistics.median(base)
            print(f"{label:<34}{ms:>8.1f}{bare_ms:>9.1f}{ms / bare_ms:>8.2f}{len(queries):>9}")
    ApiKey.objects.filter(pk=new.key.pk).delete()


if __name__ == "__main__":
    main()
