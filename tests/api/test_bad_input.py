"""Requests that answered 500 on PostgreSQL (found probing past the fuzz test's examples): each
is the spec's 400 now. On SQLite they never failed; CI runs them on PostgreSQL."""
import pytest
from django.test import Client

from tests.api.helpers import bearer
from tests.factories import ChargePointFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.mark.parametrize("path, body, field", [
    ("/api/v1/auth/token", {"clientId": "a\x00", "clientSecret": "b"}, "clientId"),  # was 500: NUL in a query
    ("/api/v1/auth/refresh", {"refreshToken": "a\x00"}, "refreshToken"),
    ("/api/v1/auth/token", {"clientId": "a", "clientSecret": "b", "x\x00": 1}, "x\x00"),
])
def test_a_nul_character_in_a_body_is_a_400(path, body, field):
    response = Client().post(path, body, content_type=JSON)
    assert response.status_code == 400, response.content
    assert response.json()["errorCode"] == "BAD_REQUEST"
    assert response.json()["context"] == [{"field": field, "message": "Null characters are not allowed."}]


def test_a_nul_character_in_the_query_or_a_nested_field_is_a_400(operator):
    client = bearer(operator)
    assert client.get("/api/v1/charge-points?state=available%00").status_code == 400
    cp = ChargePointFactory(operator=operator)
    response = client.patch(f"/api/v1/charge-points/{cp.pk}", {"note": "ok\x00"}, content_type=JSON)
    assert response.status_code == 400 and response.json()["context"][0]["field"] == "note"


@pytest.mark.parametrize("value, status", [
    ("9999-12-31T23:59:59-23:59", 400),  # was 500 on PostgreSQL: offset out of its range, and past year 9999 in UTC
    ("2026-01-01T00:00:00-23:59", 200),  # the same offset within range: converted to UTC first
    ("0001-01-01T00:00:00+01:00", 400),
    ("2026-01-01T00:00:00", 200),  # naive: the portal's time zone
])
def test_from_updated_date_is_converted_to_utc_or_refused(operator, value, status):
    cp = ChargePointFactory(operator=operator)
    response = bearer(operator).get("/api/v1/charge-points", {"fromUpdatedDate": value})
    assert response.status_code == status, response.content
    if status == 200:
        assert [row["id"] for row in response.json()["data"]] == [cp.pk]
