"""Input that used to be accepted although wrong (issue 9, item 9): each form and importer refuses
it with a specific message, status 400, nothing saved."""
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import User
from charging.models import ChargePoint, Site
from credentials.models import Credential
from members.models import Invitation, Membership
from operators.models import BankAccount, Operator
from portal.models import AuditEvent
from portal.permissions import Role
from tests.factories import member

pytestmark = pytest.mark.django_db
DK_IBAN = "DK5000400440116243"  # Nordea Danmark, BIC NDEADKKK


def page(response):
    return response.content.decode()


# --- Bank accounts: a typed BIC that contradicts the IBAN -------------------------------------------
@pytest.mark.parametrize("bic,message", [
    ("DABADKKK", "This BIC (DABADKKK) is not the BIC of the bank this IBAN belongs to (NORDEA BANK DANMARK A/S, "
                 "BIC NDEADKKK)"),
    ("DEUTDEFF", "This BIC is of a bank in Germany, but the IBAN is from Denmark"),
])
def test_a_typed_bic_that_contradicts_the_iban_is_refused(admin_client, operator, bic, message):
    response = admin_client.post(f"/o/{operator.slug}/bank-accounts/new/",
                                 {"holder_name": "Operator ApS", "iban": DK_IBAN, "bic": bic})
    assert response.status_code == 400 and message in page(response)
    assert not BankAccount.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize("bic,stored", [("NDEADKKK", "NDEADKKK"), ("ndea dk kk xxx", "NDEADKKKXXX"), ("", "NDEADKKK")])
def test_the_banks_own_bic_is_accepted(admin_client, operator, bic, stored):
    response = admin_client.post(f"/o/{operator.slug}/bank-accounts/new/",
                                 {"holder_name": "Operator ApS", "iban": DK_IBAN, "bic": bic})
    assert response.status_code == 302
    assert BankAccount.objects.get(operator=operator).bic == stored


def test_an_unknown_bank_needs_a_bic_of_the_ibans_country(admin_client, operator):
    url = f"/o/{operator.slug}/bank-accounts/new/"
    unknown_bank = "DE44999999990532013000"
    response = admin_client.post(url, {"holder_name": "A", "iban": unknown_bank, "bic": "NDEADKKK"})
    assert response.status_code == 400 and "This BIC is of a bank in Denmark, but the IBAN is from Germany" in page(response)
    assert admin_client.post(url, {"holder_name": "A", "iban": unknown_bank, "bic": "DEUTDEFF"}).status_code == 302


def test_bank_account_holder_made_of_invisible_characters(admin_client, operator):
    response = admin_client.post(f"/o/{operator.slug}/bank-accounts/new/", {"holder_name": "\u3164", "iban": DK_IBAN})
    assert response.status_code == 400 and "visible characters" in page(response)
    assert not BankAccount.objects.exists()


# --- Sites and charge points ------------------------------------------------------------------------
SITE = {"name": "Harbour", "street": "Havnegade 4", "postcode": "8000", "city": "Aarhus", "country": "DK",
        "visibility": "public", "note": ""}


@pytest.mark.parametrize("change,message", [
    ({"country": "XX"}, "“XX” is not an ISO 3166 country code"),
    ({"country": "EU"}, "“EU” is not an ISO 3166 country code"),
    ({"name": "\u200b\u200b"}, "invisible character (U+200B)"),
    ({"name": "\u3164"}, "visible characters"),
    ({"street": "Havnegade 4\r\nBcc: x@evil.example"}, "carriage return (CR)"),
    ({"city": "Aarhus\u202e"}, "text-direction control character (U+202E)"),
    ({"note": "line one\nline two"}, "line break (LF)"),
])
def test_bad_site_input_is_refused(admin_client, operator, change, message):
    response = admin_client.post(f"/o/{operator.slug}/sites/new/", {**SITE, **change})
    assert response.status_code == 400 and message in page(response)
    assert not Site.objects.exists()


