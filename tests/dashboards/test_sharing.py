"""Shared dashboard links (issue 13): the visibility × expiry × password matrix with time travel,
lockouts, revoke and regenerate, headers, no portal cookie, nothing but the dashboard shown."""
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboards import services, sharing
from dashboards.models import Dashboard, DashboardAccess
from portal.models import AuditEvent
from portal.permissions import Role
from tests.factories import ChargePointFactory, OperatorFactory, SiteFactory, member

PASSWORD = "correct horse battery"
NOT_AVAILABLE = "This dashboard link is not available"


@pytest.fixture
def operator():
    return OperatorFactory(name="Harbour Charging ApS")


@pytest.fixture
def admin(operator):
    return member(operator, Role.ADMIN)


def make(operator, admin, visibility="public", **share):
    dashboard = services.dashboard_create(operator=operator, actor=admin,
                                          data={"name": "Network for the city", "kind": "network",
                                                "range_kind": "last_days", "last_days": 30})
    data = {"visibility": visibility, "expire_at": share.pop("expire_at", None), **share}
    if visibility == "password":
        data.setdefault("share_username", "city")
        data.setdefault("share_password", PASSWORD)
    dashboard, token = services.dashboard_update(operator=operator, actor=admin, dashboard_id=dashboard.pk, data=data)
    return dashboard, token


def url(token):
    return f"/d/{token}/"


def sign_in(client, token, username="city", password=PASSWORD, ip="203.0.113.7"):
    return client.post(url(token), {"username": username, "password": password}, REMOTE_ADDR=ip)


def assert_not_available(response):
    assert response.status_code == 404 and NOT_AVAILABLE in response.content.decode()


# --- the matrix --------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("visibility", ["public", "password"])
@pytest.mark.parametrize("expiry", ["none", "future", "past"])
def test_visibility_expiry_password_matrix_with_time_travel(operator, admin, visibility, expiry, time_machine):
    now = timezone.now()
    expire_at = {"none": None, "future": now + timedelta(days=2), "past": now - timedelta(minutes=1)}[expiry]
    dashboard, token = make(operator, admin, visibility, expire_at=expire_at)
    client = Client()
    response = client.get(url(token))
    if expiry == "past":
        assert_not_available(response)
        assert_not_available(sign_in(client, token))
        return
    if visibility == "password":
        assert response.status_code == 200 and 'data-testid="dashboard-sign-in"' in response.content.decode()
        assert "Network for the city" in response.content.decode()
        assert sign_in(client, token, password="wrong password!").status_code == 401
        assert client.get(url(token)).status_code == 200 and "chart-fleet" not in client.get(url(token)).content.decode()
        signed = sign_in(client, token)
        assert signed.status_code == 303
    response = client.get(url(token))
    assert response.status_code == 200 and 'data-testid="chart-fleet"' in response.content.decode()
    # time travel: the moment it expires, page, CSV and sign-in answer "not available"
    if expiry == "future":
        time_machine.move_to(now + timedelta(days=2, seconds=1))
        assert_not_available(client.get(url(token)))
        assert_not_available(client.get(url(token) + "csv/?chart=fleet"))


@pytest.mark.django_db
def test_private_unknown_revoked_and_regenerated_links_answer_alike(operator, admin):
    dashboard, token = make(operator, admin)
    client = Client()
    assert client.get(url(token)).status_code == 200
    unknown = client.get(url(sharing.new_token()))
    _, new_token = services.dashboard_regenerate_link(operator=operator, actor=admin, dashboard_id=dashboard.pk)
    regenerated_old = client.get(url(token))
    assert client.get(url(new_token)).status_code == 200
    services.dashboard_stop_sharing(operator=operator, actor=admin, dashboard_id=dashboard.pk)
    stopped = client.get(url(new_token))
    # shared again: a new link; the one that was stopped never comes back
    _, again = services.dashboard_update(operator=operator, actor=admin, dashboard_id=dashboard.pk,
                                         data={"visibility": "public"})
    assert again and again != new_token and client.get(url(again)).status_code == 200
    after = client.get(url(new_token))
    bodies = {r.content for r in (unknown, regenerated_old, stopped, after)}
    assert len(bodies) == 1  # one and the same page
    for r in (unknown, regenerated_old, stopped, after):
        assert_not_available(r)


