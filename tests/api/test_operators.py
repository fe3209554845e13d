"""Operators through the partner API: the key's own operator only."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.helpers import bearer

pytestmark = pytest.mark.django_db


def test_the_list_holds_the_keys_operator_in_the_specs_page(operator, other_operator):
    client = bearer(operator, ["operators"])
    response = client.get("/api/v1/operators")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "data": [{"id": operator.pk, "name": operator.name, "identifier": operator.slug, "partnerId": None,
                  "vatNumber": "DK13585628"}],
        "meta": {"itemCount": 1, "currentPage": 0, "perPage": 10, "totalPageCount": 1, "totalItemCount": 1}}
    beyond = client.get("/api/v1/operators?page=1&perPage=1").json()
    assert beyond == {"data": [], "meta": {"itemCount": 0, "currentPage": 1, "perPage": 1, "totalPageCount": 1,
                                           "totalItemCount": 1}}
    assert client.get("/api/v1/operators?perPage=0").status_code == 400


def test_one_operator_by_id_and_another_operators_id_is_404(operator, other_operator):
    client = bearer(operator, ["operators"])
    mine = client.get(f"/api/v1/operators/{operator.pk}")
    assert mine.status_code == 200 and mine.json()["identifier"] == operator.slug
    for pk in (other_operator.pk, 999999, 0, 2**63):
        response = client.get(f"/api/v1/operators/{pk}")
        assert response.status_code == 404 and response.json()["errorCode"] == "RESOURCE_NOT_FOUND"
    assert client.get("/api/v1/operators/abc").status_code == 400
    theirs = bearer(other_operator, ["operators"]).get(f"/api/v1/operators/{other_operator.pk}").json()
    assert theirs["vatNumber"] == "NO995525828MVA" and theirs["name"] == "Other Operator AS"


def test_an_operator_without_a_vat_number_has_null(operator):
    operator.vat_number = ""
    operator.save()
    assert bearer(operator, ["operators"]).get(f"/api/v1/operators/{operator.pk}").json()["vatNumber"] is None


@pytest.mark.parametrize("path", ["/api/v1/operators", "/api/v1/operators/{id}"])
def test_the_operators_scope_is_required(operator, path):
    response = bearer(operator, ["charge-points:read", "charge-transactions:read"]).get(path.format(id=operator.pk))
    assert response.status_code == 403 and response.json()["context"] == {"requiredScope": "operators"}


def test_the_list_reads_nothing_beyond_the_token(operator):
    client = bearer(operator, ["operators"])
    client.get("/api/v1/operators")  # the key's first use is written once
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/api/v1/operators").status_code == 200
    assert len(ctx.captured_queries) == 1  # the token (with its key and operator)
