from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from charging.models import ChargePoint, Connector, Site
from portal.models import AuditEvent
from portal.permissions import Role
from tests.factories import ChargeFactory, ChargePointFactory, SiteFactory, member

pytestmark = pytest.mark.django_db


def url(operator, path):
    return f"/o/{operator.slug}/{path}"


def test_site_create_edit_delete(admin_client, operator):
    response = admin_client.post(url(operator, "sites/new/"), {
        "name": "Harbour", "street": "Havnegade 4", "postcode": "8000", "city": "Aarhus", "country": "dk",
        "latitude": "56.1539", "longitude": "10.2145", "visibility": "public"})
    assert response.status_code == 302
    site = Site.objects.get(operator=operator)
    assert site.country == "DK"
    page = admin_client.get(url(operator, "sites/?q=havne")).content.decode()
    assert "Harbour" in page and "Havnegade 4, 8000 Aarhus, DK" in page
    admin_client.post(url(operator, f"sites/{site.pk}/edit/"), {"name": "Harbour North", "visibility": "private",
                                                                "country": "DK"})
    site.refresh_from_db()
    assert (site.name, site.visibility) == ("Harbour North", "private")
    assert admin_client.post(url(operator, f"sites/{site.pk}/delete/")).status_code == 302
    assert not Site.objects.exists()
    assert list(AuditEvent.objects.filter(operator=operator).order_by("created_at").values_list("verb", flat=True)) == [
        "site.created", "site.updated", "site.deleted"]


