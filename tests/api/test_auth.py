"""The partner API's credentials: client credentials → tokens, refresh rotation with reuse
detection, expiry, revocation, the error body, the consumer, and the rate limit."""
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from api import services
from api.models import ApiKey, ApiToken
from portal.models import AuditEvent
from tests.api.helpers import bearer, new_key, token_for

pytestmark = pytest.mark.django_db
JSON = "application/json"


def post(path, body):
    return Client().post(path, body, content_type=JSON)


def test_client_credentials_give_tokens_that_open_the_api(operator):
    new = new_key(operator, ["charge-points:read"])
    assert new.secret.startswith("cpo_sk_") and len(new.secret) > 40
    key = ApiKey.objects.get()
    assert new.secret not in key.secret_hash and key.secret_hash == services.digest(new.secret)
    token = token_for(new)
    assert token["accessToken"].startswith("cpo_at_") and token["refreshToken"].startswith("cpo_rt_")
    assert not ApiToken.objects.filter(token_hash__in=[token["accessToken"], token["refreshToken"]]).exists()
    me = Client(headers={"Authorization": f"Bearer {token['accessToken']}"}).get("/api/v1/consumers/me")
    assert me.status_code == 200
    body = me.json()
    assert body["clientId"] == key.client_id and body["operatorIds"] == [operator.pk]
    assert body["scopes"] == ["charge-points:read"] and body["rateLimit"] == 1000
    assert me["RateLimit-Limit"] == "1000" and me["RateLimit-Remaining"] == "998"  # (the sign-in counted)


@pytest.mark.parametrize("body", [
    {"clientId": "nope", "clientSecret": "nope"}, {"clientId": "", "clientSecret": ""},
])
def test_wrong_credentials_are_the_specs_401(operator, body):
    new_key(operator)
    response = post("/api/v1/auth/token", body)
    assert response.status_code == 401
    assert response.json() == {"status": "UNAUTHORIZED", "errorCode": "CONSUMER_NOT_FOUND",
                               "message": "Consumer with given `clientId` and `clientSecret` not found",
                               "readableMessage": "Consumer with given `clientId` and `clientSecret` not found"}


@pytest.mark.parametrize("raw", ['{"clientId": 5}', "[]", "not json", '{"clientId": "a"}', ""])
def test_a_malformed_token_request_is_a_400_with_the_error_body(operator, raw):
    response = Client().post("/api/v1/auth/token", raw, content_type=JSON)
    assert response.status_code == 400, response.content
    assert response.json()["status"] == "BAD_REQUEST" and response.json()["errorCode"] == "BAD_REQUEST"


def test_the_right_secret_of_another_key_does_not_fit(operator):
    a, b = new_key(operator, name="A"), new_key(operator, name="B")
    assert post("/api/v1/auth/token", {"clientId": a.key.client_id, "clientSecret": b.secret}).status_code == 401


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(operator):
    new = new_key(operator)
    first = token_for(new)
    second = post("/api/v1/auth/refresh", {"refreshToken": first["refreshToken"]})
    assert second.status_code == 200
    second = second.json()
    assert second["accessToken"] != first["accessToken"]
    use = lambda t: Client(headers={"Authorization": f"Bearer {t}"}).get("/api/v1/consumers/me").status_code  # noqa: E731
    assert use(second["accessToken"]) == 200 and use(first["accessToken"]) == 200
    # the first refresh token again: a leak — every token of the family stops working
    again = post("/api/v1/auth/refresh", {"refreshToken": first["refreshToken"]})
    assert again.status_code == 401 and again.json()["errorCode"] == "INVALID_REFRESH_TOKEN"
    assert use(second["accessToken"]) == 401 and use(first["accessToken"]) == 401
    assert post("/api/v1/auth/refresh", {"refreshToken": second["refreshToken"]}).status_code == 401
    # another sign-in of the same key is a new family and works
    assert use(token_for(new)["accessToken"]) == 200


def test_tokens_expire(operator):
    token = token_for(new_key(operator))
    client = Client(headers={"Authorization": f"Bearer {token['accessToken']}"})
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        response = client.get("/api/v1/consumers/me")
        assert response.status_code == 401 and response.json()["errorCode"] == "INVALID_ACCESS_TOKEN"
        assert post("/api/v1/auth/refresh", {"refreshToken": token["refreshToken"]}).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert post("/api/v1/auth/refresh", {"refreshToken": token["refreshToken"]}).status_code == 401


def test_an_expired_key_gives_no_tokens(operator):
    new = new_key(operator, expires_at=timezone.now() + timedelta(days=1))
    token = token_for(new)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert post("/api/v1/auth/token", {"clientId": new.key.client_id, "clientSecret": new.secret}
                    ).status_code == 401
        assert Client(headers={"Authorization": f"Bearer {token['accessToken']}"}).get(
            "/api/v1/consumers/me").status_code == 401


