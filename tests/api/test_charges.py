"""Charges through the partner API: the spec's Charge (every required field), exact money as JSON
numbers, filters, pages whose total comes from the rollups, the operator's charges only."""
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.renderers import dumps
from api.routers.charges import ChargeOut
from dashboards import rollups
from tests.api.helpers import bearer
from tests.factories import ChargeFactory, ChargePointFactory, SiteFactory

pytestmark = pytest.mark.django_db
READ = ["charge-transactions:read"]
REQUIRED = ["costBreakdown", "createdAt", "emaidProviderId", "humanReadableId", "kwhPerHour", "kwhPerMaxResolution",
            "priceBreakdown", "protocolData", "publicChargePoint", "state", "type", "updatedAt", "user"]


def assert_400(response, field):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == "BAD_REQUEST" and body["errorCode"] == "BAD_REQUEST" and body["readableMessage"]
    assert field in [problem["field"] for problem in body["context"]], body


@pytest.fixture
def network(operator):
    now = timezone.now().replace(microsecond=0)
    site = SiteFactory(operator=operator, name="Harbour", street="Havnegade 1", postcode="1058", city="København K",
                       country="DK")
    point = ChargePointFactory(operator=operator, site=site, name="Bay 1", evse_id="DK*TST*E000001",
                               max_kw=Decimal("22.00"), brand_name="Easee")
    loose = ChargePointFactory(operator=operator, name="Loose", evse_id="DK*TST*E000002")
    charges = {
        "completed": ChargeFactory(operator=operator, charge_point=point, started_at=now - timedelta(hours=5),
                                   stopped_at=now - timedelta(hours=4), consumed_kwh=Decimal("20.125"),
                                   price=Decimal("123456789.10"), vat_amount=Decimal("24691357.82"),
                                   external_id="CDR-1", type="roaming"),
        "failed": ChargeFactory(operator=operator, charge_point=point, state="failed",
                                started_at=now - timedelta(hours=3), stopped_at=now - timedelta(hours=3),
                                consumed_kwh=Decimal("0"), price=Decimal("0"), vat_amount=Decimal("0"),
                                failure_reason="Ground fault", external_id="", type="operator"),
        "charging": ChargeFactory(operator=operator, charge_point=loose, state="charging",
                                  started_at=now - timedelta(hours=1), stopped_at=None, type="sponsored",
                                  consumed_kwh=Decimal("1.500"), price=Decimal("0.10")),
    }
    return {"now": now, "site": site, "point": point, "loose": loose, **charges}


def test_the_list_is_newest_first_with_the_specs_fields_and_exact_money(operator, network):
    client = bearer(operator, READ)
    response = client.get("/api/v1/charges")
    assert response.status_code == 200, response.content
    body = json.loads(response.content, parse_float=Decimal)
    assert [c["id"] for c in body["data"]] == [network["charging"].pk, network["failed"].pk, network["completed"].pk]
    assert body["meta"] == {"itemCount": 3, "currentPage": 0, "perPage": 10, "totalPageCount": 1, "totalItemCount": 3}
    for charge in body["data"]:
        assert not [name for name in REQUIRED if name not in charge]

    done = body["data"][2]
    c = network["completed"]
    assert done["id"] == c.pk and done["humanReadableId"] == "CDR-1" and done["partnerExternalId"] == "CDR-1"
    assert done["chargePointId"] == network["point"].pk and done["siteId"] == network["site"].pk
    assert done["type"] == "external" and done["state"] == "completed"
    assert done["startedAt"] == (network["now"] - timedelta(hours=5)).isoformat().replace("+00:00", "Z")
    assert done["completedAt"] == done["stoppedAt"] == (network["now"] - timedelta(hours=4)).isoformat().replace(
        "+00:00", "Z")
    assert done["failedAt"] is None and done["updatedAt"] == done["createdAt"]
    # money and energy: JSON numbers with their exact digits (no float rounding, not strings)
    assert done["price"] == Decimal("123456789.10") and isinstance(done["price"], Decimal)
    assert done["consumedKwh"] == Decimal("20.125")
    raw = response.content.replace(b" ", b"")  # (the digits themselves, whatever the spacing)
    assert b'"price":123456789.10' in raw and b'"consumedKwh":20.125' in raw
    assert done["currency"] == {"identifier": "dkk", "name": "Danish Krone", "decimals": 2}
    assert done["user"] == {"id": 0, "displayName": ""} and done["emaidProviderId"] == ""
    assert done["kwhPerHour"] == done["kwhPerMaxResolution"] == done["costBreakdown"] == done["priceBreakdown"] == []
    assert done["protocolData"] == {"oicp": None, "ocpi": None}
    assert done["operator"]["id"] == operator.pk and done["operator"]["identifier"] == operator.slug
    assert done["publicChargePoint"]["evseId"] == "DK*TST*E000001"
    assert done["publicChargePoint"]["name"] == "Bay 1" and done["publicChargePoint"]["brandName"] == "Easee"
    assert done["publicChargePoint"]["chargePointOperatorName"] == operator.name
    assert done["publicChargePoint"]["location"]["address"]["city"] == "København K"
    as_charge_point = bearer(operator, ["charge-points:read"]).get(f"/api/v1/charge-points/{network['point'].pk}")
    assert done["publicChargePoint"]["location"] == as_charge_point.json()["location"]
    assert done["publicChargePoint"]["maxKw"] == Decimal("22.00") and done["chargePointKw"] == Decimal("22.00")

    failed = body["data"][1]
    assert failed["state"] == "other" and failed["failedAt"] == failed["stoppedAt"] and failed["completedAt"] is None
    assert failed["failureReason"] == "Ground fault" and failed["type"] == "operator"
    assert failed["humanReadableId"] == str(network["failed"].pk) and failed["partnerExternalId"] is None
    live = body["data"][0]
    assert live["state"] == "charging" and live["stoppedAt"] is None and live["completedAt"] is None
    assert live["siteId"] is None and live["publicChargePoint"]["location"]["address"] is None
    assert live["type"] == "sponsored" and live["price"] == Decimal("0.10")

    # the list is not re-validated per request: its rows are exactly the schema's
    for row in response.json()["data"]:
        assert json.loads(dumps(ChargeOut.model_validate(row).model_dump())) == row

    one = client.get(f"/api/v1/charges/{c.pk}")
    assert json.loads(one.content, parse_float=Decimal) == done


