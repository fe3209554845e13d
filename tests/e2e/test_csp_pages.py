"""Every page under the Content-Security-Policy in Chromium (issue 9 #11): each GET page the URL
resolver finds, the account and sign-in pages and the Django admin, with the objects their URLs
need. The `page` fixture (conftest) fails the test on any CSP violation or script error."""
import re

import pytest
from playwright.sync_api import expect

from portal.permissions import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, OperatorFactory, enable_totp, member, totp_code
from tests.portal.test_permission_matrix import ROUTES, _url

pytestmark = pytest.mark.django_db(transaction=True)

ANONYMOUS = ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/no-such-page/"]
ACCOUNT = ["/", "/account/", "/accounts/email/", "/accounts/password/change/", "/accounts/2fa/",
           "/accounts/2fa/totp/activate/", "/invitations/"]


def visit(page, path):
    response = page.goto(path)
    assert response is not None and response.status < 500, f"{path}: {response and response.status}"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
    page.wait_for_load_state("load")
    return response


def test_the_violation_listener_reports(page, live_server):
    """The fixture's listener is not blind: an inline style and an inline script are reported."""
    visit(page, "/accounts/login/")
    page.evaluate("""() => {
        document.body.setAttribute('style', 'color: red');
        const s = document.createElement('script'); s.textContent = 'window.ran = 1'; document.body.append(s);
    }""")
    expect(page.locator("body")).to_have_attribute("style", "color: red")  # set, but not applied
    page.wait_for_function("() => true")
    assert page.evaluate("() => window.ran") is None
    reported = list(page.browser_problems)
    page.browser_problems.clear()
    assert any("style-src" in p for p in reported) and any("script-src" in p for p in reported), reported


def test_every_page_works_under_the_policy(page, live_server):
    for path in ANONYMOUS:
        visit(page, path)
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()

    operator = OperatorFactory(name="Demo Charging ApS", slug="demo")
    admin = member(operator, Role.ADMIN, user__email="admin@demo.example", user__name="Alma Admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    sign_in(page, admin.email, PASSWORD)
    visited = 0
    for route, pattern in ROUTES:
        if "GET" in pattern.callback.operator_permissions and not route.endswith(("/pdf/", "/csv/")):  # downloads, not pages
            visit(page, _url(route, operator))
            visited += 1
    assert visited >= 20
    for path in ACCOUNT:
        visit(page, path)
        if path.endswith("/totp/activate/"):
            if page.get_by_role("heading", name="Confirm Access").count():  # allauth asks for the password again
                page.get_by_label("Password:").fill(PASSWORD)
                page.get_by_role("button", name="Confirm").click()
            expect(page.locator("img[src^='data:']").first).to_be_visible()  # the QR code (img-src data:)

    # The admin asks a session that has not passed two-factor for a code first.
    secret = enable_totp(admin)
    page.goto("/admin/")
    page.get_by_placeholder("Code").fill(totp_code(secret))
    page.get_by_placeholder("Code").press("Enter")
    page.wait_for_url(re.compile(r"/admin/$"))
    for path in ["/admin/", "/admin/operators/operator/", f"/admin/operators/operator/{operator.pk}/change/",
                 "/admin/operators/fee/add/", "/admin/portal/auditevent/"]:
        visit(page, path)
    expect(page.locator("#site-name")).to_be_visible()
