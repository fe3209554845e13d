"""The Admin creates an API key in Chromium, sees its secret once, a Python program uses it over
HTTP to list the charge points, the Admin revokes it and the program's next call is refused."""
import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from api.models import ApiKey
from portal.permissions import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, ChargePointFactory, OperatorFactory, member


def call(base, path, token=None, body=None):
    """A partner's program: plain HTTP, JSON in and out."""
    request = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None,
                                     method="POST" if body is not None else "GET",
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.django_db(transaction=True)
def test_admin_creates_a_key_a_program_uses_it_and_revoking_stops_it(page, live_server):
    operator = OperatorFactory(name="Demo Charging ApS", slug="demo")
    ChargePointFactory(operator=operator, name="Harbour #1", evse_id="DK*DEM*E00001")
    admin = member(operator, Role.ADMIN, user__email="admin@demo.example", user__name="Anna Admin")
    sign_in(page, admin.email, PASSWORD)

    page.goto("/o/demo/")
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
    page.get_by_role("link", name="Create").click()
    page.get_by_role("button", name="Create").click()  # nothing filled in: specific errors
    expect(page.get_by_text("This field is required.").first).to_be_visible()
    page.get_by_label("Name").fill("ERP sync")
    page.get_by_label("charge-points:read — Read sites and charge points").check()
    page.get_by_role("button", name="Create").click()

    expect(page.get_by_role("heading", name="API key ERP sync created")).to_be_visible()
    client_id = page.get_by_test_id("client-id").inner_text()
    secret = page.get_by_test_id("client-secret").inner_text()
    assert secret.startswith("cpo_sk_") and ApiKey.objects.get().secret_hash != secret

    status, token = call(live_server.url, "/api/v1/auth/token", body={"clientId": client_id, "clientSecret": secret})
    assert status == 200
    status, points = call(live_server.url, "/api/v1/charge-points", token["accessToken"])
    assert status == 200 and [p["name"] for p in points["data"]] == ["Harbour #1"]
    assert points["data"][0]["evseId"] == "DK*DEM*E00001" and points["meta"]["totalItemCount"] == 1

    page.get_by_role("link", name="Done").click()
    row = page.get_by_test_id("api-key-row")
    expect(row).to_contain_text("ERP sync")
    expect(row).to_contain_text(client_id)
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("Anna Admin")
    assert secret not in page.content()  # shown once only
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("API key ERP sync revoked")).to_be_visible()
    expect(page.get_by_test_id("api-key-row")).to_contain_text("Revoked")
    assert questions and "Revoke this API key?" in questions[0]

    status, body = call(live_server.url, "/api/v1/charge-points", token["accessToken"])
    assert status == 401 and body["errorCode"] == "INVALID_ACCESS_TOKEN"
    status, _ = call(live_server.url, "/api/v1/auth/token", body={"clientId": client_id, "clientSecret": secret})
    assert status == 401
