"""Issue 9, items 1-4: every sign-in path ends in the same two-factor step and the same limits,
nobody can lock anybody else out, and the counters are shared by every worker.

The limits are the real ones (settings.PORTAL_LOGIN_FAILED_LIMITS, the same in tests as in
production); tests/conftest.py clears the cache around each test so no counter leaks."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings

from accounts import signin_limits
from tests.factories import PASSWORD, UserFactory, enable_totp, sign_in, totp_code

pytestmark = pytest.mark.django_db

TOO_MANY = "Too many failed login attempts"
ATTACKER, OWNER, ELSEWHERE = "203.0.113.66", "198.51.100.7", "192.0.2.44"


def signed_in(client) -> bool:
    return client.get("/account/").status_code == 200


def attempt(client, user, password, ip):
    return client.post("/accounts/login/", {"login": user.email, "password": password}, REMOTE_ADDR=ip)


def fail(client, user, times, ip):
    for _ in range(times):
        response = attempt(client, user, "wrong-password", ip)
        assert response.status_code == 200  # the form again, with an error


# --- 1. Django admin: the same sign-in, the same two-factor step ---------------------------------

@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True, email="staff@platform.test")


class TestAdminSignIn:
    def test_admin_login_is_allauths_login(self, client):
        response = client.get("/admin/login/?next=/admin/operators/operator/")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Foperators%2Foperator%2F"
        # and the admin index sends an anonymous visitor the same way
        response = client.get("/admin/", follow=True)
        assert response.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"

    def test_password_alone_does_not_open_the_admin_of_staff_with_an_authenticator(self, client, staff):
        enable_totp(staff)
        # the old admin form: a password posted to /admin/login/ signs nobody in any more
        response = client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert client.get("/admin/").status_code == 302
        assert not signed_in(client)

    def test_admin_sign_in_ends_in_the_two_factor_step(self, client, staff):
        secret = enable_totp(staff)
        login_url = client.get("/admin/", follow=True).redirect_chain[-1][0]
        response = client.post(login_url, {"login": staff.email, "password": PASSWORD})
        assert response["Location"] == "/accounts/2fa/authenticate/"
        assert client.get("/admin/").status_code == 302  # not yet
        response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
        assert response["Location"] == "/admin/"
        assert "Site administration" in client.get("/admin/").content.decode()

    def test_a_session_that_skipped_two_factor_is_asked_for_a_code(self, client, staff):
        secret = enable_totp(staff)
        client.force_login(staff)  # e.g. a session opened before the authenticator was added
        response = client.get("/admin/operators/operator/", follow=True)
        url = response.redirect_chain[-1][0]
        assert url == "/accounts/2fa/reauthenticate/?next=%2Fadmin%2Foperators%2Foperator%2F"
        assert "Enter a code from your authenticator app to open the admin." in response.content.decode()
        response = client.post(url, {"code": totp_code(secret)})
        assert response["Location"] == "/admin/operators/operator/"
        assert client.get("/admin/operators/operator/").status_code == 200

    def test_staff_without_two_factor_are_sent_to_set_it_up(self, client, staff):
        assert settings.PORTAL_ADMIN_REQUIRE_MFA  # DEBUG is off in tests, as in production
        assert sign_in(client, staff).status_code == 302
        response = client.get("/admin/", follow=True)
        setup_url = "/accounts/2fa/totp/activate/?next=%2Fadmin%2F"
        # allauth asks for the password again before a security change, then shows the set-up
        assert response.redirect_chain[-1][0] == "/accounts/reauthenticate/?" + urlencode({"next": setup_url})
        assert "Two-factor authentication is required to use the admin: set up an authenticator app" in response.content.decode()
        response = client.post(response.redirect_chain[-1][0], {"password": PASSWORD})
        assert response["Location"] == setup_url
        assert "Authenticator" in client.get(setup_url).content.decode()
        assert client.get("/admin/operators/operator/").status_code == 302

    @override_settings(PORTAL_ADMIN_REQUIRE_MFA=False)
    def test_without_the_requirement_staff_without_two_factor_use_the_admin(self, client, staff):
        sign_in(client, staff)
        assert client.get("/admin/").status_code == 200

    def test_signed_in_non_staff_get_403_not_a_redirect_loop(self, client):
        user = UserFactory()
        sign_in(client, user)
        assert client.get("/admin/login/?next=/admin/").status_code == 403
        response = client.get("/admin/", follow=True)
        assert response.status_code == 403 and len(response.redirect_chain) == 1

    def test_foreign_next_is_not_followed(self, client):
        response = client.get("/admin/login/?next=https://evil.example/")
        assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_production_settings_enforce_two_factor_for_staff():
    """The settings as production loads them (DEBUG off, not under pytest)."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTEST_VERSION", "DJANGO_DEBUG", "DJANGO_ADMIN_REQUIRE_MFA", "PYTEST_XDIST_WORKER"}}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", DJANGO_SECRET_KEY="s" * 60,
               REDIS_URL="redis://127.0.0.1:6379/0")
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "from django.contrib import admin; from django.core.cache import caches; "
        "print(json.dumps({'debug': settings.DEBUG, 'require': settings.PORTAL_ADMIN_REQUIRE_MFA, "
        "'site': admin.site.__class__.__module__ + '.' + admin.site.__class__.__name__, "
        "'cache': settings.CACHES['default']['BACKEND'], 'prefix': settings.CACHE_KEY_PREFIX}))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=Path(settings.BASE_DIR),
                         capture_output=True, text=True, timeout=120, check=True).stdout
    loaded = json.loads(out.strip().splitlines()[-1])
    assert loaded == {"debug": False, "require": True, "site": "portal.admin_site.PortalAdminSite",
                      "cache": "portal.cache.FallbackRedisCache", "prefix": "portal"}