@pytest.mark.django_db
def test_the_token_is_long_random_and_stored_only_hashed(operator, admin):
    dashboard, token = make(operator, admin)
    assert len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token)  # 32 bytes = 256 bits
    dashboard.refresh_from_db()
    assert dashboard.token_hash == sharing.token_hash(token) and token not in str(dashboard.__dict__)
    events = AuditEvent.objects.filter(operator=operator)
    assert not any(token in str(e.changes) for e in events)


# --- password: lockouts, sessions -----------------------------------------------------------------
@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_address_out_for_fifteen_minutes(operator, admin, time_machine):
    dashboard, token = make(operator, admin, "password")
    attacker, other = Client(), Client()
    for _ in range(5):
        assert sign_in(attacker, token, password="nope nope nope").status_code == 401
    locked = sign_in(attacker, token)  # even the right password now
    assert locked.status_code == 429 and "Try again in 15 minutes" in locked.content.decode()
    assert sign_in(other, token, ip="198.51.100.9").status_code == 303  # another address is not locked out
    time_machine.move_to(timezone.now() + timedelta(minutes=15, seconds=1))
    assert sign_in(attacker, token).status_code == 303
    outcomes = list(DashboardAccess.objects.filter(dashboard=dashboard).values_list("outcome", flat=True))
    assert outcomes.count("wrong_password") == 5 and "locked_out" in outcomes


@pytest.mark.django_db
def test_fifty_wrong_passwords_in_an_hour_lock_the_link_and_tell_the_admins(operator, admin,
                                                                           django_capture_on_commit_callbacks):
    manager = member(operator, Role.MANAGER)
    dashboard, token = make(operator, admin, "password")
    client = Client()
    for i in range(49):
        sign_in(client, token, password="guess guess guess", ip=f"10.0.{i // 4}.{i}")
    assert not mail.outbox
    with django_capture_on_commit_callbacks(execute=True):
        assert_not_available(sign_in(client, token, password="guess guess guess", ip="10.9.9.9"))
    dashboard.refresh_from_db()
    assert dashboard.locked_at is not None
    assert_not_available(sign_in(client, token, ip="192.0.2.1"))  # the right password too
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [admin.email] and manager.email not in mail.outbox[0].to
    assert "locked" in mail.outbox[0].subject
    assert AuditEvent.objects.filter(operator=operator, verb="dashboard.link_locked").count() == 1
    # a new password unlocks it
    services.dashboard_update(operator=operator, actor=admin, dashboard_id=dashboard.pk,
                              data={"visibility": "password", "share_username": "city",
                                    "share_password": "a brand new secret"})
    assert sign_in(client, token, password="a brand new secret", ip="192.0.2.1").status_code == 303


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["password", "visibility", "token", "username"])
def test_changing_password_visibility_or_token_ends_every_session(operator, admin, change):
    dashboard, token = make(operator, admin, "password")
    client = Client()
    assert sign_in(client, token).status_code == 303
    assert "chart-fleet" in client.get(url(token)).content.decode()
    if change == "password":
        services.dashboard_update(operator=operator, actor=admin, dashboard_id=dashboard.pk,
                                  data={"visibility": "password", "share_password": "another long secret"})
    elif change == "username":
        services.dashboard_update(operator=operator, actor=admin, dashboard_id=dashboard.pk,
                                  data={"visibility": "password", "share_username": "harbour"})
    elif change == "visibility":
        services.dashboard_update(operator=operator, actor=admin, dashboard_id=dashboard.pk, data={"visibility": "public"})
        services.dashboard_update(operator=operator, actor=admin, dashboard_id=dashboard.pk,
                                  data={"visibility": "password", "share_username": "city", "share_password": PASSWORD})
    else:
        _, token2 = services.dashboard_regenerate_link(operator=operator, actor=admin, dashboard_id=dashboard.pk)
        # the old cookie is scoped to the old path; the same cookie value on the new path is refused too
        client.cookies[sharing.COOKIE]["path"] = f"/d/{token2}/"
        assert "dashboard-sign-in" in client.get(url(token2)).content.decode()
        return
    page = client.get(url(token)).content.decode()
    assert "dashboard-sign-in" in page and "chart-fleet" not in page


