"""Sites through the partner API, as a partner's program calls them: list (pages, filters, nearest
first), read, create, patch, delete — the portal's validation and audit events (actor: the key)."""
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from charging.models import ChargePoint, Connector, Site
from portal.models import AuditEvent
from tests.api.helpers import bearer
from tests.factories import ChargePointFactory, SiteFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"
ADDRESS = {"address1": "Strandboulevarden 122", "city": "København Ø", "zipCode": "2100", "countryId": 208}


def body_of(operator, **changes):
    return {"teamId": operator.pk, "name": "Monta CPH Site", "address": ADDRESS, "visibility": "public", **changes}


def assert_400(response, field):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == "BAD_REQUEST" and body["errorCode"] == "BAD_REQUEST"
    assert body["message"] == "Invalid request" and body["readableMessage"]
    assert field in [problem["field"] for problem in body["context"]], body


def test_list_and_read_a_site_with_its_charge_points(operator):
    site = SiteFactory(operator=operator, name="Harbour", street="Havnegade 1", postcode="1058", city="København K",
                       country="DK", latitude=Decimal("55.676097"), longitude=Decimal("12.568337"), note="Gate 0000")
    ac = ChargePointFactory(operator=operator, site=site, max_kw=Decimal("22"), state="available")
    ChargePointFactory(operator=operator, site=site, max_kw=Decimal("11"), state="passive")
    ChargePointFactory(operator=operator, site=site, max_kw=Decimal("7.4"), state="busy-charging")
    Connector.objects.create(operator=operator, charge_point=ac, identifier="type2", max_kw=Decimal("22"))
    ChargePointFactory(operator=operator)  # no site
    client = bearer(operator, ["charge-points:read"])

    page = client.get("/api/v1/sites")
    assert page.status_code == 200, page.content
    assert page.json()["meta"] == {"itemCount": 1, "currentPage": 0, "perPage": 10, "totalPageCount": 1,
                                   "totalItemCount": 1}
    one = client.get(f"/api/v1/sites/{site.pk}").json()
    assert page.json()["data"] == [one]
    assert one["id"] == site.pk and one["teamId"] == operator.pk and one["name"] == "Harbour"
    assert one["operator"] == {"id": operator.pk, "name": operator.name, "identifier": operator.slug,
                               "partnerId": None, "vatNumber": operator.vat_number}
    assert (one["chargePointCount"], one["activeChargePointCount"], one["availableChargePointCount"]) == (3, 2, 1)
    assert one["maxKw"] == one["maxKW"] == 22.0 and one["type"] == "ac"
    assert one["visibility"] == "public" and one["note"] == "Gate 0000" and one["deletedAt"] is None
    assert one["location"] == {
        "coordinates": {"latitude": 55.676097, "longitude": 12.568337},
        "addressLabel": "Havnegade 1, 1058 København K, DK",
        "address": {"address1": "Havnegade 1", "address2": None, "address3": None, "zip": "1058",
                    "city": "København K", "province": None, "country": "DK", "countryAreaId": None}}
    assert one["connectors"] == [{"identifier": "type2", "name": "Type 2"}]
    assert one["createdAt"].endswith("Z") or "+" in one["createdAt"]


def test_pages_are_0_based_with_the_specs_meta_and_a_page_past_the_end_is_empty(operator):
    for i in range(5):
        SiteFactory(operator=operator, name=f"Site {i}")
    client = bearer(operator, ["charge-points:read"])
    first = client.get("/api/v1/sites?page=0&perPage=2").json()
    assert [s["name"] for s in first["data"]] == ["Site 0", "Site 1"]
    assert first["meta"] == {"itemCount": 2, "currentPage": 0, "perPage": 2, "totalPageCount": 3, "totalItemCount": 5}
    last = client.get("/api/v1/sites?page=2&perPage=2").json()
    assert [s["name"] for s in last["data"]] == ["Site 4"] and last["meta"]["itemCount"] == 1
    beyond = client.get("/api/v1/sites?page=3&perPage=2").json()
    assert beyond["data"] == [] and beyond["meta"] == {"itemCount": 0, "currentPage": 3, "perPage": 2,
                                                       "totalPageCount": 3, "totalItemCount": 5}
    for bad in ("perPage=0", "perPage=101", "page=-1", "page=x"):
        assert_400(client.get(f"/api/v1/sites?{bad}"), bad.split("=")[0])


