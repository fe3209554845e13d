"""Issue 9, item 5: the client's address behind a reverse proxy, in one place (portal.client_ip)
used by the audit log and by the sign-in rate limits."""
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory, override_settings

from portal.client_ip import client_ip
from portal.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

PROXY = "10.0.0.5"
TRUSTED = ["10.0.0.0/8", "2001:db8:ffff::1"]


def ip_of(remote_addr, forwarded=None):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


class TestClientIp:
    def test_without_trusted_proxies_the_header_is_ignored(self):
        assert ip_of("198.51.100.7", "1.2.3.4") == "198.51.100.7"

    @override_settings(TRUSTED_PROXIES=TRUSTED)
    def test_from_a_trusted_proxy_the_rightmost_untrusted_address(self):
        assert ip_of(PROXY, "198.51.100.7") == "198.51.100.7"
        # the client wrote "1.2.3.4" itself; the proxy appended what it really saw
        assert ip_of(PROXY, "1.2.3.4, 198.51.100.7") == "198.51.100.7"
        # a chain of trusted proxies (CIDR): skipped from the right
        assert ip_of(PROXY, "1.2.3.4, 198.51.100.7, 10.1.2.3, 10.0.0.9") == "198.51.100.7"

    @override_settings(TRUSTED_PROXIES=TRUSTED)
    def test_from_an_untrusted_peer_the_header_is_ignored(self):
        assert ip_of("192.0.2.1", "10.0.0.9, 198.51.100.7") == "192.0.2.1"

    @override_settings(TRUSTED_PROXIES=TRUSTED)
    def test_edge_cases(self):
        assert ip_of(PROXY) == PROXY  # no header: the proxy itself
        assert ip_of(PROXY, "") == PROXY
        assert ip_of(PROXY, "10.9.9.9") == "10.9.9.9"  # only trusted addresses: the leftmost
        assert ip_of(PROXY, "198.51.100.7, not-an-ip") == PROXY  # garbage from a proxy: stop there
        assert ip_of(PROXY, "198.51.100.7:4711") == "198.51.100.7"  # with a port
        assert ip_of(PROXY, "[2001:db8::7]:443") == "2001:db8::7"
        assert ip_of(PROXY, " 2001:DB8::7 ") == "2001:db8::7"
        assert ip_of("2001:db8:ffff::1", "198.51.100.7") == "198.51.100.7"  # IPv6 proxy
        assert ip_of("::ffff:10.0.0.5", "198.51.100.7") == "198.51.100.7"  # IPv4-mapped
        assert ip_of("") is None

    @override_settings(TRUSTED_PROXIES=["10.0.0.0/33"])
    def test_a_bad_setting_is_a_clear_configuration_error(self):
        with pytest.raises(ImproperlyConfigured, match="DJANGO_TRUSTED_PROXIES"):
            ip_of(PROXY, "198.51.100.7")


@pytest.mark.django_db
class TestUsedByAuditAndLimits:
    @override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
    def test_audit_log_records_the_client_behind_the_proxy(self, admin_client, operator):
        from tests.operators.test_settings import VALID

        response = admin_client.post(f"/o/{operator.slug}/settings/", {**VALID, "name": "Behind Proxy ApS"},
                                     REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7")
        assert response.status_code == 302
        assert AuditEvent.objects.get(operator=operator).ip_address == "198.51.100.7"

    def test_audit_log_ignores_the_header_from_anyone_else(self, admin_client, operator):
        from tests.operators.test_settings import VALID

        admin_client.post(f"/o/{operator.slug}/settings/", {**VALID, "name": "Direct ApS"},
                          REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
        assert AuditEvent.objects.get(operator=operator).ip_address == "192.0.2.1"

    @override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
    def test_sign_in_limits_see_the_client_behind_the_proxy(self):
        owner = UserFactory()
        attacker, own = Client(REMOTE_ADDR=PROXY), Client(REMOTE_ADDR=PROXY)
        for _ in range(5):
            attacker.post("/accounts/login/", {"login": owner.email, "password": "wrong"},
                          HTTP_X_FORWARDED_FOR="203.0.113.66")
        response = attacker.post("/accounts/login/", {"login": owner.email, "password": PASSWORD},
                                 HTTP_X_FORWARDED_FOR="203.0.113.66")
        assert "Too many failed login attempts" in response.content.decode()
        # the owner comes through the same proxy from another address: not locked out
        response = own.post("/accounts/login/", {"login": owner.email, "password": PASSWORD},
                            HTTP_X_FORWARDED_FOR="198.51.100.7")
        assert response.status_code == 302

    def test_a_forged_header_does_not_escape_the_limit(self):
        owner, attacker = UserFactory(), Client(REMOTE_ADDR="203.0.113.66")
        for n in range(5):  # a new made-up address each time, no trusted proxy in between
            attacker.post("/accounts/login/", {"login": owner.email, "password": "wrong"},
                          HTTP_X_FORWARDED_FOR=f"198.18.0.{n}")
        response = attacker.post("/accounts/login/", {"login": owner.email, "password": PASSWORD},
                                 HTTP_X_FORWARDED_FOR="198.18.0.99")
        assert "Too many failed login attempts" in response.content.decode()


def test_a_bad_trusted_proxy_stops_the_start_up_with_a_clear_message():
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_TRUSTED_PROXIES": "127.0.0.1,10.0.0.0/33"}
    result = subprocess.run([sys.executable, "-c", "from django.conf import settings; settings.TRUSTED_PROXIES"],
                            env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "DJANGO_TRUSTED_PROXIES: '10.0.0.0/33' is not an IP address or network." in result.stderr
