import re

import pytest

from portal.permissions import Role
from tests.factories import UserFactory, member

BASE_URL = "http://testserver/"


@pytest.fixture
def admin(operator):
    return member(operator, Role.ADMIN)


def link_from(message) -> str:
    """The invitation link in a sent email, as a path."""
    match = re.search(r"http://testserver(/invitations/link/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


@pytest.fixture
def existing_user(db):
    return UserFactory(email="sune@example.test", name="Sune Supporter", phone="+4520000004")
