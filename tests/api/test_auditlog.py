"""The audit log through the partner API: the spec's AuditEvent, its filters and cursor pages
(CursorBasedResponse: meta.after / meta.before), the key's operator only, the scope, bad input."""
import base64
from datetime import UTC, datetime, timedelta

import pytest

from portal import audit
from portal.models import AuditEvent
from tests.api.helpers import bearer, body, new_key, queries_of, token_for

pytestmark = pytest.mark.django_db
READ = ["audit-log:read"]
T0 = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
POINTS = {"entityType": "charge point"}  # not the event of the key's own creation (made by bearer())


def events(operator, n, start=T0, **kwargs):
    """`n` events a minute apart, oldest first (made directly: the log is append-only)."""
    rows = [AuditEvent(created_at=start + timedelta(minutes=i), operator=operator, actor_label="system",
                       action=kwargs.get("action", "updated"), verb=kwargs.get("verb", "charge_point.updated"),
                       item_type=kwargs.get("item_type", "charge point"), item_id=str(kwargs.get("item_id", i)),
                       item_repr=f"Point {i}") for i in range(n)]
    AuditEvent.objects.bulk_create(rows)
    return rows


def test_an_api_write_is_in_the_log_with_the_key_as_user(operator, admin_user):
    writer = bearer(operator, ["charge-points:write", "audit-log:read"], name="Fleet sync")
    created = writer.post("/api/v1/charge-points", {"name": "Bay 1", "type": "ac", "visibility": "public"}, content_type="application/json")
    assert created.status_code == 201, created.content
    audit.record(operator=operator, actor=admin_user, action="updated", item=operator,
                 changes={"name": {"before": "A", "after": "B"}}, verb="operator.settings_updated")
    response = writer.get("/api/v1/auditlog/events")
    assert response.status_code == 200, response.content
    data = body(response)
    assert data["meta"] == {"itemCount": 3, "perPage": 50, "after": None, "before": None}
    # newest first: the member's change, the charge point the key created, the key's own creation
    member_event, api_event, key_event = data["data"]
    assert key_event["entityType"] == "API key" and key_event["user"] == {"type": "system"}
    assert member_event["user"] == {"type": "user", "id": admin_user.pk, "email": admin_user.email}
    assert member_event["action"] == "UPDATE" and member_event["entityType"] == "operator"
    assert member_event["metadata"]["changes"] == {"name": {"before": "A", "after": "B"}}
    stored = AuditEvent.objects.get(verb="charge_point.created")
    assert api_event["id"] == str(stored.pk) and api_event["action"] == "CREATE"
    assert api_event["entityType"] == "charge point" and api_event["entityId"] == str(created.json()["id"])
    assert api_event["operatorId"] == operator.pk and api_event["teamId"] is None
    assert api_event["user"]["type"] == "api-key" and "Fleet sync" in api_event["user"]["name"]
    assert api_event["metadata"]["verb"] == "charge_point.created" and api_event["metadata"]["entityName"] == "Bay 1"
    assert api_event["timestamp"].endswith("Z")
    one = writer.get(f"/api/v1/auditlog/events/{stored.pk}")
    assert one.status_code == 200 and body(one) == api_event


