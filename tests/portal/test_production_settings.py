"""The production configuration, as a deployment runs it (DEBUG off, real secret key and hosts),
in a subprocess without the test runner's environment (issue 9, Tests):

- `manage.py check --deploy` reports no issue, and does report one when a setting is weakened
  (so this test can fail);
- the production settings enforce the Content-Security-Policy and the request-encoding check
  on real responses.

(The staff two-factor assertion lives in the sign-in work's own test file.)"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
HOST = "portal.example.com"


@pytest.fixture
def production_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST")) and k != "DATABASE_URL"}
    env.update({
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "prod-" + "k9F2mQ7xL4vB8nR1tZ6wC3yH5jD0sA" * 2,
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
        "CREDENTIALS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
    })
    return env


def run(env, *args):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_production_variables(production_env):
    result = run(production_env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_notices_a_weakened_setting(production_env):
    production_env["DJANGO_SECURE_HSTS_SECONDS"] = "0"
    result = run(production_env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0 and "security.W004" in result.stderr + result.stdout


PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client, override_settings
# Only change: static URLs without the manifest that `collectstatic` would write (not run here).
override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}).enable()
client = Client(HTTP_HOST="__HOST__")
page = client.get("/accounts/login/", secure=True)
plain = client.get("/accounts/login/")
bad = client.post("/accounts/login/", "login=a", content_type="application/x-www-form-urlencoded; charset=utf-7", secure=True)
print(json.dumps({
    "debug": settings.DEBUG, "middleware": settings.MIDDLEWARE,
    "policy": settings.CONTENT_SECURITY_POLICY,
    "page": [page.status_code, page.headers.get("Content-Security-Policy")],
    "plain": [plain.status_code, plain.headers.get("Location")],
    "bad": [bad.status_code, bad.headers.get("Content-Security-Policy")],
}))
""".replace("__HOST__", HOST)


def test_production_settings_enforce_the_csp(production_env):
    result = run(production_env, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["debug"] is False
    middleware = seen["middleware"]
    assert middleware.index("csp.middleware.CSPMiddleware") < middleware.index("portal.middleware.RequestEncodingMiddleware")
    assert middleware.index("portal.middleware.RequestEncodingMiddleware") < middleware.index(
        "django.contrib.sessions.middleware.SessionMiddleware")
    directives = seen["policy"]["DIRECTIVES"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"]
    assert "REPORT_ONLY" not in json.dumps(seen["policy"]).upper()  # enforced, not report-only
    status, header = seen["page"]
    assert status == 200
    parts = {p.split(" ", 1)[0]: p.split(" ", 1)[1] for p in header.split("; ")}
    assert parts["default-src"] == "'self'" and parts["script-src"] == "'self'" and parts["style-src"] == "'self'"
    assert parts["frame-ancestors"] == "'none'" and parts["form-action"] == "'self'" and parts["base-uri"] == "'none'"
    assert "unsafe" not in header and "http" not in header
    assert seen["plain"] == [301, f"https://{HOST}/accounts/login/"]  # HTTPS redirect in production
    assert seen["bad"][0] == 400 and "frame-ancestors 'none'" in seen["bad"][1]
