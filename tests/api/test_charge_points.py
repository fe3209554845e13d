"""Charge points through the partner API: regressions found by the contract and fuzz tests."""
import pytest

from charging.models import ChargePoint
from tests.api.helpers import bearer
from tests.factories import ChargePointFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"


def test_a_charge_point_made_with_a_name_only_gets_the_schemas_defaults(operator):
    """`type` and `visibility` default to "ac" and "public" in our schema: they were dropped
    (model_dump(exclude_unset=True)) and the portal form answered 400 "This field is required"."""
    response = bearer(operator).post("/api/v1/charge-points", {"name": "Bay 1"}, content_type=JSON)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["type"] == "ac" and body["visibility"] == "public"
    cp = ChargePoint.objects.get(pk=body["id"])
    assert (cp.type, cp.visibility, cp.operator) == ("ac", "public", operator)


def test_a_charge_point_without_evse_id_or_coordinates_answers_the_specs_types(operator):
    """evseId is a required, non-null string in the spec: "" when there is none."""
    created = bearer(operator).post("/api/v1/charge-points", {"name": "Bay 2"}, content_type=JSON).json()
    assert created["evseId"] == ""
    assert created["location"] == {"coordinates": None, "addressLabel": None, "address": None}


def test_an_unexpected_error_is_the_error_body_in_json_and_logged(operator, monkeypatch, caplog):
    """A crash (injected to see that the fuzz test reports 5xx) came back as the portal's HTML
    error page: the API answers JSON with the spec's error body; the traceback is logged as Django
    logs a 500."""
    from api.routers import charge_points

    cp = ChargePointFactory(operator=operator)
    monkeypatch.setattr(charge_points, "serialize", lambda *args: 1 / 0)
    response = bearer(operator).get(f"/api/v1/charge-points/{cp.pk}")
    assert response.status_code == 500 and response["Content-Type"].startswith("application/json")
    assert response.json() == {"status": "INTERNAL_SERVER_ERROR", "errorCode": "INTERNAL_SERVER_ERROR",
                               "message": "Internal server error",
                               "readableMessage": "Something went wrong on our side; try again later."}
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)