def test_cursor_pages_forward_and_back(operator):
    rows = events(operator, 7)
    newest_first = [str(r.pk) for r in sorted(rows, key=lambda r: (r.created_at, r.pk), reverse=True)]
    client = bearer(operator, READ)
    first = body(client.get("/api/v1/auditlog/events", {**POINTS, "perPage": 3}))
    assert [e["id"] for e in first["data"]] == newest_first[:3]
    assert first["meta"]["itemCount"] == 3 and first["meta"]["perPage"] == 3 and first["meta"]["before"] is None
    second = body(client.get("/api/v1/auditlog/events", {**POINTS, "perPage": 3, "after": first["meta"]["after"]}))
    assert [e["id"] for e in second["data"]] == newest_first[3:6]
    third = body(client.get("/api/v1/auditlog/events", {**POINTS, "perPage": 3, "after": second["meta"]["after"]}))
    assert [e["id"] for e in third["data"]] == newest_first[6:] and third["meta"]["after"] is None
    back = body(client.get("/api/v1/auditlog/events", {**POINTS, "perPage": 3, "before": third["meta"]["before"]}))
    assert [e["id"] for e in back["data"]] == newest_first[3:6]
    # `before` is ignored when `after` is given (the spec)
    both = body(client.get("/api/v1/auditlog/events", {**POINTS, "perPage": 3, "after": first["meta"]["after"],
                                                       "before": third["meta"]["before"]}))
    assert [e["id"] for e in both["data"]] == newest_first[3:6]


def test_events_in_the_same_millisecond_are_each_seen_once(operator):
    rows = [AuditEvent(created_at=T0, operator=operator, actor_label="system", action="created",
                       item_type="site", item_id=str(i), item_repr="S") for i in range(5)]
    AuditEvent.objects.bulk_create(rows)
    client, seen, cursor = bearer(operator, READ), [], None
    for _ in range(5):
        data = body(client.get("/api/v1/auditlog/events", {"entityType": "site", "perPage": 2,
                                                          **({"after": cursor} if cursor else {})}))
        seen += [e["id"] for e in data["data"]]
        cursor = data["meta"]["after"]
        if not cursor:
            break
    assert sorted(seen) == sorted(str(r.pk) for r in rows) and len(seen) == 5


@pytest.mark.parametrize(("params", "expected"), [
    ({"entityType": "site"}, {"s1", "s2"}),
    ({"entityType": "SITE", "entityId": "2"}, {"s2"}),
    ({"action": "CREATE"}, {"s1", "c1"}),
    ({"action": "delete"}, {"s2"}),
    ({"action": "site.removed"}, {"s2"}),
    ({"action": "EXPLODE"}, set()),
    ({"search": "harbour"}, {"s1", "s2"}),
    ({"search": "harbour removed"}, {"s2"}),
    ({"search": "anna@"}, {"c1"}),
    ({"fromDate": "2026-11-03T10:01:00Z"}, {"s2", "c1"}),
    ({"toDate": "2026-11-03T10:01:00Z"}, {"s1", "s2"}),
    ({"fromDate": "2026-11-03T11:01:00+01:00", "toDate": "2026-11-03T11:01:00+01:00"}, {"s2"}),
])
def test_the_specs_filters(operator, params, expected):
    client = bearer(operator, READ)
    made = {}
    for key, minutes, action, verb, item_type, item_id, label in [
            ("s1", 0, "created", "site.added", "site", "1", "system"),
            ("s2", 1, "deleted", "site.removed", "site", "2", "system"),
            ("c1", 2, "created", "charge_point.created", "charge point", "1", "anna@operator.test")]:
        made[key] = AuditEvent.objects.create(
            created_at=T0 + timedelta(minutes=minutes), operator=operator, actor_label=label, action=action,
            verb=verb, item_type=item_type, item_id=item_id, item_repr="Harbour" if item_type == "site" else "Bay")
    data = body(client.get("/api/v1/auditlog/events", params))
    ours = {str(e.pk) for e in made.values()}  # (not the key's own creation)
    assert {e["id"] for e in data["data"]} & ours == {str(made[k].pk) for k in expected}


def test_user_team_and_operator_filters(operator, other_operator, admin_user):
    audit.record(operator=operator, actor=admin_user, action="updated", item=operator, verb="x")
    audit.record(operator=operator, actor=None, action="updated", item=operator, verb="y")
    client = bearer(operator, READ)
    mine = body(client.get("/api/v1/auditlog/events", {"userId": admin_user.pk}))["data"]
    assert [e["metadata"]["verb"] for e in mine] == ["x"]
    assert len(body(client.get("/api/v1/auditlog/events", {"operatorId": operator.pk}))["data"]) >= 2
    for params in ({"operatorId": other_operator.pk}, {"teamId": other_operator.pk}):
        assert body(client.get("/api/v1/auditlog/events", params))["data"] == []


