"""The Credentials tab through the test client: what each role sees, what the HTML never contains."""
import re

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test.utils import CaptureQueriesContext

from credentials import services
from credentials.models import Credential
from portal.models import AuditEvent
from portal.permissions import Role
from tests.credentials.pem import tls_pair
from tests.factories import CredentialFactory, member

SECRET = "pk_live_SECRETVALUE9f8e7d6c5b4a3210abcdQ7RS"
NEW_SECRET = "pk_live_REPLACEMENT0a1b2c3d4e5f6a7b8c9dWXYZ"


def url(operator, suffix=""):
    return f"/o/{operator.slug}/credentials/{suffix}"


def payter_post(**overrides):
    return {"name": "Payter – Vesterbro", "api_key": SECRET, "terminal_id": "P68D0042137",
            "environment": "production", **overrides}


def html(response):
    return response.content.decode()


def assert_no_secret(response, *secrets):
    body = html(response)
    for secret in secrets:
        assert secret not in body
        assert secret[:-4] not in body


@pytest.fixture
def manager(operator):
    return member(operator, Role.MANAGER)


@pytest.fixture
def client_m(login, manager):
    return login(manager)


def create(client, operator, **overrides):
    return client.post(url(operator, "new/payter/"), payter_post(**overrides))


def test_manager_creates_credentials_and_sees_them_masked(client_m, operator, manager):
    response = create(client_m, operator)
    assert response.status_code == 302 and response["Location"] == url(operator)
    credential = Credential.objects.get(operator=operator)
    assert credential.created_by == manager and credential.platform == "payter"

    page = client_m.get(url(operator))
    assert page.status_code == 200
    body = html(page)
    assert "Payter – Vesterbro" in body and "Payter" in body and "P68D0042137" in body
    assert "••••Q7RS" in body  # the last four characters at most
    assert manager.get_full_name() in body
    assert_no_secret(page, SECRET)


def test_select_the_platform_lists_the_catalogue(client_m, operator):
    body = html(client_m.get(url(operator, "new/")))
    assert "Select the platform" in body
    for name in ("Payter", "Nayax", "Adyen", "Hubject", "GIREVE", "e-conomic", "Energinet DataHub (DK)"):
        assert name in body
    assert url(operator, "new/adyen/") in body


def test_invalid_form_is_rerendered_with_errors_and_never_echoes_the_secret(client_m, operator):
    response = create(client_m, operator, terminal_id="no spaces allowed", name="")
    assert response.status_code == 400
    body = html(response)
    assert "Enter the serial number printed on the terminal" in body
    assert "This field is required." in body
    assert_no_secret(response, SECRET)
    assert not Credential.objects.exists()


def test_private_key_textarea_never_echoes_the_posted_key(client_m, operator):
    cert, key = tls_pair()
    response = client_m.post(url(operator, "new/hubject/"), {
        "name": "Hubject", "operator_id": "bad id", "endpoint_url": "https://service.hubject.com/",
        "client_certificate": cert, "private_key": key})
    assert response.status_code == 400
    body = html(response)
    key_body = "".join(key.strip().splitlines()[1:-1])
    assert key_body[:40] not in body.replace("\n", "")
    assert "-----BEGIN CERTIFICATE-----" in body  # the public certificate may be shown again


def test_client_certificate_credentials_round_trip(client_m, operator):
    cert, key = tls_pair("cpo.demo.example")
    response = client_m.post(url(operator, "new/hubject/"), {
        "name": "Hubject", "operator_id": "dk*cpo", "endpoint_url": "https://service.hubject.com/",
        "client_certificate": cert, "private_key": key})
    assert response.status_code == 302
    body = html(client_m.get(url(operator)))
    assert "EC private key (secp256r1)" in body and "cpo.demo.example, valid until" in body
    assert "DK*CPO" in body
    credential = Credential.objects.get()
    assert services.credential_secrets(operator=operator, credential_id=credential.pk)["private_key"].startswith(
        "-----BEGIN PRIVATE KEY-----")
    # a new certificate that does not fit the kept private key is refused
    other_cert, _ = tls_pair("other.example")
    response = client_m.post(url(operator, f"{credential.pk}/"), {
        "name": "Hubject", "operator_id": "DK*CPO", "endpoint_url": "https://service.hubject.com/",
        "client_certificate": other_cert, "private_key": ""})
    assert response.status_code == 400
    assert "does not belong to the client certificate" in html(response)