def test_sort_by_location_is_nearest_first(operator):
    SiteFactory(operator=operator, name="Aarhus", latitude=Decimal("56.1567"), longitude=Decimal("10.2108"))
    SiteFactory(operator=operator, name="Nowhere")
    SiteFactory(operator=operator, name="Copenhagen", latitude=Decimal("55.6761"), longitude=Decimal("12.5683"))
    SiteFactory(operator=operator, name="Odense", latitude=Decimal("55.4038"), longitude=Decimal("10.4024"))
    client = bearer(operator, ["charge-points:read"])
    names = [s["name"] for s in client.get("/api/v1/sites?sortByLocation=55.70,12.58").json()["data"]]
    assert names == ["Copenhagen", "Odense", "Aarhus", "Nowhere"]
    assert_400(client.get("/api/v1/sites?sortByLocation=north"), "sortByLocation")
    assert_400(client.get("/api/v1/sites?sortByLocation=95.0,12.0"), "sortByLocation")


def test_only_the_keys_operator_is_listed_and_other_ids_are_404(operator, other_operator):
    mine = SiteFactory(operator=operator)
    theirs = SiteFactory(operator=other_operator)
    client = bearer(operator, ["charge-points:read", "charge-points:write", "charge-points:delete"])
    assert [s["id"] for s in client.get("/api/v1/sites").json()["data"]] == [mine.pk]
    for response in (client.get(f"/api/v1/sites/{theirs.pk}"),
                     client.patch(f"/api/v1/sites/{theirs.pk}", {"name": "Mine now"}, content_type=JSON),
                     client.delete(f"/api/v1/sites/{theirs.pk}"),
                     client.get("/api/v1/sites/999999"), client.get(f"/api/v1/sites/{2**63}")):
        assert response.status_code == 404, response.content
        assert response.json()["errorCode"] == "RESOURCE_NOT_FOUND" and response.json()["status"] == "NOT_FOUND"
    assert Site.objects.get(pk=theirs.pk).name == theirs.name
    assert_400(client.get(f"/api/v1/sites?teamId={other_operator.pk}"), "teamId")
    assert_400(client.get(f"/api/v1/sites?operatorId={other_operator.pk}"), "operatorId")
    assert client.get(f"/api/v1/sites?teamId={operator.pk}").json()["meta"]["totalItemCount"] == 1


def test_create_a_site_through_the_portals_form_audited_as_the_key(operator):
    client = bearer(operator, ["charge-points:write"], name="Roaming hub")
    response = client.post("/api/v1/sites", body_of(
        operator, address={**ADDRESS, "address2": "5. sal"}, visibility="private", note="Ring the bell",
        coordinates={"latitude": 55.7096, "longitude": "12.5856"}), content_type=JSON)
    assert response.status_code == 201, response.content
    created = response.json()
    site = Site.objects.get(pk=created["id"])
    assert (site.operator, site.name, site.street, site.postcode, site.city, site.country, site.visibility,
            site.note) == (operator, "Monta CPH Site", "Strandboulevarden 122, 5. sal", "2100", "København Ø",
                           "DK", "private", "Ring the bell")
    assert (site.latitude, site.longitude) == (Decimal("55.709600"), Decimal("12.585600"))
    assert created["location"]["coordinates"] == {"latitude": 55.7096, "longitude": 12.5856}
    assert created["location"]["address"]["zip"] == "2100" and created["chargePointCount"] == 0
    assert created["visibility"] == "private" and created["type"] is None and created["connectors"] == []
    event = AuditEvent.objects.get(verb="site.created")
    assert event.operator == operator and event.actor is None and event.item_id == str(site.pk)
    assert event.actor_label.startswith("API key Roaming hub")