def test_filters(operator, network):
    client = bearer(operator, READ)

    def ids(query):
        response = client.get(f"/api/v1/charges?{query}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["meta"]["totalItemCount"] == len(body["data"])
        return {c["id"] for c in body["data"]}

    completed, failed, charging = network["completed"].pk, network["failed"].pk, network["charging"].pk
    assert ids(f"chargePointId={network['point'].pk}") == {completed, failed}
    assert ids(f"siteId={network['site'].pk}") == {completed, failed}
    assert ids(f"siteId={network['site'].pk}&chargePointId={network['loose'].pk}") == set()
    assert ids("state=completed") == {completed} and ids("state=charging") == {charging}
    assert ids("state=reserved") == set()
    start = (network["now"] - timedelta(hours=3)).isoformat().replace("+00:00", "Z")
    assert ids(f"fromDate={start}") == {failed, charging}
    assert ids(f"toDate={start}") == {completed, failed}
    assert ids(f"fromDate={start}&toDate={start}") == {failed}
    assert ids("partnerExternalId=CDR-1") == {completed}
    assert ids(f"teamId={operator.pk}&operatorId={operator.pk}") == {completed, failed, charging}
    assert ids("operatorRole=payer") == set() and ids("operatorRole=owner") == {completed, failed, charging}
    assert ids("chargeAuthType=rfid&chargeAuthId=38C58DB85XXX") == set()
    assert ids(f"fromCompletedDate={start}") == set() and ids(f"toCompletedDate={start}") == {completed}


def test_bad_filters_are_a_400_naming_the_parameter(operator, other_operator, network):
    theirs = SiteFactory(operator=other_operator)
    their_point = ChargePointFactory(operator=other_operator, site=theirs)
    client = bearer(operator, READ)
    assert_400(client.get(f"/api/v1/charges?siteId={theirs.pk}"), "siteId")
    assert_400(client.get("/api/v1/charges?siteId=999999"), "siteId")
    assert_400(client.get("/api/v1/charges?siteId=0"), "siteId")
    assert_400(client.get(f"/api/v1/charges?chargePointId={their_point.pk}"), "chargePointId")
    assert_400(client.get("/api/v1/charges?chargePointId=abc"), "chargePointId")
    assert_400(client.get(f"/api/v1/charges?teamId={other_operator.pk}"), "teamId")
    assert_400(client.get(f"/api/v1/charges?operatorId={other_operator.pk}"), "operatorId")
    assert_400(client.get("/api/v1/charges?state=failed"), "state")
    assert_400(client.get("/api/v1/charges?fromDate=yesterday"), "fromDate")
    assert_400(client.get("/api/v1/charges?fromDate=2025-02-01T00:00:00Z&toDate=2025-01-01T00:00:00Z"), "toDate")
    assert_400(client.get("/api/v1/charges?perPage=101"), "perPage")
    assert_400(client.get("/api/v1/charges?chargeAuthType=card"), "chargeAuthType")


def test_another_operators_charges_are_never_seen(operator, other_operator, network):
    theirs = ChargeFactory(operator=other_operator)
    client = bearer(operator, READ)
    assert theirs.pk not in {c["id"] for c in client.get("/api/v1/charges?perPage=100").json()["data"]}
    for pk in (theirs.pk, 999999, 2**63):
        response = client.get(f"/api/v1/charges/{pk}")
        assert response.status_code == 404 and response.json()["errorCode"] == "RESOURCE_NOT_FOUND"
    assert bearer(other_operator, READ).get(f"/api/v1/charges/{theirs.pk}").json()["currency"]["identifier"] == "nok"


@pytest.mark.parametrize("path", ["/api/v1/charges", "/api/v1/charges/{id}"])
def test_the_charge_transactions_scope_is_required(operator, network, path):
    client = bearer(operator, ["charge-points:read", "operators", "wallet-transactions:read"])
    response = client.get(path.format(id=network["completed"].pk))
    assert response.status_code == 403 and response.json()["context"] == {"requiredScope": "charge-transactions:read"}


def test_pages_and_the_total_from_the_rollups_without_counting_the_charges(operator, network):
    point = network["point"]
    for i in range(7):
        ChargeFactory(operator=operator, charge_point=point, started_at=network["now"] - timedelta(days=3, hours=i))
    rollups.refresh(operator.pk)  # the rollups current: no day is summed live
    ChargeFactory(operator=operator, charge_point=point, started_at=network["now"] - timedelta(minutes=5))  # dirty
    client = bearer(operator, READ)
    client.get("/api/v1/charges")  # the key's first use is written once
    seen = []
    for page in range(3):
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(f"/api/v1/charges?page={page}&perPage=4").json()
        assert body["meta"] == {"itemCount": [4, 4, 3][page], "currentPage": page, "perPage": 4,
                                "totalPageCount": 3, "totalItemCount": 11}
        seen += [c["id"] for c in body["data"]]
        assert not [q for q in ctx.captured_queries if "COUNT(" in q["sql"] and '"charging_charge"' in q["sql"]
                    and "started_at" not in q["sql"]]  # only the dirty day is counted live
    assert len(seen) == len(set(seen)) == 11
    beyond = client.get("/api/v1/charges?page=3&perPage=4").json()
    assert beyond["data"] == [] and beyond["meta"]["totalItemCount"] == 11 and beyond["meta"]["itemCount"] == 0
    by_site = client.get(f"/api/v1/charges?siteId={network['site'].pk}&perPage=1").json()["meta"]
    assert by_site["totalItemCount"] == 10 and by_site["totalPageCount"] == 10
    by_point = client.get(f"/api/v1/charges?chargePointId={network['loose'].pk}").json()["meta"]
    assert by_point["totalItemCount"] == 1


@pytest.mark.parametrize("query", ["", "siteId={site}", "chargePointId={point}", "state=completed"])
def test_the_queries_do_not_grow_with_the_rows(operator, network, query):
    client = bearer(operator, READ)
    client.get("/api/v1/charges")  # the key's first use is written once
    site, point = network["site"], network["point"]

    def queries(n):
        while len(client.get("/api/v1/charges?perPage=100").json()["data"]) < n:
            other_site = SiteFactory(operator=operator)
            ChargeFactory(operator=operator, charge_point=ChargePointFactory(operator=operator, site=other_site))
            ChargeFactory(operator=operator, charge_point=point)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/v1/charges?perPage=100&" + query.format(site=site.pk, point=point.pk))
        assert response.status_code == 200 and response.json()["data"]
        return len(ctx.captured_queries)

    assert queries(3) == queries(30)


def test_decimals_are_json_numbers_with_their_digits_and_text_is_untouched():
    data = {"a": Decimal("100.00"), "b": [Decimal("-0.50"), Decimal("1E+2")], "c": 'say "100.00"', "d": 1.5}
    assert dumps(data) == '{"a": 100.00, "b": [-0.50, 100], "c": "say \\"100.00\\"", "d": 1.5}'
    with pytest.raises(ValueError):
        dumps({"x": Decimal("NaN")})


@pytest.mark.parametrize("parts_up_to", [1000, 10])
def test_pages_of_a_sites_charges_are_the_plain_order_page_by_page(operator, monkeypatch, parts_up_to):
    """A site's charges are read per charge point (api.pages.paged, parts) and deep pages by ids
    first; page after page they are the plain ordered list, with ties on the start."""
    from datetime import timedelta

    from django.utils import timezone

    from api import pages
    from charging.models import Charge
    from tests.api.helpers import bearer
    from tests.factories import ChargeFactory, ChargePointFactory, SiteFactory

    monkeypatch.setattr(pages, "PARTS_UP_TO", parts_up_to)
    site = SiteFactory(operator=operator)
    points = [ChargePointFactory(operator=operator, site=site) for _ in range(3)]
    elsewhere = ChargePointFactory(operator=operator)
    at = timezone.now() - timedelta(days=2)
    for i in range(40):
        ChargeFactory(operator=operator, charge_point=elsewhere if i % 5 == 0 else points[i % 3],
                      started_at=at - timedelta(minutes=i // 3), stopped_at=at + timedelta(hours=1))
    expected = list(Charge.objects.filter(operator=operator, charge_point__site=site)
                    .order_by("-started_at", "-id").values_list("pk", flat=True))
    client = bearer(operator, ["charge-transactions:read"])
    seen = []
    for page in range(6):
        body = client.get(f"/api/v1/charges?siteId={site.pk}&perPage=7&page={page}").json()
        assert body["meta"]["totalItemCount"] == len(expected)
        seen += [c["id"] for c in body["data"]]
    assert seen == expected
    body = client.get(f"/api/v1/charges?siteId={site.pk}&perPage=7&page=1&state=completed").json()
    assert [c["id"] for c in body["data"]] == expected[7:14]
