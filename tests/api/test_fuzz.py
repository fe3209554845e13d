"""Schemathesis against our own OpenAPI schema, in process (the WSGI app, the test database):
every operation, valid and invalid requests made from the schema, with a real token of a key
that has every scope and a few objects of its operator. No 5xx; every response is JSON of the
schema documented for its status (the error bodies included: api/openapi.py documents them).
Bounded: at most 25 examples for each operation (and mode), no deadline, no example database
(nothing written into the work tree). A new router's operations are fuzzed as they come."""
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.helpers import new_key, token_for
from tests.api.operations import our_schema
from tests.api.test_every_operation import PATH_OBJECTS, path_object_key
from tests.factories import ChargePointFactory, SiteFactory

schema = schemathesis.openapi.from_dict(our_schema())
schema.app = get_wsgi_application()
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


@pytest.fixture
def partner(db, operator):
    """A key with every scope, and one object of its operator for each kind of path id."""
    ChargePointFactory(operator=operator, site=SiteFactory(operator=operator))
    ids = {key: factory(operator) for key, factory in PATH_OBJECTS.items()}
    token = token_for(new_key(operator))["accessToken"]
    return {"Authorization": f"Bearer {token}"}, ids


@pytest.fixture
def partner_over_wsgi(partner):
    """The WSGI app closes the database connection at the end of each request (Django's
    close_old_connections): on PostgreSQL that ends the test's transaction. Unhooked while the
    test runs, as Django's test client does around each of its requests (and hooks it back after
    each: hence after `partner`, which signs in with the test client)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield partner
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api(case, partner_over_wsgi):
    headers, ids = partner_over_wsgi
    # half of the generated ids (the even integers, the strings of even length) become the
    # operator's own objects; the others stay as generated (mostly unknown: 404, or invalid: 400)
    for name, value in list((case.path_parameters or {}).items()):
        key = path_object_key(case.path, name)
        parity = len(value) if isinstance(value, str) else value if isinstance(value, int) else 1
        if key is not None and parity % 2 == 0:
            case.path_parameters[name] = ids[key]
    case.call_and_validate(headers=headers, checks=CHECKS)