def test_another_operators_events_are_not_seen(operator, other_operator):
    theirs = events(other_operator, 2)
    client = bearer(operator, READ)
    assert body(client.get("/api/v1/auditlog/events", POINTS))["data"] == []
    response = client.get(f"/api/v1/auditlog/events/{theirs[0].pk}")
    assert response.status_code == 404 and response.json()["errorCode"] == "RESOURCE_NOT_FOUND"
    # their cursor only moves within this operator's events
    other_page = body(bearer(other_operator, READ).get("/api/v1/auditlog/events", {**POINTS, "perPage": 1}))
    assert body(client.get("/api/v1/auditlog/events", {**POINTS, "after": other_page["meta"]["after"]}))["data"] == []


@pytest.mark.parametrize("event_id", ["nope", "1", "3f1c9a7e-2b6d-4f03-a5c1-e9b7d2a4c6e8", "x" * 100, "%00"])
def test_an_unknown_event_id_is_404(operator, event_id):
    events(operator, 1)
    response = bearer(operator, READ).get(f"/api/v1/auditlog/events/{event_id}")
    assert response.status_code == 404 and response.json()["status"] == "NOT_FOUND"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("params", [
    {"after": "not-a-cursor"}, {"before": "!!!"}, {"after": _b64(b'["2026-11-03T10:00:00+00:00"]')},
    {"after": _b64(b'["2026-11-03T10:00:00", "' + b"5b2d8c4e-7a1f-4e9b-8c3d-2f6a1b9e0d47" + b'"]')},
    {"after": _b64(b'["2026-11-03T10:00:00+00:00", "not-a-uuid"]')}, {"after": "a" * 600},
    {"after": "abc\x00"}, {"search": "x\x00"}, {"entityType": "\x00"}, {"entityId": "1\x00"},
    {"action": "UPDATE\x00"}, {"perPage": 0}, {"perPage": 10001}, {"perPage": "many"},
    {"fromDate": "2026-11-03"}, {"toDate": "2026-11-03T10:00:00"}, {"fromDate": "3000-01-01T00:00:00Z"},
    {"fromDate": "2026-11-04T00:00:00Z", "toDate": "2026-11-03T00:00:00Z"}, {"userId": "me"},
])
def test_bad_input_is_the_specs_400(operator, params):
    events(operator, 3)
    response = bearer(operator, READ).get("/api/v1/auditlog/events", params)
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["status"] == "BAD_REQUEST" and error["errorCode"] == "BAD_REQUEST" and error["readableMessage"]


@pytest.mark.parametrize("path", ["/api/v1/auditlog/events", "/api/v1/auditlog/events/9d4e2a7b-1c3f-4b8e-a6d5-0e2f7c9b1a34"])
def test_without_the_scope_403(operator, path):
    response = bearer(operator, ["charge-points:read"]).get(path)
    assert response.status_code == 403 and response.json()["context"] == {"requiredScope": "audit-log:read"}


def test_queries_per_request_do_not_grow_with_rows(operator):
    token = token_for(new_key(operator, READ))
    from django.test import Client

    client = Client(headers={"Authorization": f"Bearer {token['accessToken']}"})
    client.get("/api/v1/consumers/me")  # the key's first use is noted once (api.services.note_use)
    events(operator, 3)
    at_3 = queries_of(client, "/api/v1/auditlog/events", perPage=100)
    events(operator, 27, start=T0 + timedelta(hours=1))
    assert queries_of(client, "/api/v1/auditlog/events", perPage=100) == at_3
    after = body(client.get("/api/v1/auditlog/events", {**POINTS, "perPage": 10}))["meta"]["after"]
    assert queries_of(client, "/api/v1/auditlog/events", perPage=10, after=after) == at_3