def test_edit_shows_non_secret_fields_and_replace_for_each_secret(client_m, operator):
    create(client_m, operator)
    credential = Credential.objects.get()
    page = client_m.get(url(operator, f"{credential.pk}/"))
    assert page.status_code == 200
    body = html(page)
    assert 'value="P68D0042137"' in body
    assert "Replace API key" in body and "Current: ••••Q7RS" in body
    assert_no_secret(page, SECRET)
    assert not re.search(r'name="api_key"[^>]*value=', body)


def test_empty_replace_keeps_the_secret_and_a_value_replaces_it(client_m, operator):
    create(client_m, operator)
    credential = Credential.objects.get()
    response = client_m.post(url(operator, f"{credential.pk}/"), payter_post(api_key="", terminal_id="P68D0000001"))
    assert response.status_code == 302
    assert services.credential_secrets(operator=operator, credential_id=credential.pk) == {"api_key": SECRET}
    credential.refresh_from_db()
    assert credential.values["terminal_id"] == "P68D0000001"
    assert AuditEvent.objects.filter(verb="credential.updated").get().changes == {
        "terminal_id": {"before": "P68D0042137", "after": "P68D0000001"}}

    response = client_m.post(url(operator, f"{credential.pk}/"), payter_post(api_key=NEW_SECRET,
                                                                              terminal_id="P68D0000001"))
    assert response.status_code == 302
    assert services.credential_secrets(operator=operator, credential_id=credential.pk) == {"api_key": NEW_SECRET}
    page = client_m.get(url(operator))
    assert "••••WXYZ" in html(page) and "••••Q7RS" not in html(page)
    assert_no_secret(page, SECRET, NEW_SECRET)
    event = AuditEvent.objects.get(verb="credential.secret_replaced")
    assert event.changes == {"api_key": {"before": "[redacted]", "after": "[redacted]"}}


def test_invalid_replacement_is_refused_and_the_old_secret_kept(client_m, operator):
    create(client_m, operator)
    credential = Credential.objects.get()
    response = client_m.post(url(operator, f"{credential.pk}/"), payter_post(api_key="short"))
    assert response.status_code == 400 and "32 to 128" in html(response)
    assert services.credential_secrets(operator=operator, credential_id=credential.pk) == {"api_key": SECRET}


def test_unchanged_edit_writes_nothing(client_m, operator):
    create(client_m, operator)
    credential = Credential.objects.get()
    response = client_m.post(url(operator, f"{credential.pk}/"), payter_post(api_key=""), follow=True)
    assert "Nothing changed." in html(response)
    assert AuditEvent.objects.filter(item_type="credential").count() == 1
    credential.refresh_from_db()
    assert credential.updated_at is None


def test_duplicate_name_is_a_form_error(client_m, operator):
    create(client_m, operator)
    response = create(client_m, operator, api_key=NEW_SECRET)
    assert response.status_code == 400
    assert "already have credentials with this name" in html(response)
    assert Credential.objects.count() == 1


def test_delete_asks_for_confirmation_then_deletes(client_m, operator):
    create(client_m, operator)
    credential = Credential.objects.get()
    confirm = client_m.get(url(operator, f"{credential.pk}/delete/"))
    assert confirm.status_code == 200
    assert "Delete “Payter – Vesterbro”?" in html(confirm)
    assert Credential.objects.exists()  # the GET changed nothing
    assert_no_secret(confirm, SECRET)
    response = client_m.post(url(operator, f"{credential.pk}/delete/"), follow=True)
    assert "Credentials “Payter – Vesterbro” deleted." in html(response)
    assert not Credential.objects.exists()
    assert AuditEvent.objects.filter(verb="credential.deleted", item_id=str(credential.pk)).exists()


@pytest.mark.parametrize("role", [Role.BOOKKEEPER, Role.SUPPORTER])
def test_other_roles_see_nothing_of_the_tab(login, operator, role):
    credential = CredentialFactory(operator=operator)
    client = login(member(operator, role))
    overview = client.get(f"/o/{operator.slug}/")
    assert overview.status_code == 200
    assert url(operator) not in html(overview) and ">Credentials<" not in html(overview)
    for path in ("", "new/", "new/payter/", f"{credential.pk}/", f"{credential.pk}/delete/"):
        assert client.get(url(operator, path)).status_code == 403
    assert client.post(url(operator, "new/payter/"), payter_post()).status_code == 403
    assert client.post(url(operator, f"{credential.pk}/delete/")).status_code == 403
    assert Credential.objects.count() == 1