@pytest.mark.django_db
def test_the_password_cookie_is_scoped_to_its_link(operator, admin):
    dashboard, token = make(operator, admin, "password")
    response = sign_in(Client(), token)
    cookie = response.cookies[sharing.COOKIE]
    assert cookie["path"] == f"/d/{token}/" and cookie["httponly"] and cookie["samesite"] == "Strict"
    other, token2 = make(operator, admin, "password")
    client = Client()
    client.cookies[sharing.COOKIE] = cookie.value  # a session of one link opens no other
    assert "dashboard-sign-in" in client.get(url(token2)).content.decode()


# --- what the public page is, and is not -----------------------------------------------------------
@pytest.mark.django_db
def test_public_responses_carry_the_headers_and_never_the_portal_cookies(operator, admin, login):
    dashboard, token = make(operator, admin)
    _, protected = make(operator, admin, "password")
    portal_client = login(admin)  # a signed-in member opening a link: the session is neither read nor set
    session_cookie = portal_client.cookies["sessionid"].value
    for client in (Client(), portal_client):
        for path, method in ((url(token), "get"), (url(token) + "csv/?chart=fleet", "get"),
                             (url(sharing.new_token()), "get"), (url(protected), "get"), (url(protected), "post")):
            response = getattr(client, method)(path)
            assert response["X-Robots-Tag"].startswith("noindex")
            assert response["Referrer-Policy"] == "no-referrer"
            assert response["Content-Security-Policy"].startswith("default-src 'none'")
            assert "script-src" not in response["Content-Security-Policy"]
            assert response["Cache-Control"] == "no-store"
            assert set(response.cookies) <= {sharing.COOKIE}, path
    page = portal_client.get(url(token)).content.decode()
    assert admin.email not in page and "Sign out" not in page and "sidebar" not in page
    assert portal_client.cookies["sessionid"].value == session_cookie


@pytest.mark.django_db
def test_a_public_page_shows_its_dashboard_only(operator, admin):
    site = SiteFactory(operator=operator, name="Harbour Square")
    other_site = SiteFactory(operator=operator, name="Secret Depot")
    ChargePointFactory(operator=operator, site=site, name="Harbour 1")
    ChargePointFactory(operator=operator, site=other_site, name="Depot 1")
    stranger = OperatorFactory(name="Other Operator A/S")
    ChargePointFactory(operator=stranger, name="Foreign 1", site=SiteFactory(operator=stranger, name="Foreign Site"))
    dashboard, token = make(operator, admin)
    services.dashboard_update(operator=operator, actor=admin, dashboard_id=dashboard.pk,
                              data={"site": site, "visibility": "public"})
    services.dashboard_create(operator=operator, actor=admin, data={"name": "Revenue board", "kind": "revenue"})
    page = Client().get(url(token)).content.decode()
    assert "Harbour Square" in page
    for secret in ("Secret Depot", "Depot 1", "Other Operator", "Foreign", "Revenue board", admin.email,
                   f"/o/{operator.slug}/", str(dashboard.pk) + "/edit"):
        assert secret not in page, secret


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["?site=", "?kind=revenue", "?last_days=3650", "?date_from=2000-01-01&date_to=2099-01-01",
                                   "?operator=1", "?current_type=", "?visibility=private"])
def test_query_parameters_on_a_public_link_change_nothing(operator, admin, query):
    site = SiteFactory(operator=operator, name="Harbour Square")
    SiteFactory(operator=operator, name="Secret Depot")
    dashboard, token = make(operator, admin)
    services.dashboard_update(operator=operator, actor=admin, dashboard_id=dashboard.pk,
                              data={"site": site, "visibility": "public", "current_type": "ac"})
    client = Client()
    plain = client.get(url(token)).content
    assert client.get(url(token) + query).content == plain
    csv = lambda path: b"".join(client.get(path).streaming_content)  # noqa: E731
    assert csv(url(token) + "csv/" + query.replace("?", "?chart=fleet&")) == csv(url(token) + "csv/?chart=fleet")


