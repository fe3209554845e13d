"""/api/v1/docs and /api/v1/openapi.json: served from our own static files, nothing inline that
the Content-Security-Policy would block, and the schema lists every operation of `api`.
(tests/e2e/test_api_docs.py renders the page in Chromium under the policy.)"""
import json
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from tests.api.operations import operations

pytestmark = pytest.mark.django_db


class Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls, self.inline_scripts, self.inline_styles = [], [], []
        self._in_script = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "style" in attrs:
            self.inline_styles.append(tag)
        if tag == "script":
            if attrs.get("src"):
                self.urls.append(attrs["src"])
            elif attrs.get("type") != "application/json":  # data, not run
                self._in_script = tag
        elif tag == "style":
            self.inline_styles.append(tag)
        elif tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])
        elif tag in ("img", "iframe") and attrs.get("src"):
            self.urls.append(attrs["src"])

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts.append(data.strip()[:80])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None


def test_the_docs_page_uses_only_our_own_static_files():
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    page = Assets()
    page.feed(response.content.decode())
    assert not page.inline_scripts and not page.inline_styles, (page.inline_scripts, page.inline_styles)
    assert page.urls, "no script or style found"
    for url in page.urls:
        assert url.startswith("/static/ninja/") and "//" not in url, url  # same origin, ninja's files
        assert finders.find(url.removeprefix("/static/")), f"{url} is not a static file"
    assert {"/static/ninja/swagger-ui-bundle.js", "/static/ninja/swagger-ui.css"} <= set(page.urls)
    assert '"validatorUrl": null' in response.content.decode()


def test_the_openapi_document_is_json_with_our_operations():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    document = json.loads(response.content)
    served = {(method, path) for path, item in document["paths"].items() for method in item}
    assert {(op.method, op.path) for op in operations()} <= served
    assert {"get-charge-points", "get-current-consumer"} <= {
        op["operationId"] for item in document["paths"].values() for op in item.values()}
    assert document["components"]["schemas"]["Error"]["required"] == ["status", "message", "readableMessage",
                                                                      "errorCode"]
