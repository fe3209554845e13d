"""Every operation of the partner API that needs a token, whichever router added it:
(a) no token → 401 with the spec's error body; (b) a key with every scope but the operation's
→ 403 ACCESS_FORBIDDEN, whatever the request carries (the scope is checked before the ids and the
body); (c) another operator's object id → 404 RESOURCE_NOT_FOUND; (d) never a 5xx.

A new operation is covered without editing this file, except that a new path parameter name
must be given a factory in PATH_OBJECTS (the test fails until it is)."""
import json

import pytest
from django.test import Client

from api.scopes import SCOPES
from tests.api.helpers import bearer
from tests.api.operations import SCOPELESS, minimal_body, operations
from tests.factories import (
    ChargeFactory,
    ChargePointFactory,
    OperatorFactory,
    SiteFactory,
    WalletTransactionFactory,
    issued_invoice,
)

pytestmark = pytest.mark.django_db
ERROR_FIELDS = {"status", "message", "readableMessage", "errorCode"}
AUTHED = [op for op in operations() if op.needs_auth]


def _audit_event(operator):
    from portal.audit import record

    return record(operator=operator, actor=None, action="updated", item=operator, verb="test.event").pk


# A path parameter → an object of the given operator, its id in the path. "resource/{name}" is
# looked up first (for names such as `id` that mean another thing under each resource), then the
# name alone. An operation with a name in neither fails test_another_operators_id_is_not_found.
PATH_OBJECTS = {
    "chargePointId": lambda op: ChargePointFactory(operator=op).pk,
    "siteId": lambda op: SiteFactory(operator=op).pk,
    "chargeId": lambda op: ChargeFactory(operator=op).pk,
    "transactionId": lambda op: WalletTransactionFactory(operator=op).pk,
    "invoiceId": lambda op: issued_invoice(op).pk,
    "eventId": _audit_event,
    "operators/{id}": lambda op: op.pk,
    "walletId": lambda op: op.pk,  # (an operator's one wallet has its id)
}


def path_object_key(path: str, name: str) -> str | None:
    """The key of PATH_OBJECTS for the path parameter `name` of `path`, or None."""
    segments = path.split("/")
    placeholder = "{" + name + "}"
    resource = segments[segments.index(placeholder) - 1] if placeholder in segments else ""
    return next((key for key in (f"{resource}/{placeholder}", name) if key in PATH_OBJECTS), None)


def _factory_for(path: str, name: str):
    key = path_object_key(path, name)
    return None if key is None else PATH_OBJECTS[key]


def _url(op, values: dict) -> str:
    url = op.path
    for name, value in values.items():
        url = url.replace("{" + name + "}", str(value))
    return url


def call(client, op, url, body=None):
    kwargs = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    return getattr(client, op.method)(url, **kwargs)


def _error_body(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert ERROR_FIELDS <= set(body), body
    assert all(isinstance(body[f], str) and body[f] for f in ERROR_FIELDS), body
    return body


def test_the_operations_are_found():
    ids = {op.operation_id for op in operations()}
    assert {"get-charge-points", "get-charge-point", "get-current-consumer"} <= ids
    assert "get-access-token-with-client-credentials" in ids
    assert not any(op.operation_id == "get-access-token-with-client-credentials" for op in AUTHED)


@pytest.mark.parametrize("op", AUTHED, ids=str)
def test_no_token_is_401(op):
    url = _url(op, {name: 1 for name in op.path_params})
    for client in (Client(), Client(headers={"Authorization": "Bearer cpo_at_not-a-token"})):
        response = call(client, op, url, minimal_body(op))
        assert response.status_code == 401, (str(op), response.status_code, response.content[:300])
        body = _error_body(response)
        assert body["status"] == "UNAUTHORIZED" and body["errorCode"] == "INVALID_ACCESS_TOKEN", body
        assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("op", AUTHED, ids=str)
def test_every_scope_but_the_operations_is_403(op, operator):
    if op.scope is None:
        assert op.operation_id in SCOPELESS, (
            f"{op} needs a token but declares no scope: decorate its view with @scope(...) (api.auth)")
        return
    assert op.scope in SCOPES
    others = [s for s in SCOPES if s != op.scope]
    client = bearer(operator, others)
    # ids that do not exist and no body: the scope is checked first (403, not 404 or 400)
    response = call(client, op, _url(op, {name: 2**62 for name in op.path_params}))
    assert response.status_code == 403, (str(op), response.status_code, response.content[:300])
    body = _error_body(response)
    assert body["status"] == "FORBIDDEN" and body["errorCode"] == "ACCESS_FORBIDDEN", body
    assert body["context"] == {"requiredScope": op.scope}
    # and with the operator's own objects and a valid body: still 403
    own = {}
    for name in op.path_params:
        factory = _factory_for(op.path, name)
        if factory is not None:
            own[name] = factory(operator)
    if len(own) == len(op.path_params):
        response = call(client, op, _url(op, own), minimal_body(op))
        assert response.status_code == 403, (str(op), response.status_code, response.content[:300])


WITH_IDS = [op for op in AUTHED if op.path_params]


@pytest.mark.parametrize("op", WITH_IDS, ids=str)
def test_another_operators_id_is_not_found(op, operator):
    unknown = [name for name in op.path_params if _factory_for(op.path, name) is None]
    assert not unknown, (f"{op}: no factory for the path parameter(s) {unknown}: add them to PATH_OBJECTS "
                         f"in {__name__}")
    other = OperatorFactory(name="Operator B")
    theirs = {name: _factory_for(op.path, name)(operator) for name in op.path_params}
    response = call(bearer(other), op, _url(op, theirs), minimal_body(op))
    assert response.status_code == 404, (str(op), response.status_code, response.content[:300])
    body = _error_body(response)
    assert body["status"] == "NOT_FOUND" and body["errorCode"] == "RESOURCE_NOT_FOUND", body
    # the owner's own key finds it (the 404 above is about the operator, not a bad id)
    if op.method == "get":
        assert call(bearer(operator), op, _url(op, theirs)).status_code == 200, str(op)


def test_the_minimal_body_is_accepted(operator):
    """minimal_body() gives bodies that get past validation (else (b) and (c) would test a 400)."""
    response = bearer(operator).post("/api/v1/charge-points", json.dumps(minimal_body(
        next(op for op in operations() if op.operation_id == "post-charge-point"))), content_type="application/json")
    assert response.status_code == 201, response.content