@pytest.mark.django_db
def test_a_site_used_by_a_dashboard_cannot_be_deleted_so_a_link_never_widens(operator, admin):
    from charging import services as charging_services
    from portal.errors import NotAllowed

    site = SiteFactory(operator=operator)
    dashboard, token = make(operator, admin)
    services.dashboard_update(operator=operator, actor=admin, dashboard_id=dashboard.pk,
                              data={"site": site, "visibility": "public"})
    with pytest.raises(NotAllowed, match="dashboard"):
        charging_services.site_delete(operator=operator, actor=admin, site_id=site.pk)


# --- the portal side --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_edit_save_shows_the_link_once_then_masked_and_audits_visibility(operator, admin, login):
    client = login(admin)
    dashboard = services.dashboard_create(operator=operator, actor=admin, data={"name": "City", "kind": "network"})
    edit = reverse("dashboards:edit", args=[operator.slug, dashboard.pk])
    form = {"name": "City", "kind": "network", "range_kind": "last_days", "last_days": "30", "visibility": "public",
            "expire_at": ""}
    response = client.post(edit, form)
    assert response.status_code == 200
    link = re.search(r'data-testid="public-link" aria-label="Public link"|value="(http[^"]+/d/[^"]+/)"',
                     response.content.decode())
    token = re.search(r'value="http://testserver/d/([A-Za-z0-9_-]+)/"', response.content.decode()).group(1)
    assert link and Client().get(url(token)).status_code == 200
    again = client.get(edit).content.decode()
    assert token not in again and f"…{token[-4:]}/" in again
    event = AuditEvent.objects.get(operator=operator, verb="dashboard.visibility_changed")
    assert event.changes["visibility"] == {"before": "private", "after": "public"} and event.actor == admin
    second = client.post(edit, {**form, "visibility": "password", "share_username": "city", "share_password": PASSWORD})
    assert second.status_code == 302, re.findall(r"role=\"alert\"[^<]*<?[^<]*", second.content.decode())
    event = AuditEvent.objects.filter(operator=operator, verb="dashboard.visibility_changed").latest("created_at")
    assert event.changes.get("share_password", {}).get("after") == "[redacted]", event.changes
    assert PASSWORD not in str(event.changes)


@pytest.mark.django_db
@pytest.mark.parametrize("fields,field,message", [
    ({"visibility": "password", "share_username": "city", "share_password": ""}, "share_password", "Set a password"),
    ({"visibility": "password", "share_username": "", "share_password": PASSWORD}, "share_username", "Enter the username"),
    ({"visibility": "password", "share_username": "city", "share_password": "short"}, "share_password", "10 characters"),
    ({"visibility": "public", "expire_at": "9999-01-01T00:00"}, "expire_at", "five years"),
    ({"visibility": "public", "expire_at": "tomorrow"}, "expire_at", "Enter a valid date"),
    ({"visibility": "shared-with-all"}, "visibility", "Select a valid choice"),
    ({"range_kind": "between", "date_from": "2026-05-01", "date_to": "2026-04-01"}, "date_to", "before the first"),
    ({"range_kind": "last_days", "last_days": "0"}, "last_days", "greater than or equal to 1"),
    ({"range_kind": "last_days", "last_days": "99999"}, "last_days", "less than or equal to"),
    ({"name": "Ci\u202ety"}, "name", "text-direction"),
], ids=["no-password", "no-username", "short-password", "far-expiry", "bad-expiry", "bad-visibility", "range-reversed",
        "zero-days", "huge-days", "bidi-name"])
def test_bad_input_on_edit_is_refused_by_field_and_nothing_is_saved(operator, admin, login, fields, field, message):
    client = login(admin)
    dashboard = services.dashboard_create(operator=operator, actor=admin, data={"name": "City", "kind": "network"})
    form = {"name": "City", "kind": "network", "range_kind": "last_days", "last_days": "30", "visibility": "private",
            **fields}
    response = client.post(reverse("dashboards:edit", args=[operator.slug, dashboard.pk]), form)
    assert response.status_code == 400 and message in response.content.decode()
    saved = Dashboard.objects.get(pk=dashboard.pk)
    assert (saved.visibility, saved.token_hash, saved.name, saved.last_days) == ("private", None, "City", 365)


