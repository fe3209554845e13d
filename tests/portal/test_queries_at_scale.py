"""Queries per list page stay the same at 10 charges and at 1 000 000 (and 200 000 audit events;
issue #14): no query per row,
no page that asks for more as the data grows. PostgreSQL only (the million rows are written by
INSERT … SELECT generate_series in a few seconds)."""
import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards import rollups
from tests.charging.helpers import make_network

pytestmark = [
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL"),
    pytest.mark.django_db,
]
MILLION = 1_000_000
AUDIT_EVENTS = 200_000  # the audit log's scale in the issue (and bench/lists.py)


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def _add_a_million(operator):
    from charging.models import ChargePoint

    points = list(ChargePoint.objects.filter(operator=operator).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO charging_charge (type, state, started_at, stopped_at, consumed_kwh, price, vat_amount,
                                         currency, external_id, failure_reason, created_at, charge_point_id,
                                         operator_id)
            SELECT CASE WHEN g %% 3 = 0 THEN 'dc' ELSE 'ac' END, 'completed',
                   now() - (g %% 43200) * interval '1 minute' - interval '3 hours',
                   now() - (g %% 43200) * interval '1 minute' - interval '2 hours',
                   12.5, 5.00, 1.00, %s, 'M-' || g, '', now(), (%s::bigint[])[1 + g %% %s], %s
            FROM generate_series(1, %s) AS g""", [operator.currency, points, len(points), operator.pk, MILLION])
        cursor.execute("""
            INSERT INTO portal_auditevent (id, created_at, actor_label, action, verb, item_type, item_id, item_repr,
                                           parent_type, parent_id, parent_repr, changes, operator_id)
            SELECT gen_random_uuid(), now() - g * interval '1 second', 'bench@example.com', 'updated', '',
                   'charge point', g::text, 'CP ' || g, '', '', '', '{}'::jsonb, %s
            FROM generate_series(1, %s) AS g""", [operator.pk, AUDIT_EVENTS])
        cursor.execute("ANALYZE charging_charge")
        cursor.execute("ANALYZE portal_auditevent")


def test_list_pages_ask_as_many_queries_at_a_million_rows_as_at_ten(admin_client, operator):
    from charging.models import Charge, Site

    make_network(operator, 10)
    site = Site.objects.filter(operator=operator).first()
    pages = [f"/o/{operator.slug}/{p}" for p in (
        "sites/", "charge-points/", f"charge-points/?site={site.pk}", "charges/", "charges/?last=1",
        f"charges/?site={site.pk}", "charges/?state=completed", "wallet/", "audit-log/", "audit-log/?last=1",
        "exports/")]
    rollups.rebuild(operator.pk)
    small = {url: _queries(admin_client, url) for url in pages}
    _add_a_million(operator)
    rollups.rebuild(operator.pk)  # as the nightly job leaves them
    assert Charge.objects.filter(operator=operator).count() == MILLION + 10
    large = {url: _queries(admin_client, url) for url in pages}
    assert large == small
