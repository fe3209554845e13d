import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from portal.permissions import Role
from tests.factories import OperatorFactory, member


def _clear_cache():
    """Only this test process's keys: the Redis database is shared with the other pytest-xdist
    workers (own KEY_PREFIX each, portal/settings.py) and with the Celery broker."""
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{settings.CACHE_KEY_PREFIX}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters (and anything else cached) never leak from one test to the next."""
    from api import ratelimit

    _clear_cache()
    ratelimit.clear()
    yield
    _clear_cache()
    ratelimit.clear()


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