@pytest.mark.django_db
def test_a_site_of_another_operator_cannot_be_chosen(operator, admin, login):
    client = login(admin)
    foreign = SiteFactory(operator=OperatorFactory())
    response = client.post(reverse("dashboards:new", args=[operator.slug]),
                           {"name": "X", "kind": "network", "site": foreign.pk, "range_kind": "last_days",
                            "last_days": "30"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not Dashboard.objects.exists()


@pytest.mark.django_db
def test_the_access_log_is_for_admins_and_anonymises_addresses(operator, admin, login):
    dashboard, token = make(operator, admin, "password")
    sign_in(Client(), token, password="wrong wrong wrong", ip="203.0.113.77")
    sign_in(Client(), token, ip="2001:db8:abcd:12::1")
    Client().get(url(token), REMOTE_ADDR="2001:db8:abcd:12::1", HTTP_USER_AGENT="WallScreen/1.0")
    log_url = reverse("dashboards:access_log", args=[operator.slug, dashboard.pk])
    page = login(admin).get(log_url).content.decode()
    assert "203.0.113.0/24" in page and "203.0.113.77" not in page and "2001:db8:abcd::/48" in page
    assert "Wrong password" in page and "Signed in" in page
    assert login(member(operator, Role.MANAGER)).get(log_url).status_code == 403


@pytest.mark.django_db
def test_link_tokens_stay_out_of_the_logs(operator, admin, caplog):
    import logging

    from portal.log_filters import RedactLinkTokens

    dashboard, token = make(operator, admin)
    record = logging.LogRecord("django.request", logging.WARNING, "", 0, "Not Found: %s", (f"/d/{token}/",), None)
    RedactLinkTokens().filter(record)
    assert token not in record.getMessage() and record.getMessage() == f"Not Found: /d/…{token[-4:]}/"


# --- review findings -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_csv_downloads_count_towards_the_rate_limit(operator, admin):
    dashboard, token = make(operator, admin)
    client = Client()
    statuses = [client.get(url(token) + "csv/?chart=fleet", REMOTE_ADDR="203.0.113.5").status_code
                for _ in range(sharing.VIEWS_PER_MINUTE + 3)]
    assert statuses[:sharing.VIEWS_PER_MINUTE] == [200] * sharing.VIEWS_PER_MINUTE and statuses[-1] == 429
    # refusals are logged once a minute, not once per request
    assert DashboardAccess.objects.filter(dashboard=dashboard, outcome="rate_limited").count() == 1


@pytest.mark.django_db
def test_ipv6_addresses_of_one_64_share_a_lockout(operator, admin):
    dashboard, token = make(operator, admin, "password")
    client = Client()
    for i in range(5):
        assert sign_in(client, token, password="wrong wrong wrong", ip=f"2001:db8:1:2::{i + 1:x}").status_code == 401
    assert sign_in(client, token, ip="2001:db8:1:2::ff").status_code == 429
    assert sign_in(client, token, ip="2001:db8:1:3::1").status_code == 303  # another /64


@pytest.mark.django_db
@pytest.mark.parametrize("origin,status", [("null", 303), ("https://evil.example", 403), ("http://testserver.evil", 403), ("http://testserver", 303)])
def test_the_sign_in_form_takes_posts_from_its_own_origin_only(operator, admin, origin, status):
    dashboard, token = make(operator, admin, "password")
    response = Client().post(url(token), {"username": "city", "password": PASSWORD}, HTTP_ORIGIN=origin)
    assert response.status_code == status


@pytest.mark.django_db
def test_the_page_with_the_one_time_link_is_never_cached(operator, admin, login):
    dashboard, token = make(operator, admin)
    response = login(admin).post(reverse("dashboards:regenerate", args=[operator.slug, dashboard.pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_old_access_log_rows_are_pruned(operator, admin):
    dashboard, token = make(operator, admin)
    sharing.log(dashboard, "203.0.113.1", "old", "viewed", now=timezone.now() - timedelta(days=181))
    sharing.log(dashboard, "203.0.113.1", "new", "viewed")
    assert sharing.prune_access_log() == 1
    assert list(DashboardAccess.objects.values_list("browser", flat=True)) == ["new"]