# --- 2. The admin is covered by the same limits -------------------------------------------------

class TestAdminLimits:
    def test_wrong_passwords_at_admin_login_then_the_right_one_signs_nobody_in(self, client, staff):
        enable_totp(staff)
        for _ in range(25):
            client.post("/admin/login/", {"username": staff.email, "password": "wrong"})
        client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD})
        assert not signed_in(client)
        assert client.get("/admin/").status_code == 302

    def test_the_admin_sign_in_path_is_limited_like_accounts_login(self, client, staff):
        login_url = client.get("/admin/login/?next=/admin/", follow=True).redirect_chain[-1][0]
        assert login_url.startswith("/accounts/login/")
        for _ in range(5):
            client.post(login_url, {"login": staff.email, "password": "wrong"})
        response = client.post(login_url, {"login": staff.email, "password": PASSWORD})
        assert TOO_MANY in response.content.decode()
        assert not signed_in(client)


# --- 3. Nobody can lock anybody else out --------------------------------------------------------

class TestLockout:
    def test_attacker_at_one_address_does_not_stop_the_owner_at_another(self):
        owner = UserFactory()
        attacker, own = Client(), Client()
        fail(attacker, owner, 5, ATTACKER)
        response = attempt(attacker, owner, PASSWORD, ATTACKER)  # address A is limited ...
        assert TOO_MANY in response.content.decode() and not signed_in(attacker)
        response = attempt(own, owner, PASSWORD, OWNER)  # ... the owner at address B is not
        assert response.status_code == 302 and signed_in(own)

    def test_an_address_is_limited_across_accounts(self):
        attacker = Client()
        victims = [UserFactory() for _ in range(11)]
        for victim in victims[:10]:
            fail(attacker, victim, 1, ATTACKER)
        response = attempt(attacker, victims[10], PASSWORD, ATTACKER)
        assert TOO_MANY in response.content.decode()
        assert attempt(Client(), victims[10], PASSWORD, OWNER).status_code == 302

    def test_the_right_password_gives_back_the_attempt(self):
        user, client = UserFactory(), Client()
        for _ in range(8):  # far more sign-ins than the per-account limit: none of them failed
            assert attempt(client, user, PASSWORD, OWNER).status_code == 302
            client.post("/accounts/logout/")

    def test_the_owners_known_device_gets_in_despite_many_attacking_addresses(self):
        owner, device = UserFactory(), Client()
        assert attempt(device, owner, PASSWORD, OWNER).status_code == 302  # becomes a known device
        assert settings.PORTAL_KNOWN_DEVICE_COOKIE_NAME in device.cookies
        device.post("/accounts/logout/")
        # 25 addresses x 4 wrong passwords = 100: each address under its own limits, together at
        # the account's ceiling for unknown devices
        for n in range(25):
            fail(Client(), owner, 4, f"198.18.0.{n + 1}")
        response = attempt(Client(), owner, PASSWORD, ELSEWHERE)  # a new device: the ceiling holds
        assert TOO_MANY in response.content.decode()
        response = attempt(device, owner, PASSWORD, "192.0.2.200")  # the known device gets in
        assert response.status_code == 302 and signed_in(device)

    def test_a_known_device_is_limited_by_its_own_bucket(self):
        owner, device = UserFactory(), Client()
        assert attempt(device, owner, PASSWORD, OWNER).status_code == 302
        device.post("/accounts/logout/")
        fail(device, owner, 10, OWNER)
        assert TOO_MANY in attempt(device, owner, PASSWORD, OWNER).content.decode()
        # ... which the owner's other devices do not share, and the next 5 minutes empty
        assert attempt(Client(), owner, PASSWORD, OWNER).status_code == 302
        with time_machine.travel(time.time() + 301):
            assert attempt(device, owner, PASSWORD, OWNER).status_code == 302

    def test_the_known_device_cookie_is_per_account_and_cannot_be_forged(self):
        owner, other = UserFactory(), UserFactory()
        device = Client()
        assert attempt(device, owner, PASSWORD, ATTACKER).status_code == 302
        device.post("/accounts/logout/")
        fail(device, other, 5, ATTACKER)  # known device of `owner`, not of `other`
        assert TOO_MANY in attempt(device, other, PASSWORD, ATTACKER).content.decode()
        forged = Client()
        forged.cookies[settings.PORTAL_KNOWN_DEVICE_COOKIE_NAME] = device.cookies[
            settings.PORTAL_KNOWN_DEVICE_COOKIE_NAME].value[:-2] + "xx"
        fail(Client(), owner, 5, OWNER)
        assert TOO_MANY in attempt(forged, owner, PASSWORD, OWNER).content.decode()

    def test_a_device_becomes_known_only_after_the_two_factor_step(self):
        owner, device = UserFactory(), Client()
        secret = enable_totp(owner)
        response = attempt(device, owner, PASSWORD, OWNER)
        assert response["Location"] == "/accounts/2fa/authenticate/"
        assert settings.PORTAL_KNOWN_DEVICE_COOKIE_NAME not in device.cookies
        response = device.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}, REMOTE_ADDR=OWNER)
        assert response.status_code == 302
        cookie = device.cookies[settings.PORTAL_KNOWN_DEVICE_COOKIE_NAME]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        assert owner.email not in cookie.value  # a keyed hash of the login, not the address

    def test_wrong_two_factor_codes_are_limited_too(self):
        owner, client = UserFactory(), Client()
        secret = enable_totp(owner)
        assert attempt(client, owner, PASSWORD, OWNER)["Location"] == "/accounts/2fa/authenticate/"
        for _ in range(5):
            client.post("/accounts/2fa/authenticate/", {"code": "000000"}, REMOTE_ADDR=OWNER)
        response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}, REMOTE_ADDR=OWNER)
        assert TOO_MANY in response.content.decode() and not signed_in(client)

    def test_a_password_reset_empties_the_accounts_buckets(self, client):
        from django.core import mail

        from tests.accounts.test_accounts import link_in_last_mail

        owner = UserFactory(email="forgetful@example.test")
        fail(Client(), owner, 5, OWNER)
        client.post("/accounts/password/reset/", {"email": owner.email}, REMOTE_ADDR=OWNER)
        assert mail.outbox
        response = client.get(link_in_last_mail(), follow=True, REMOTE_ADDR=OWNER)
        form_url = response.redirect_chain[-1][0] if response.redirect_chain else link_in_last_mail()
        client.post(form_url, {"password1": "a-brand-new-secret-9", "password2": "a-brand-new-secret-9"},
                    REMOTE_ADDR=OWNER)
        response = attempt(Client(), owner, "a-brand-new-secret-9", OWNER)
        assert response.status_code == 302