def test_invalid_site_is_400_with_field_errors(admin_client, operator):
    response = admin_client.post(url(operator, "sites/new/"), {"name": "", "latitude": "95", "country": "D1",
                                                               "visibility": "public"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Latitude is between -90 and 90." in page and "two-letter ISO country code" in page
    assert not Site.objects.exists()


def test_site_with_charge_points_cannot_be_deleted(admin_client, operator):
    site = SiteFactory(operator=operator)
    ChargePointFactory(operator=operator, site=site)
    response = admin_client.post(url(operator, f"sites/{site.pk}/delete/"), follow=True)
    assert "still has charge points" in response.content.decode()
    assert Site.objects.filter(pk=site.pk).exists()


def test_charge_point_create_with_connectors_and_detail(admin_client, operator):
    site = SiteFactory(operator=operator, name="Harbour")
    response = admin_client.post(url(operator, "charge-points/new/"), {
        "name": "Harbour #1", "site": site.pk, "serial_number": "ZAP-1", "evse_id": "dk*abc*e00001",
        "brand_name": "Zaptec", "model_name": "Pro", "type": "ac", "max_kw": "22", "visibility": "public",
        "state": "available",
        "connectors-TOTAL_FORMS": "2", "connectors-INITIAL_FORMS": "0",
        "connectors-0-identifier": "type2", "connectors-0-max_kw": "22",
        "connectors-1-identifier": "", "connectors-1-max_kw": "",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    cp = ChargePoint.objects.get(operator=operator)
    assert cp.evse_id == "DK*ABC*E00001"
    assert [(c.identifier, c.max_kw) for c in Connector.objects.filter(charge_point=cp)] == [("type2", Decimal("22"))]
    ChargeFactory(operator=operator, charge_point=cp, external_id="SESSION-42")
    page = admin_client.get(response["Location"]).content.decode()
    assert "Harbour #1" in page and "Type 2 22 kW" in page and "SESSION-42" in page


def test_charge_point_duplicate_evse_is_a_field_error(admin_client, operator):
    ChargePointFactory(operator=operator, evse_id="DK*ABC*E00001")
    response = admin_client.post(url(operator, "charge-points/new/"), {
        "name": "Dup", "evse_id": "DK*ABC*E00001", "type": "ac", "visibility": "public", "state": "available",
        "connectors-TOTAL_FORMS": "0", "connectors-INITIAL_FORMS": "0"})
    assert response.status_code == 400
    assert "Another charge point already has this EVSE id." in response.content.decode()


def test_charge_point_with_charges_cannot_be_deleted(admin_client, operator):
    charge = ChargeFactory(operator=operator)
    response = admin_client.post(url(operator, f"charge-points/{charge.charge_point_id}/delete/"), follow=True)
    assert "cannot be deleted" in response.content.decode()
    cp = ChargePointFactory(operator=operator)
    admin_client.post(url(operator, f"charge-points/{cp.pk}/delete/"))
    assert not ChargePoint.objects.filter(pk=cp.pk).exists()


def test_charge_point_filters(admin_client, operator):
    north, south = SiteFactory(operator=operator, name="North"), SiteFactory(operator=operator, name="South")
    ChargePointFactory(operator=operator, site=north, name="Fast one", type="dc", state="error", visibility="public")
    ChargePointFactory(operator=operator, site=south, name="Slow one", type="ac", state="available",
                       visibility="private")
    def names(query):
        return [cp.name for cp in admin_client.get(url(operator, f"charge-points/?{query}")).context["page"]]
    assert names(f"site={north.pk}") == ["Fast one"]
    assert names("type=ac") == ["Slow one"]
    assert names("state=error") == ["Fast one"]
    assert names("visibility=private") == ["Slow one"]
    assert names("q=fast") == ["Fast one"]


def test_supporter_sees_but_cannot_edit(login, operator):
    ChargePointFactory(operator=operator, name="Visible")
    client = login(member(operator, Role.SUPPORTER))
    page = client.get(url(operator, "charge-points/")).content.decode()
    assert "Visible" in page and "Import CSV" not in page
    assert client.post(url(operator, "charge-points/new/"), {"name": "x"}).status_code == 403


CSV_HEADER = "name,evse_id,serial_number,site,brand_name,model_name,type,max_kw,visibility,state\n"


def _upload(client, operator, text, import_valid_rows=False):
    data = {"file": SimpleUploadedFile("points.csv", text.encode(), content_type="text/csv")}
    if import_valid_rows:
        data["import_valid_rows"] = "on"
    return client.post(url(operator, "charge-points/import/"), data)


def test_csv_import_all_valid(admin_client, operator):
    SiteFactory(operator=operator, name="Harbour")
    response = _upload(admin_client, operator, CSV_HEADER
                       + "H1,DK*ABC*E1,S1,Harbour,Zaptec,Pro,AC,22,public,available\n"
                       + "H2,DK*ABC*E2,S2,,Kempower,S,DC,150,private,error\n")
    assert response.status_code == 302
    assert sorted(ChargePoint.objects.filter(operator=operator).values_list("name", "type")) == [
        ("H1", "ac"), ("H2", "dc")]
    assert AuditEvent.objects.filter(operator=operator, verb="charge_point.created").count() == 2


def test_csv_import_with_errors_imports_nothing_and_reports_each_row(admin_client, operator):
    ChargePointFactory(operator=operator, evse_id="DK*ABC*ETAKEN")
    text = (CSV_HEADER
            + "Good,DK*ABC*E1,,,,,AC,22,public,available\n"
            + "Bad kW,DK*ABC*E2,,,,,AC,-5,public,available\n"
            + "No site,DK*ABC*E3,,Nowhere,,,AC,22,public,available\n"
            + "Taken,DK*ABC*ETAKEN,,,,,AC,22,public,available\n"
            + "Twice,DK*ABC*E1,,,,,XX,22,public,available\n")
    response = _upload(admin_client, operator, text)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Max kW must be more than 0." in page
    assert "no site named “Nowhere”" in page
    assert "Another charge point already has this EVSE id." in page
    assert "same EVSE id as line 2" in page
    assert "type: Select a valid choice" in page
    assert "nothing was imported" in page
    assert ChargePoint.objects.filter(operator=operator).count() == 1

    response = _upload(admin_client, operator, text, import_valid_rows=True)
    assert response.status_code == 200
    assert "1 charge point(s) imported. 4 row(s) with errors were skipped." in response.content.decode()
    assert ChargePoint.objects.filter(operator=operator, name="Good").exists()


def test_csv_with_unknown_columns_is_refused(admin_client, operator):
    response = _upload(admin_client, operator, "name,colour\nA,red\n")
    assert response.status_code == 400
    assert "Missing column(s): evse_id" in response.content.decode()


def _count_queries(client, path):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", ["sites/", "charge-points/", "charges/", "wallet/"])
def test_list_query_count_does_not_grow(admin_client, operator, path):
    from tests.charging.helpers import make_network

    make_network(operator, 10)
    small = _count_queries(admin_client, url(operator, path))
    make_network(operator, 1000)
    large = _count_queries(admin_client, url(operator, path))
    assert small == large


def test_charge_point_edit_replaces_connectors(admin_client, operator):
    cp = ChargePointFactory(operator=operator, name="Edit me")
    old = Connector.objects.create(operator=operator, charge_point=cp, identifier="type2", max_kw=22)
    response = admin_client.post(url(operator, f"charge-points/{cp.pk}/edit/"), {
        "name": "Edited", "evse_id": cp.evse_id, "type": "dc", "max_kw": "150", "visibility": "public",
        "state": "maintenance",
        "connectors-TOTAL_FORMS": "3", "connectors-INITIAL_FORMS": "1",
        "connectors-0-id": old.pk, "connectors-0-identifier": "type2", "connectors-0-max_kw": "22",
        "connectors-0-DELETE": "on",
        "connectors-1-identifier": "ccs", "connectors-1-max_kw": "150",
        "connectors-2-identifier": "", "connectors-2-max_kw": "",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    cp.refresh_from_db()
    assert (cp.name, cp.type, cp.state) == ("Edited", "dc", "maintenance")
    assert [str(c) for c in cp.connectors.all()] == ["CCS 150 kW"]
    event = AuditEvent.objects.get(verb="charge_point.updated")
    assert event.changes["connectors"] == {"before": "Type 2 22 kW", "after": "CCS 150 kW"}
    assert event.changes["state"] == {"before": "available", "after": "maintenance"}


def test_csv_with_a_nul_byte_is_a_400(admin_client, operator):
    response = _upload(admin_client, operator, CSV_HEADER + "A,\x00B\n")
    assert response.status_code == 400


def test_charge_detail_shows_its_ledger_entries(admin_client, login, operator):
    from charging.ledger import post_charges
    from charging.models import Charge

    charge = ChargeFactory(operator=operator, external_id="SESSION-7", price=Decimal("80.00"))
    post_charges(operator=operator, charges=Charge.objects.filter(pk=charge.pk))
    page = admin_client.get(url(operator, f"charges/{charge.pk}/")).content.decode()
    assert "SESSION-7" in page and f"charge:{charge.pk}:income" in page
    other = ChargeFactory()  # another operator's charge: 404, not 403
    assert admin_client.get(url(operator, f"charges/{other.pk}/")).status_code == 404


@pytest.mark.parametrize("text,message", [
    ("name,evse_id,name\nA,DK*ABC*E1,B\n", "Column(s) appear more than once: name."),
    ('name,evse_id\n"A,DK*ABC*E1\n', "The file is not a readable CSV file"),
    ("name,evse_id\nA,DK*ABC*E1,surprise\n", "this line has 1 more cell(s) than the header"),
])
def test_csv_structure_problems_are_refused(admin_client, operator, text, message):
    response = _upload(admin_client, operator, text)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ChargePoint.objects.filter(operator=operator).exists()
