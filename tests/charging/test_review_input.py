"""Bad input found in review (issue 9 follow-up): EVSE ids that differ only in their optional '*'
separators are the same EVSE (ISO 15118-2 Annex H / eMI3: "<S> = *1 '*'", optional), so they may
not be given to two charge points and a CDR written either way reaches the charge point; CDR EVSE
ids are ASCII (OCPI CiString), so a homoglyph that str.upper() folds onto ASCII ('ı' -> 'I') does
not match."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from charging import cdr_import as importer
from charging.models import CdrImport, Charge, ChargePoint
from tests.charging.cdrs import cdr
from tests.factories import ChargePointFactory

pytestmark = pytest.mark.django_db

POINT = {"name": "Harbour #2", "type": "ac", "visibility": "public", "state": "available",
         "connectors-TOTAL_FORMS": "0", "connectors-INITIAL_FORMS": "0"}


def page(response):
    return response.content.decode()


@pytest.mark.parametrize("existing,typed", [
    ("DK*ABC*E00001", "DKABCE00001"), ("DKABCE00001", "dk*abc*e00001"), ("DK*ABC*E1*2", "DK*ABC*E12"),
    ("DK*ABC*E12", "DK*ABC*E1*2*"),
])
def test_an_evse_id_spelled_with_other_separators_is_taken(admin_client, operator, existing, typed):
    ChargePointFactory(operator=operator, evse_id=existing)
    response = admin_client.post(f"/o/{operator.slug}/charge-points/new/", {**POINT, "evse_id": typed})
    assert response.status_code == 400 and "Another charge point already has this EVSE id." in page(response)
    assert ChargePoint.objects.count() == 1


def test_editing_a_charge_point_keeps_its_own_evse_id_in_another_spelling(admin_client, operator):
    point = ChargePointFactory(operator=operator, evse_id="DK*ABC*E00001", name="Harbour #1")
    response = admin_client.post(f"/o/{operator.slug}/charge-points/{point.pk}/edit/",
                                 {**POINT, "name": "Harbour #1", "evse_id": "DKABCE00001"})
    assert response.status_code == 302
    point.refresh_from_db()
    assert point.evse_id == "DKABCE00001"


def test_csv_import_refuses_one_evse_twice_in_two_spellings(admin_client, operator):
    ChargePointFactory(operator=operator, evse_id="DK*ABC*E9")
    text = "name,evse_id\nA,DK*ABC*E1\nB,DKABCE1\nC,DKABCE9\n"
    upload = SimpleUploadedFile("points.csv", text.encode(), content_type="text/csv")
    response = admin_client.post(f"/o/{operator.slug}/charge-points/import/", {"file": upload})
    body = page(response)
    assert response.status_code == 400 and ChargePoint.objects.count() == 1
    assert "same EVSE id as line 2" in body
    assert "Another charge point already has this EVSE id." in body


def _run(operator, records):
    imp = CdrImport.objects.create(operator=operator, filename="t.json")
    return importer.run_import(cdr_import=imp, records=importer.parse_file(json.dumps(records)))


@pytest.mark.parametrize("stored,sent", [("DK*TST*E00001", "DKTSTE00001"), ("DKTSTE00001", "dk*tst*e00001")])
def test_a_cdr_reaches_its_charge_point_whatever_the_separators(operator, stored, sent):
    point = ChargePointFactory(operator=operator, evse_id=stored)
    result = _run(operator, [cdr("S1", sent)])
    assert (result.imported, result.error_count) == (1, 0), result.errors
    assert Charge.objects.get(external_id="S1").charge_point == point


def test_a_cdr_evse_id_with_a_homoglyph_does_not_match(operator):
    ChargePointFactory(operator=operator, evse_id="DK*TST*E0000I")
    result = _run(operator, [cdr("H1", "dk*tst*e0000\u0131")])  # dotless i: 'ı'.upper() == 'I'
    assert (result.imported, result.error_count) == (0, 1)
    assert "evse_id" in result.errors[0]["reason"] and "A-Z" in result.errors[0]["reason"]
    assert not Charge.objects.exists()