# --- 4. The counters live in the shared cache (Redis when REDIS_URL is set) ---------------------

def _settings_with(env_changes: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "PYTEST_XDIST_WORKER"}}
    env.update(env_changes, DJANGO_SETTINGS_MODULE="portal.settings")
    code = ("import json; from django.conf import settings; "
            "print(json.dumps(settings.CACHES['default']))")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=Path(settings.BASE_DIR),
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_cache_is_redis_when_redis_url_is_set_else_local_memory():
    redis = _settings_with({"REDIS_URL": "redis://127.0.0.1:6379/5"})
    assert redis["BACKEND"] == "portal.cache.FallbackRedisCache"
    assert redis["LOCATION"] == "redis://127.0.0.1:6379/5"
    assert _settings_with({})["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (Redis)")
def test_failed_sign_ins_are_counted_in_redis_where_every_worker_sees_them():
    import redis

    user = UserFactory()
    fail(Client(), user, 2, ATTACKER)
    # another process (a second gunicorn worker) reads the same counters from Redis
    keys = redis.Redis.from_url(os.environ["REDIS_URL"]).keys(
        f"{settings.CACHE_KEY_PREFIX}:*:allauth:rl:{signin_limits.APP}:*")
    buckets = {k.decode().split(":")[5] for k in keys if not k.endswith(b":lock")}
    assert buckets == {"address", "account_address", "account"}


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (Redis)")
def test_tests_clear_only_their_own_cache_keys_in_the_shared_redis_database():
    """The autouse fixture must not flush the database the Celery broker and the other pytest-xdist
    workers use, and must empty this process's counters."""
    import redis
    from django.core.cache import cache

    from tests.conftest import _clear_cache

    shared = redis.Redis.from_url(os.environ["REDIS_URL"])
    shared.set("test-other-worker:1:allauth:rl:portal.signin:address:x", "1", ex=60)
    shared.set("celery-task-meta-signin-test", "{}", ex=60)
    cache.set("counter", 3)
    _clear_cache()
    assert cache.get("counter") is None
    assert shared.get("test-other-worker:1:allauth:rl:portal.signin:address:x") == b"1"
    assert shared.get("celery-task-meta-signin-test") == b"{}"
    shared.delete("test-other-worker:1:allauth:rl:portal.signin:address:x", "celery-task-meta-signin-test")