def test_site_country_is_stored_upper_case(admin_client, operator):
    assert admin_client.post(f"/o/{operator.slug}/sites/new/", {**SITE, "country": "dk"}).status_code == 302
    assert Site.objects.get().country == "DK"


POINT = {"name": "Harbour #1", "evse_id": "DK*ABC*E00001", "type": "ac", "visibility": "public",
         "state": "available", "connectors-TOTAL_FORMS": "0", "connectors-INITIAL_FORMS": "0"}


@pytest.mark.parametrize("change,message", [
    ({"evse_id": "DK*ABC*00001"}, "not an EVSE id in the ISO 15118 / eMI3 format"),
    ({"evse_id": "DK-ABC-E00001"}, "not an EVSE id in the ISO 15118 / eMI3 format"),
    ({"evse_id": "XX*ABC*E00001"}, "“XX” is not one"),
    ({"evse_id": "DK*ABC*E0000\u202e1"}, "text-direction control character (U+202E)"),
    ({"evse_id": "DK*ABC*E00\u200b001"}, "invisible character (U+200B)"),
    ({"evse_id": "DK*ABC*E٠٠٠٠١"}, "only the letters A-Z, digits"),
    ({"name": "\u2800"}, "visible characters"),
    ({"serial_number": "SN\n1"}, "line break (LF)"),
])
def test_bad_charge_point_input_is_refused(admin_client, operator, change, message):
    response = admin_client.post(f"/o/{operator.slug}/charge-points/new/", {**POINT, **change})
    assert response.status_code == 400 and message in page(response)
    assert not ChargePoint.objects.exists()


@pytest.mark.parametrize("evse_id", ["DK*ABC*E00001", "DKABCE00001", "dk*abc*e1*2"])
def test_evse_ids_with_and_without_separators(admin_client, operator, evse_id):
    assert admin_client.post(f"/o/{operator.slug}/charge-points/new/", {**POINT, "evse_id": evse_id}).status_code == 302
    assert ChargePoint.objects.get().evse_id == evse_id.upper()


def test_charge_point_csv_import_uses_the_same_validators(admin_client, operator):
    text = ("name,evse_id,max_kw\n" "Good,DK*ABC*E1,22\n" "Bad EVSE,DK*ABC*1,22\n" "Hidden,DK*ABC*E2\u202e,22\n"
            "\u3164,DK*ABC*E3,22\n" "Huge,DK*ABC*E4,1e999999999\n" "NaN,DK*ABC*E5,NaN\n"
            f"Long,DK*ABC*E6,{'9' * 5000}\n" "Arabic,DK*ABC*E7,٢٢\n")
    upload = SimpleUploadedFile("points.csv", text.encode(), content_type="text/csv")
    response = admin_client.post(f"/o/{operator.slug}/charge-points/import/", {"file": upload})
    body = page(response)
    assert response.status_code == 400 and not ChargePoint.objects.exists()
    for line, message in [(3, "not an EVSE id in the ISO 15118"), (4, "text-direction control character"),
                          (5, "visible characters"), (6, "max_kw: Ensure that there are no more than 7 digits"),
                          (7, "max_kw: Enter a number"), (8, "max_kw: Ensure that there are no more than 7 digits"),
                          (9, "max_kw: Enter a number with the digits 0-9.")]:
        assert f"<td class=\"num\">{line}</td>" in body, line
        assert message in body, message


# --- Company settings, my account ---------------------------------------------------------------------
SETTINGS = {"name": "Demo Charging ApS", "vat_number": "DK13585628", "contact_email": "hello@demo.test",
            "finance_email": "finance@demo.test", "street": "Vesterbrogade 10", "postcode": "1620",
            "city": "København V", "country": "DK", "ean": "", "po_number": ""}


@pytest.mark.parametrize("change,message", [
    ({"name": "\u200b"}, "invisible character (U+200B)"),
    ({"name": "\u3164\u3164"}, "visible characters"),
    ({"street": "Vesterbrogade 10\nSomewhere"}, "line break (LF)"),
    ({"po_number": "PO\u202e42"}, "text-direction control character"),
])
def test_bad_company_settings_are_refused(admin_client, operator, change, message):
    before = Operator.objects.get(pk=operator.pk).name
    response = admin_client.post(f"/o/{operator.slug}/settings/", {**SETTINGS, **change})
    assert response.status_code == 400 and message in page(response)
    assert Operator.objects.get(pk=operator.pk).name == before


