"""The partner API's docs (/api/v1/docs): ninja's Swagger UI from our own static files, under the
portal's Content-Security-Policy unchanged. The `page` fixture fails the test on any CSP
violation, script error or console error."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_swagger_ui_renders_our_operations_without_csp_violations(page, live_server):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto("/api/v1/docs")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("CPO Portal partner API")
    expect(page.locator("#operations-Charge_Points-get-charge-points")).to_be_visible()
    # open one operation: its parameters and responses render too
    page.locator("#operations-Charge_Points-get-charge-points .opblock-summary").click()
    expect(page.locator("#operations-Charge_Points-get-charge-points .parameters")).to_contain_text("perPage")
    page.wait_for_load_state("networkidle")
    outside = [url for url in requested if not url.startswith(live_server.url) and not url.startswith("data:")]
    assert not outside, f"the docs page loaded from elsewhere: {outside}"


def test_try_it_out_calls_the_api_with_a_token(page, live_server):
    """Swagger UI's requests (connect-src 'self') work: authorize with a token, run an operation."""
    from tests.api.helpers import new_key, token_for
    from tests.factories import OperatorFactory

    token = token_for(new_key(OperatorFactory()))["accessToken"]
    page.goto("/api/v1/docs")
    page.locator(".swagger-ui .auth-wrapper .authorize").click()
    page.locator(".swagger-ui .modal-ux input").fill(token)
    page.locator(".swagger-ui .modal-ux .auth-btn-wrapper .authorize").click()
    page.locator(".swagger-ui .modal-ux .btn-done, .swagger-ui .modal-ux .close-modal").first.click()
    operation = page.locator("#operations-Consumer-get-current-consumer")
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator(".execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status").first).to_contain_text("200")
    expect(operation.locator(".live-responses-table .microlight").first).to_contain_text("clientId")