def test_revoking_a_key_ends_its_tokens_at_once_and_is_audited(operator, admin_user):
    new = new_key(operator)
    token = token_for(new)
    client = Client(headers={"Authorization": f"Bearer {token['accessToken']}"})
    assert client.get("/api/v1/consumers/me").status_code == 200
    services.key_revoke(operator=operator, actor=admin_user, key_id=new.key.pk)
    assert client.get("/api/v1/consumers/me").status_code == 401
    assert post("/api/v1/auth/refresh", {"refreshToken": token["refreshToken"]}).status_code == 401
    assert post("/api/v1/auth/token", {"clientId": new.key.client_id, "clientSecret": new.secret}).status_code == 401
    event = AuditEvent.objects.get(verb="api_key.revoked")
    assert event.actor == admin_user and event.operator == operator
    created = AuditEvent.objects.get(verb="api_key.created")
    assert new.secret not in str(created.changes) and "secret" not in str(created.changes)


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Bearer nope", "Basic abc", "Bearer " + "x" * 5000])
def test_no_or_a_bad_token_is_the_specs_401(operator, header):
    client = Client(headers={"Authorization": header} if header else {})
    response = client.get("/api/v1/charge-points")
    assert response.status_code == 401
    assert response.json()["status"] == "UNAUTHORIZED" and response.json()["errorCode"] == "INVALID_ACCESS_TOKEN"


def test_past_the_rate_limit_a_429_with_retry_after(operator):
    new = new_key(operator, ["charge-points:read"])
    ApiKey.objects.filter(pk=new.key.pk).update(rate_limit=4, rate_limit_interval=60)
    client = Client(headers={"Authorization": f"Bearer {token_for(new)['accessToken']}"})  # (1 of the 4)
    seen = [client.get("/api/v1/charge-points") for _ in range(4)]
    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    assert [r["RateLimit-Remaining"] for r in seen[:3]] == ["2", "1", "0"]
    assert seen[3].json()["errorCode"] == "RATE_LIMIT_EXCEEDED" and 1 <= int(seen[3]["Retry-After"]) <= 60
    other = bearer(operator, ["charge-points:read"])  # per key: another key is not limited
    assert other.get("/api/v1/charge-points").status_code == 200


def test_last_used_time_and_address_are_kept(operator):
    new = new_key(operator)
    Client(headers={"Authorization": f"Bearer {token_for(new)['accessToken']}"}, REMOTE_ADDR="203.0.113.9").get(
        "/api/v1/consumers/me")
    key = ApiKey.objects.get()
    assert key.last_used_at is not None and key.last_used_ip == "203.0.113.9"


def test_staff_set_a_keys_rate_limit_in_admin_audited_and_bounded(operator):
    from tests.factories import UserFactory, enable_totp, sign_in

    new = new_key(operator)
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    assert sign_in(client, staff, secret=enable_totp(staff)).status_code == 302
    url = f"/admin/api/apikey/{new.key.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and new.secret not in page.content.decode()
    assert client.post(url, {"rate_limit": "0", "rate_limit_interval": "600"}).status_code == 200  # refused
    response = client.post(url, {"rate_limit": "50", "rate_limit_interval": "60"})
    assert response.status_code == 302
    key = ApiKey.objects.get()
    assert (key.rate_limit, key.rate_limit_interval) == (50, 60)
    event = AuditEvent.objects.get(verb="api_key.rate_limit_changed")
    assert event.changes["rate_limit"] == {"before": 1000, "after": 50} and event.actor == staff


def test_a_charge_point_created_with_only_a_name_takes_the_defaults(operator):
    """(Review finding: the body's defaults for type and visibility did not reach the form.)"""
    client = bearer(operator, ["charge-points:write", "charge-points:read"])
    response = client.post("/api/v1/charge-points", {"name": "Bay 1"}, content_type=JSON)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["type"], body["visibility"], body["state"]) == ("Bay 1", "ac", "public", "available")
    event = AuditEvent.objects.get(verb="charge_point.created")
    assert event.actor is None and event.actor_label.startswith("API key Test program (cpo_")


@pytest.mark.parametrize("path", ["/api/v1/charge-points", "/api/v1/sites", "/api/v1/charges"])
def test_another_operators_team_or_operator_id_is_a_400_naming_it(operator, other_operator, path):
    client = bearer(operator)
    for name in ("teamId", "operatorId"):
        response = client.get(f"{path}?{name}={other_operator.pk}")
        assert response.status_code == 400 and response.json()["context"][0]["field"] == name
        assert client.get(f"{path}?{name}={operator.pk}").status_code == 200


def test_tokens_a_day_past_expiry_are_pruned(operator):
    from api.tasks import prune_tokens

    token = token_for(new_key(operator))
    assert post("/api/v1/auth/refresh", {"refreshToken": token["refreshToken"]}).status_code == 200
    assert ApiToken.objects.count() == 4
    with time_machine.travel(timezone.now() + timedelta(hours=26)):
        assert prune_tokens() == 2  # the two access tokens; the refresh tokens expired less than a day ago
        assert post("/api/v1/auth/refresh", {"refreshToken": token["refreshToken"]}).status_code == 401
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        assert prune_tokens() == 2 and not ApiToken.objects.exists()
