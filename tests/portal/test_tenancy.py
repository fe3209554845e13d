from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from portal.permissions import Role
from tests.factories import OperatorFactory, member

EXPIRY = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.django_db
class TestExpiryOnEveryRequest:
    def test_allowed_one_second_before_404_at_and_after(self, login, operator):
        client = login(member(operator, Role.MANAGER, expires_at=EXPIRY))
        url = f"/o/{operator.slug}/"
        with time_machine.travel(EXPIRY - timedelta(seconds=1), tick=False):
            assert client.get(url).status_code == 200
        with time_machine.travel(EXPIRY, tick=False):
            assert client.get(url).status_code == 404
        with time_machine.travel(EXPIRY + timedelta(seconds=1), tick=False):
            assert client.get(url).status_code == 404

    def test_expired_operator_disappears_from_switcher_and_landing(self, login):
        mine, gone = OperatorFactory(name="Mine ApS"), OperatorFactory(name="Gone ApS")
        user = member(mine, Role.ADMIN)
        member(gone, Role.ADMIN, user=user, expires_at=EXPIRY)
        client = login(user)
        with time_machine.travel(EXPIRY - timedelta(seconds=1), tick=False):
            response = client.get("/")
            assert response.status_code == 200 and "Gone ApS" in response.content.decode()
        with time_machine.travel(EXPIRY + timedelta(seconds=1), tick=False):
            response = client.get("/")
            assert response.status_code == 302 and response["Location"] == f"/o/{mine.slug}/"
            assert "Gone ApS" not in client.get(f"/o/{mine.slug}/").content.decode()


@pytest.mark.django_db
class TestLanding:
    def test_anonymous_goes_to_sign_in(self, client):
        assert client.get("/")["Location"].startswith("/accounts/login/")

    def test_single_operator_lands_on_overview(self, login, operator):
        assert login(member(operator)).get("/")["Location"] == f"/o/{operator.slug}/"

    def test_several_operators_pick_one(self, login):
        a, b = OperatorFactory(name="Alpha ApS"), OperatorFactory(name="Beta AS")
        user = member(a, Role.ADMIN)
        member(b, Role.SUPPORTER, user=user)
        html = login(user).get("/").content.decode()
        assert "Choose an operator" in html and "Alpha ApS" in html and "Beta AS" in html

    def test_no_operator_yet_explains_what_to_do(self, login):
        from tests.factories import UserFactory

        html = login(UserFactory()).get("/").content.decode()
        assert "No operator access yet" in html

    def test_switcher_lists_only_my_operators(self, login, operator, other_operator):
        OperatorFactory(name="Secret Competitor A/S")
        html = login(member(operator)).get(f"/o/{operator.slug}/").content.decode()
        assert operator.name in html and "Secret Competitor" not in html and other_operator.name not in html

    def test_unknown_operator_is_404_like_a_foreign_one(self, login, operator):
        client = login(member(operator))
        assert client.get("/o/does-not-exist/").status_code == 404


@pytest.mark.django_db
def test_menu_follows_the_role(login, operator):
    admin_html = login(member(operator, Role.ADMIN)).get(f"/o/{operator.slug}/").content.decode()
    supporter_html = login(member(operator, Role.SUPPORTER)).get(f"/o/{operator.slug}/").content.decode()
    assert "Audit log" in admin_html and "Audit log" not in supporter_html
