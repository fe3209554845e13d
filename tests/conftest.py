import pytest
from django.test import Client

from portal.permissions import Role
from tests.factories import OperatorFactory, member


@pytest.fixture
def operator(db):
    return OperatorFactory()


@pytest.fixture
def other_operator(db):
    return OperatorFactory(name="Other Operator AS", slug="other", country="NO", currency="NOK",
                           vat_number="NO995525828MVA")


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def login():
    """login(user) -> a test client signed in as that user."""
    return _client_for


@pytest.fixture
def admin_user(operator):
    return member(operator, Role.ADMIN)


@pytest.fixture
def admin_client(admin_user):
    return _client_for(admin_user)