@pytest.mark.parametrize(("change", "field"), [
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "Null\x00byte"}, "name"),
    ({"name": 5}, "name"),
    ({"visibility": "secret"}, "visibility"),
    ({"visibility": None}, "visibility"),
    ({"teamId": "abc"}, "teamId"),
    ({"address": {**ADDRESS, "countryId": 9999}}, "address.countryId"),
    ({"address": {**ADDRESS, "countryId": "DK"}}, "address.countryId"),
    ({"address": {**ADDRESS, "zipCode": "1" * 21}}, "address.zipCode"),
    ({"address": {**ADDRESS, "city": "Nul\x00"}}, "address.city"),
    ({"address": {"city": "Berlin"}}, "address.address1"),
    ({"coordinates": {"latitude": 91, "longitude": 0}}, "coordinates.latitude"),
    ({"coordinates": {"latitude": "north"}}, "coordinates.latitude"),
    ({"note": "n" * 256}, "note"),
])
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(operator, change, field):
    client = bearer(operator, ["charge-points:write"])
    assert_400(client.post("/api/v1/sites", body_of(operator, **change), content_type=JSON), field)
    assert not Site.objects.exists() and not AuditEvent.objects.filter(verb="site.created").exists()


def test_a_site_for_another_team_or_without_a_body_is_refused(operator, other_operator):
    client = bearer(operator, ["charge-points:write"])
    assert_400(client.post("/api/v1/sites", body_of(operator, teamId=other_operator.pk), content_type=JSON),
               "teamId")
    body = body_of(operator)
    del body["teamId"]
    assert_400(client.post("/api/v1/sites", body, content_type=JSON), "teamId")
    response = client.post("/api/v1/sites", "not json", content_type=JSON)
    assert response.status_code == 400 and response.json()["errorCode"] == "BAD_REQUEST"
    assert not Site.objects.exists()


