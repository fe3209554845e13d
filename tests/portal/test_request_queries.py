"""The shell of every operator page reads the user's memberships once: the tenancy check and the
operator switcher share the one query."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.permissions import Role
from tests.factories import OperatorFactory, member

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["", "charges/", "charge-points/", "audit-log/"])
def test_memberships_are_read_once_per_page(login, operator, path):
    user = member(operator, Role.ADMIN)
    second = OperatorFactory(name="Second Operator A/S")
    member(second, Role.MANAGER, user=user)  # two operators: the switcher lists both
    client = login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/o/{operator.slug}/{path}")
    assert response.status_code == 200 and "Second Operator A/S" in response.content.decode()
    assert sum('FROM "members_membership"' in q["sql"] for q in queries.captured_queries) == 1