def test_admin_and_manager_see_the_tab(login, operator):
    for role in (Role.ADMIN, Role.MANAGER):
        body = html(login(member(operator, role)).get(f"/o/{operator.slug}/"))
        assert f'href="{url(operator)}"' in body


def test_another_operators_credentials_are_404(client_m, operator, other_operator):
    theirs = CredentialFactory(operator=other_operator)
    assert client_m.get(url(operator, f"{theirs.pk}/")).status_code == 404
    assert client_m.post(url(operator, f"{theirs.pk}/delete/")).status_code == 404
    assert Credential.objects.filter(pk=theirs.pk).exists()
    assert theirs.name not in html(client_m.get(url(operator)))


def test_unknown_platform_is_404(client_m, operator):
    assert client_m.get(url(operator, "new/paypal/")).status_code == 404
    assert client_m.post(url(operator, "new/paypal/"), payter_post()).status_code == 404


# --- missing or wrong key: a clear message on these pages, the rest of the portal unaffected ---

def test_missing_key_gives_a_clear_error_not_a_crash(client_m, operator, settings):
    credential = CredentialFactory(operator=operator)
    settings.CREDENTIALS_ENCRYPTION_KEYS = []
    page = client_m.get(url(operator))
    assert page.status_code == 200
    assert "no encryption key is configured" in html(page)
    assert credential.name in html(page) and "••••WXYZ" in html(page)
    assert url(operator, "new/") not in html(page)
    for path in ("new/", "new/payter/", f"{credential.pk}/"):
        response = client_m.get(url(operator, path))
        assert response.status_code == 503
        assert "Credentials are unavailable" in html(response)
    response = create(client_m, operator)
    assert response.status_code == 503 and Credential.objects.count() == 1
    assert client_m.get(f"/o/{operator.slug}/").status_code == 200
    assert client_m.get(f"/o/{operator.slug}/settings/").status_code == 200


def test_malformed_key_is_explained_without_showing_it(client_m, operator, settings):
    settings.CREDENTIALS_ENCRYPTION_KEYS = ["this-is-not-a-fernet-key"]
    response = client_m.get(url(operator, "new/payter/"))
    assert response.status_code == 503
    assert "key number 1 in CREDENTIALS_ENCRYPTION_KEYS is not a valid Fernet key" in html(response)
    assert "this-is-not-a-fernet-key" not in html(response)
    assert client_m.get(f"/o/{operator.slug}/").status_code == 200


def test_wrong_key_marks_unreadable_secrets_and_replacing_fixes_them(client_m, operator, settings):
    create(client_m, operator)
    credential = Credential.objects.get()
    settings.CREDENTIALS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key is gone
    page = client_m.get(url(operator))
    assert page.status_code == 200
    assert "Cannot be decrypted" in html(page)
    assert "cannot be decrypted with the encryption keys configured on this server" in html(page)
    edit = client_m.get(url(operator, f"{credential.pk}/"))
    assert edit.status_code == 200 and "API key" in html(edit) and "cannot be decrypted" in html(edit)
    assert client_m.get(f"/o/{operator.slug}/").status_code == 200

    response = client_m.post(url(operator, f"{credential.pk}/"), payter_post(api_key=NEW_SECRET))
    assert response.status_code == 302
    assert "Cannot be decrypted" not in html(client_m.get(url(operator)))
    assert services.credential_secrets(operator=operator, credential_id=credential.pk) == {"api_key": NEW_SECRET}


def test_list_query_count_does_not_grow_with_the_data(client_m, operator, manager):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client_m.get(url(operator)).status_code == 200
        return len(ctx.captured_queries)

    for i in range(2):
        CredentialFactory(operator=operator, created_by=manager, updated_by=manager, name=f"A{i}")
    small = count()
    for i in range(20):
        CredentialFactory(operator=operator, created_by=manager, updated_by=manager, name=f"B{i}")
    assert count() == small
