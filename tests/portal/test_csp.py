"""Issue 9 #11: the Content-Security-Policy (django-csp) is on every response, strict (no inline
script or style, no third-party origin, never framed), and the templates and rendered pages keep
to it. The browser tests (tests/e2e) run under the same policy and fail on any violation."""
import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.portal.test_permission_matrix import ROUTES, _url

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
EXPECTED = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
    "font-src": "'self'", "connect-src": "'self'", "object-src": "'none'", "base-uri": "'none'",
    "frame-ancestors": "'none'", "form-action": "'self'",
}
# What a page must not contain under the policy: a <script> without src (JSON data blocks are
# not run and stay allowed), a <style> block, a style attribute, an on* event handler, a
# javascript: URL, or htmx's eval-based attributes.
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style[\s>]", re.I), "<style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"\shx-on[:-]|\shx-vals\s*=\s*['\"]\s*js:|\shx-vars\s*=", re.I), "htmx attribute that needs eval"),
]


def policy(response):
    header = response["Content-Security-Policy"]
    return dict((part.strip().split(" ", 1) + [""])[:2] for part in header.split(";") if part.strip())


def problems(html):
    return [what for pattern, what in INLINE if pattern.search(html)]


def test_settings_policy_is_strict():
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    flat = " ".join(" ".join(v) for v in directives.values())
    assert "unsafe-inline" not in flat and "unsafe-eval" not in flat and "unsafe-hashes" not in flat
    assert not re.search(r"https?:|\*", flat), "no third-party origins"
    assert "csp.middleware.CSPMiddleware" in settings.MIDDLEWARE


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/",
                                  "/does-not-exist/", "/static/css/portal.css"])
def test_anonymous_responses_carry_the_policy(client, path):
    assert policy(client.get(path)) == EXPECTED


def test_operator_pages_and_admin_carry_the_policy(admin_client, operator, admin_user):
    assert policy(admin_client.get(f"/o/{operator.slug}/")) == EXPECTED
    assert policy(admin_client.get(f"/o/{operator.slug}/settings/")) == EXPECTED
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    assert policy(admin_client.get("/admin/")) == EXPECTED


def test_error_pages_carry_the_policy_and_no_inline_style(client, admin_client, operator):
    from django.template.loader import render_to_string

    for name in ("400.html", "500.html", "403_csrf.html"):
        html = render_to_string(name)
        assert not problems(html), name
        assert "/static/css/portal.css" in html
    csrf_client = type(client)(enforce_csrf_checks=True)
    response = csrf_client.post("/accounts/login/", {"login": "a@b.example", "password": "x"})
    assert response.status_code == 403 and "The form could not be sent" in response.content.decode()
    assert policy(response) == EXPECTED and not problems(response.content.decode())


def test_no_template_has_inline_script_style_or_handlers():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for what in problems(path.read_text()):
            found.append(f"{path.relative_to(TEMPLATES)}: {what}")
    assert not found, found


def test_the_scan_finds_what_it_looks_for():
    for html in ('<script>alert(1)</script>', '<div style="color:red">', '<style>a{}</style>',
                 '<form onsubmit="return confirm(1)">', '<a href="javascript:void(0)">', '<b hx-on:click="x()">'):
        assert problems(html), html
    assert not problems('<script src="/static/js/portal.js"></script><script type="application/json">{}</script>')


def test_base_template_turns_off_htmx_inline_styles_and_eval(admin_client, operator):
    html = admin_client.get(f"/o/{operator.slug}/").content.decode()
    assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false, "allowEval": false' in html
    assert '<script src="/static/js/portal.js"></script>' in html


@pytest.mark.parametrize("route,pattern", [(r, p) for r, p in ROUTES if "GET" in p.callback.operator_permissions],
                         ids=[r for r, p in ROUTES if "GET" in p.callback.operator_permissions])
def test_every_operator_page_renders_without_inline_code(admin_client, operator, route, pattern):
    response = admin_client.get(_url(route, operator))
    assert response.status_code < 500
    assert policy(response) == EXPECTED
    if response["Content-Type"].startswith("text/html"):  # not the invoice PDF
        assert not problems(response.content.decode()), route


@pytest.mark.parametrize("path", ["/", "/account/", "/accounts/email/", "/accounts/password/change/",
                                  "/accounts/2fa/", "/accounts/2fa/totp/activate/", "/invitations/"])
def test_account_pages_render_without_inline_code(admin_client, operator, path):
    response = admin_client.get(path, follow=True)
    assert response.status_code < 500
    html = response.content.decode()
    assert not problems(html), (path, problems(html))
