"""Found by the fresh-eyes review of the partner API (each failed before its fix)."""
import json

import pytest
from django.db import connection
from django.test import Client

from api.models import ApiKey, ApiToken
from tests.api.helpers import bearer, new_key
from tests.factories import ChargePointFactory, SiteFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL refuses the offset")


# --- 1. /charges date filters are plain `datetime` (not api.common.DateTime): 500s ----------------
def test_charges_naive_and_aware_dates_together_are_a_400_not_a_500(operator):
    """api/routers/charges.py:261 compares fromDate > toDate: naive vs aware raises TypeError."""
    response = bearer(operator).get("/api/v1/charges", {"fromDate": "2026-01-01T00:00:00",
                                                         "toDate": "2026-01-02T00:00:00Z"})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("name", ["fromDate", "toDate", "fromUpdatedDate", "fromCompletedDate", "toCompletedDate"])
def test_charges_far_out_dates_are_a_400_not_a_500(operator, name):
    """SQLite: OverflowError converting year 1 (+01:00) to UTC; PostgreSQL: the -23:59 offset
    ("time zone displacement out of range"), exactly the bug fixed for /charge-points."""
    client = bearer(operator)
    value = "0001-01-01T00:00:00+01:00" if connection.vendor == "sqlite" else "2026-01-01T00:00:00-23:59"
    response = client.get("/api/v1/charges", {name: value})
    assert response.status_code in (200, 400), response.content


# --- 2. IsoTime (wallet transactions, audit log) keeps offsets PostgreSQL refuses -----------------
@postgres_only
@pytest.mark.parametrize("path, name", [
    ("/api/v1/wallet-transactions", "fromDate"), ("/api/v1/wallet-transactions", "toDate"),
    ("/api/v1/auditlog/events", "fromDate"), ("/api/v1/auditlog/events", "toDate"),
])
def test_iso_time_with_a_large_offset_is_not_a_500_on_postgresql(operator, path, name):
    response = bearer(operator).get(path, {name: "2026-01-01T00:00:00-23:59"})
    assert response.status_code in (200, 400), response.content


# --- 3. a lone surrogate in clientId: 500 from the client id query --------------------------------
def test_a_lone_surrogate_in_client_id_is_not_a_500():
    raw = '{"clientId": "\\ud800", "clientSecret": "x"}'  # valid JSON: an escaped lone surrogate
    response = Client().post("/api/v1/auth/token", raw, content_type=JSON)
    assert response.status_code in (400, 401), response.content


# --- 4. siteId is read as a site *name* once the operator has more than 100 sites -----------------
@pytest.fixture
def many_sites(operator):
    """101 sites (past charging.sitepicker.PICKER_LIMIT), one of them named as another's id."""
    sites = [SiteFactory(operator=operator) for _ in range(101)]
    target = sites[5]
    decoy = sites[-1]
    decoy.name = str(target.pk)
    decoy.save()
    return target, decoy


def test_post_charge_point_site_id_is_an_id_not_a_name(operator, many_sites):
    target, decoy = many_sites
    response = bearer(operator).post("/api/v1/charge-points", {"name": "CP", "siteId": target.pk}, content_type=JSON)
    assert response.status_code == 201, response.content
    assert response.json()["siteId"] == target.pk  # was decoy.pk: the site *named* "<target.pk>"


def test_patching_only_the_name_does_not_move_the_charge_point(operator, many_sites):
    target, decoy = many_sites
    cp = ChargePointFactory(operator=operator, site=target)
    response = bearer(operator).patch(f"/api/v1/charge-points/{cp.pk}", {"name": "Renamed"}, content_type=JSON)
    assert response.status_code == 200, response.content
    cp.refresh_from_db()
    assert cp.site_id == target.pk  # was moved to the decoy site (and audited as a site change)


# --- 5. the token endpoints are not rate limited at all -------------------------------------------
def test_token_requests_count_against_the_keys_rate_limit(operator):
    new = new_key(operator)
    ApiKey.objects.filter(pk=new.key.pk).update(rate_limit=3)
    codes = [Client().post("/api/v1/auth/token", {"clientId": new.key.client_id, "clientSecret": new.secret},
                           content_type=JSON).status_code for _ in range(10)]
    # every one answered 200 and stored 2 tokens (never deleted): 20 rows for a key allowed 3 requests
    assert 429 in codes, (codes, ApiToken.objects.filter(key=new.key).count())


def test_wrong_secrets_for_a_client_id_are_limited(operator):
    new = new_key(operator)
    ApiKey.objects.filter(pk=new.key.pk).update(rate_limit=3)
    codes = [Client().post("/api/v1/auth/token", {"clientId": new.key.client_id, "clientSecret": f"cpo_sk_{i}"},
                           content_type=JSON).status_code for _ in range(20) for i in [0]]
    assert 429 in codes, codes  # every guess answered 401: unlimited guessing


# --- 6. Django's SuspiciousOperation (400/413) caught by the catch-all handler: 500s ---------------
def test_a_body_over_the_upload_limit_is_a_413_not_a_500():
    raw = json.dumps({"clientId": "a" * 3_000_000, "clientSecret": "b"})  # > DATA_UPLOAD_MAX_MEMORY_SIZE
    response = Client().post("/api/v1/auth/token", raw, content_type=JSON)  # no token needed
    assert response.status_code in (400, 413), response.content


def test_too_many_query_fields_is_a_400_not_a_500(operator):
    response = bearer(operator).get("/api/v1/charges?" + "&".join(f"x{i}=1" for i in range(1100)))
    assert response.status_code == 400, response.content


# --- 7. a 405 is not the API's error body ----------------------------------------------------------
def test_a_wrong_method_answers_the_error_body(operator):
    response = bearer(operator).put("/api/v1/sites", "{}", content_type=JSON)
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json"), response.content
    assert response.json()["errorCode"] == "METHOD_NOT_ALLOWED"


# --- 8. (SQLite only) an unbounded siteId filter overflows the driver --------------------------
@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL answers an empty page")
def test_a_huge_site_id_filter_is_not_a_500_on_sqlite(operator):
    response = bearer(operator).get("/api/v1/charge-points", {"siteId": str(2**70)})
    assert response.status_code in (200, 400), response.content