def test_account_name_of_invisible_characters_is_refused(admin_client, admin_user):
    response = admin_client.post("/account/", {"name": "\u3164", "phone": ""})
    assert response.status_code == 400 and "visible characters" in page(response)
    assert User.objects.get(pk=admin_user.pk).name != "\u3164"


# --- Members: expiry dates centuries ahead -----------------------------------------------------------
def test_invitation_expiry_centuries_ahead_is_refused(admin_client, operator):
    response = admin_client.post(f"/o/{operator.slug}/members/invite/",
                                 {"contact": "new@example.test", "role": "manager", "expires_at": "2999-01-01"})
    assert response.status_code == 400 and "Choose a date within 10 years" in page(response)
    assert not Invitation.objects.exists()
    in_ten_years = (timezone.localdate() + timedelta(days=3650)).isoformat()
    response = admin_client.post(f"/o/{operator.slug}/members/invite/",
                                 {"contact": "new@example.test", "role": "manager", "expires_at": in_ten_years})
    assert response.status_code == 302


def test_member_expiry_centuries_ahead_is_refused(admin_client, operator):
    user = member(operator, Role.SUPPORTER)
    target = Membership.objects.get(operator=operator, user=user)
    response = admin_client.post(f"/o/{operator.slug}/members/{target.pk}/settings/",
                                 {"role": "supporter", "expires_at": "2500-06-01"})
    assert response.status_code == 400 and "Choose a date within 10 years" in page(response)
    assert Membership.objects.get(pk=target.pk).expires_at is None
    response = admin_client.post(f"/o/{operator.slug}/members/{target.pk}/extend/", {"expires_at": "9999-12-31"})
    assert response.status_code in (302, 400)
    assert Membership.objects.get(pk=target.pk).expires_at is None


def test_invite_contact_with_a_line_break_is_refused(admin_client, operator):
    response = admin_client.post(f"/o/{operator.slug}/members/invite/",
                                 {"contact": "new@example.test\nBcc: x@evil.example", "role": "manager"})
    assert response.status_code == 400 and not Invitation.objects.exists()


# --- Credentials: ids matched with \d ----------------------------------------------------------------
@pytest.mark.parametrize("change,message", [
    ({"operator_id": "١٢٣٤٥"}, "Your Nayax operator ID is 4 to 12 digits."),
    ({"operator_id": "１２３４５"}, "Your Nayax operator ID is 4 to 12 digits."),
    ({"machine_id": "१२३४५६७"}, "A Nayax machine ID is 6 to 12 digits."),
    ({"name": "\u200b\u200b"}, "invisible character"),
    ({"operator_id": "12345\u202e"}, "text-direction control character"),
])
def test_bad_credential_input_is_refused(admin_client, operator, change, message):
    data = {"name": "Nayax", "api_token": "nayax-token-0123456789abcdef", "operator_id": "12345",
            "machine_id": "", **change}
    response = admin_client.post(f"/o/{operator.slug}/credentials/new/nayax/", data)
    assert response.status_code == 400 and message in page(response)
    assert not Credential.objects.exists()


def test_ids_and_numbers_with_non_ascii_digits_are_refused(admin_client, operator):
    from tests.factories import ChargePointFactory

    point = ChargePointFactory(operator=operator)
    arabic = str(point.pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    response = admin_client.get(f"/o/{operator.slug}/charges/?charge_point={arabic}")
    assert response.status_code == 400 and "No such charge point." in page(response)
    assert admin_client.get(f"/o/{operator.slug}/charges/?charge_point={point.pk}").status_code == 200
    response = admin_client.post(f"/o/{operator.slug}/sites/new/", {**SITE, "latitude": "٥٥.٦"})
    assert response.status_code == 400 and "Enter a number with the digits 0-9." in page(response)
