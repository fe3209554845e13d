"""A partner's program in the tests: an API key of an operator and a bearer client."""
from django.test import Client

from api import services
from api.scopes import SCOPES


def new_key(operator, scopes=None, **kwargs):
    return services.key_create(operator=operator, actor=None, name=kwargs.pop("name", "Test program"),
                               scopes=list(SCOPES) if scopes is None else scopes, **kwargs)


def token_for(new) -> dict:
    response = Client().post("/api/v1/auth/token", {"clientId": new.key.client_id, "clientSecret": new.secret},
                             content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def bearer(operator, scopes=None, **kwargs) -> Client:
    """A client that sends a fresh access token of a new key of `operator`."""
    token = token_for(new_key(operator, scopes, **kwargs))
    return Client(headers={"Authorization": f"Bearer {token['accessToken']}"})


def body(response):
    """The JSON body with numbers as Decimal: amounts compared exactly, never through float."""
    import json
    from decimal import Decimal

    return json.loads(response.content, parse_float=Decimal)


def queries_of(client, path, **params) -> int:
    """How many queries one request makes (auth included)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as seen:
        response = client.get(path, params)
    assert response.status_code == 200, response.content
    return len(seen)