def test_patch_changes_only_what_is_given_and_is_audited_as_the_key(operator):
    site = SiteFactory(operator=operator, name="Old", street="A 1", postcode="1000", city="X", country="DK",
                       note="keep", latitude=Decimal("55.1"), longitude=Decimal("12.1"))
    client = bearer(operator, ["charge-points:write"], name="Partner sync")
    response = client.patch(f"/api/v1/sites/{site.pk}", {"name": "New", "visibility": "private"}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "New" and response.json()["visibility"] == "private"
    site.refresh_from_db()
    assert (site.name, site.visibility, site.street, site.note, site.latitude) == (
        "New", "private", "A 1", "keep", Decimal("55.100000"))
    event = AuditEvent.objects.get(verb="site.updated")
    assert event.actor_label.startswith("API key Partner sync")
    assert set(event.changes) == {"name", "visibility"}

    moved = client.patch(f"/api/v1/sites/{site.pk}", {"address": {**ADDRESS, "countryId": 578}, "note": None,
                                                      "coordinates": None}, content_type=JSON).json()
    assert moved["location"]["address"]["city"] == "København Ø" and moved["location"]["address"]["country"] == "NO"
    assert moved["location"]["coordinates"] is None and moved["note"] is None
    # nothing changes: no audit event
    assert client.patch(f"/api/v1/sites/{site.pk}", {}, content_type=JSON).status_code == 200
    assert AuditEvent.objects.filter(verb="site.updated").count() == 2


@pytest.mark.parametrize(("change", "field"), [
    ({"name": ""}, "name"), ({"name": "x" * 201}, "name"), ({"name": "\x00"}, "name"),
    ({"visibility": "everyone"}, "visibility"), ({"name": ["a"]}, "name"),
    ({"address": {**ADDRESS, "countryId": -1}}, "address.countryId"),
])
def test_a_bad_patch_is_a_400_and_changes_nothing(operator, change, field):
    site = SiteFactory(operator=operator, name="Stays")
    client = bearer(operator, ["charge-points:write"])
    assert_400(client.patch(f"/api/v1/sites/{site.pk}", change, content_type=JSON), field)
    site.refresh_from_db()
    assert site.name == "Stays" and not AuditEvent.objects.filter(verb="site.updated").exists()


def test_delete_an_empty_site_audited_as_the_key_but_not_one_with_charge_points(operator):
    empty, busy = SiteFactory(operator=operator), SiteFactory(operator=operator)
    point = ChargePointFactory(operator=operator, site=busy)
    client = bearer(operator, ["charge-points:delete"], name="Cleaner")
    response = client.delete(f"/api/v1/sites/{empty.pk}")
    assert response.status_code == 204 and response.content == b""
    assert not Site.objects.filter(pk=empty.pk).exists()
    assert AuditEvent.objects.get(verb="site.deleted").actor_label.startswith("API key Cleaner")
    refused = client.delete(f"/api/v1/sites/{busy.pk}")
    assert refused.status_code == 400 and "charge points" in refused.json()["readableMessage"]
    assert Site.objects.filter(pk=busy.pk).exists() and ChargePoint.objects.get(pk=point.pk).site_id == busy.pk
    assert client.get(f"/api/v1/sites/{empty.pk}").status_code == 403  # no read scope


@pytest.mark.parametrize(("method", "path", "scope"), [
    ("get", "/api/v1/sites", "charge-points:read"), ("get", "/api/v1/sites/{id}", "charge-points:read"),
    ("post", "/api/v1/sites", "charge-points:write"), ("patch", "/api/v1/sites/{id}", "charge-points:write"),
    ("delete", "/api/v1/sites/{id}", "charge-points:delete"),
])
def test_each_operation_requires_its_scope(operator, method, path, scope):
    site = SiteFactory(operator=operator)
    others = [s for s in ("charge-points:read", "charge-points:write", "charge-points:delete", "operators")
              if s != scope]
    client = bearer(operator, others)
    data = {"content_type": JSON, "data": body_of(operator)} if method in ("post", "patch") else {}
    response = getattr(client, method)(path.format(id=site.pk), **data)
    assert response.status_code == 403, response.content
    assert response.json()["errorCode"] == "ACCESS_FORBIDDEN" and response.json()["context"] == {
        "requiredScope": scope}
    assert Site.objects.filter(pk=site.pk, name=site.name).exists() and Site.objects.count() == 1


def test_the_lists_queries_do_not_grow_with_the_rows(operator):
    client = bearer(operator, ["charge-points:read"])
    client.get("/api/v1/sites")  # the key's first use is written once

    def queries(n_sites):
        while Site.objects.filter(operator=operator).count() < n_sites:
            site = SiteFactory(operator=operator)
            point = ChargePointFactory(operator=operator, site=site)
            Connector.objects.create(operator=operator, charge_point=point, identifier="ccs", max_kw=Decimal("50"))
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/v1/sites?perPage=100")
        assert response.status_code == 200 and len(response.json()["data"]) == n_sites
        return len(ctx.captured_queries)

    assert queries(3) == queries(30)


def test_the_openapi_has_the_specs_operations(operator):
    spec = json.loads(bearer(operator).get("/api/v1/openapi.json").content)
    ops = {op["operationId"]: (method, path) for path, item in spec["paths"].items() for method, op in item.items()}
    assert ops["get-sites"] == ("get", "/api/v1/sites") and ops["post-site"] == ("post", "/api/v1/sites")
    for name, method in (("get-site", "get"), ("patch-site", "patch"), ("delete-site", "delete")):
        assert ops[name] == (method, "/api/v1/sites/{siteId}")
