"""The Members & Access pages as users see them (test client)."""
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from members.models import Invitation, Membership
from portal.permissions import Role
from tests.factories import InvitationFactory, UserFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """committed(fn, *args) -> fn's result, with the on-commit callbacks (the mails) run: the test's
    transaction never commits."""
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)
    return run


def members_url(operator, query=""):
    return f"/o/{operator.slug}/members/{query}"


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


def test_list_shows_members_status_and_pending_invitations(operator, admin, login):
    member(operator, Role.MANAGER, user__name="Mads Manager", user__phone="+4520000002",
           user__last_login=timezone.now() - timedelta(hours=2))
    # "Expires in N days" counts calendar days in local time: noon five days ahead reads
    # "5 days" whatever the time of day the test runs at (now + 5 days 1 hour did not after 23:00).
    in_five_days = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0) + timedelta(days=5)
    member(operator, Role.SUPPORTER, user__name="Carl Contractor", expires_at=in_five_days)
    member(operator, Role.BOOKKEEPER, user__name="Old Timer", expires_at=timezone.now() - timedelta(days=1))
    InvitationFactory(operator=operator, email="new@example.test", role=Role.MANAGER, invited_by=admin)
    page = text(login(admin).get(members_url(operator)))
    for expected in ("Members &amp; Access", "Mads Manager", "+45 20 00 00 02", "Expires in 5 days",
                     "Expired", "Active", "2 hours ago", "Never", "Pending invitations", "new@example.test",
                     "link valid until", ">Invite<", "Member settings", "Extend", ">Resend<", ">Revoke<"):
        assert expected in page, expected


def test_filters_expired_role_and_search(operator, admin, login):
    member(operator, Role.MANAGER, user__name="Mads Manager", user__email="mads@example.test", user__phone="+4520000002")
    member(operator, Role.SUPPORTER, user__name="Old Timer", expires_at=timezone.now() - timedelta(days=1))
    InvitationFactory(operator=operator, email="new@example.test", role=Role.MANAGER)
    client = login(admin)
    expired = text(client.get(members_url(operator, "?status=expired")))
    assert "Old Timer" in expired and "Mads Manager" not in expired and "new@example.test" not in expired
    managers = text(client.get(members_url(operator, "?role=manager")))
    assert "Mads Manager" in managers and "Old Timer" not in managers and "new@example.test" in managers
    for q in ("mads", "MADS@example", "20000002", "20 00 00 02", "Manager"):
        found = text(client.get(members_url(operator, f"?q={q}")))
        assert "Mads Manager" in found and "Old Timer" not in found, q
    invited = text(client.get(members_url(operator, "?status=invited")))
    assert "new@example.test" in invited and "Mads Manager" not in invited
    assert "new@example.test" in text(client.get(members_url(operator, "?q=new@")))
    assert client.get(members_url(operator, "?status=bogus")).status_code == 400


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SUPPORTER])
def test_manager_and_supporter_may_view_but_not_manage(operator, admin, login, role):
    viewer = login(member(operator, role))
    page = text(viewer.get(members_url(operator)))
    assert admin.email in page
    assert "Member settings" not in page and ">Invite<" not in page and ">Resend<" not in page
    assert viewer.get(members_url(operator, "invite/")).status_code == 403
    target = Membership.objects.get(user=admin)
    assert viewer.post(members_url(operator, f"{target.pk}/delete/")).status_code == 403
    assert Membership.objects.filter(pk=target.pk).exists()


def test_bookkeeper_cannot_see_members(operator, admin, login):
    assert login(member(operator, Role.BOOKKEEPER)).get(members_url(operator)).status_code == 403


def test_tab_is_in_the_operator_tabs(operator, admin, login):
    assert f'href="/o/{operator.slug}/members/"' in login(admin).get(f"/o/{operator.slug}/").content.decode()


@pytest.mark.parametrize("status", ["", "?status=expired", "?q=example&role=supporter"])
def test_query_count_is_the_same_with_5_and_500_members(operator, admin, login, status):
    client = login(admin)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(members_url(operator, status)).status_code == 200
        return len(ctx)

    def grow(n):
        users = User.objects.bulk_create(User(email=f"bulk{i}-{n}@example.test", name=f"Bulk {i}") for i in range(n))
        Membership.objects.bulk_create(
            Membership(operator=operator, user=u, role=Role.SUPPORTER,
                       expires_at=timezone.now() + timedelta(days=i % 3 - 1) if i % 2 else None)
            for i, u in enumerate(users))
        Invitation.objects.bulk_create(
            InvitationFactory.build(operator=operator, email=f"inv{i}-{n}@example.test", invited_by=admin)
            for i in range(n // 5))

    grow(4)
    small = count()
    grow(495)
    assert Membership.objects.filter(operator=operator).count() == 500
    assert count() == small


def test_role_description_partial(operator, admin, login):
    client = login(admin)
    response = client.get(members_url(operator, "role-description/?role=manager"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith('<div id="role-description"') and "Manages operations" in body and "<html" not in body
    assert client.get(members_url(operator, "role-description/?role=owner")).status_code == 400


def test_invite_form_without_javascript(operator, admin, login):
    page = text(login(admin).get(members_url(operator, "invite/")))
    for label in ("Insert the phone number or email of the user", "Select the role of the user", "Expire at"):
        assert label in page
    assert f'hx-get="/o/{operator.slug}/members/role-description/"' in page
    # the selected role's description is rendered by the server; all of them for no-JS users
    assert '<div id="role-description"' in page and "Can view all relevant areas" in page
    assert "<noscript>" in page and "Needs access to everything" in page
    # an invalid POST re-renders with the chosen role's description
    response = login(admin).post(members_url(operator, "invite/"), {"contact": "", "role": "bookkeeper"})
    assert response.status_code == 400
    assert re.search(r'id="role-description"[^>]*>Can view transactions', response.content.decode())


def test_invite_existing_account(committed, operator, admin, login, existing_user):
    response = committed(login(admin).post, members_url(operator, "invite/"), {
        "contact": "sune@example.test", "role": "manager",
        "expires_at": (timezone.localdate() + timedelta(days=20)).isoformat()}, follow=True)
    page = text(response)
    assert "sune@example.test was invited as Manager" in page
    assert re.search(r'data-invitation="sune@example.test".*?Manager', page)
    invitation = Invitation.objects.get()
    assert timezone.localtime(invitation.expires_at).hour == 0
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("data,message", [
    ({"contact": "+45 32 12 34 56", "role": "manager"}, "No account has the phone number +45 32 12 34 56"),
    ({"contact": "nonsense", "role": "manager"}, "Enter a valid email address or a phone number"),
    ({"contact": "a@b.test", "role": "owner"}, "Select a valid choice"),
    ({"contact": "a@b.test", "role": "manager", "expires_at": "2001-01-01"}, "Choose a date after today"),
    ({"contact": "", "role": "manager"}, "This field is required"),
])
def test_invite_errors_are_shown_on_the_field(operator, admin, login, data, message):
    response = login(admin).post(members_url(operator, "invite/"), data)
    assert response.status_code == 400 and message in text(response)
    assert not Invitation.objects.exists() and not mail.outbox


def test_invite_already_member_and_already_invited(operator, admin, login, existing_user):
    client = login(admin)
    response = client.post(members_url(operator, "invite/"), {"contact": admin.email, "role": "manager"})
    assert response.status_code == 400 and "already a member" in text(response)
    client.post(members_url(operator, "invite/"), {"contact": "sune@example.test", "role": "manager"})
    response = client.post(members_url(operator, "invite/"), {"contact": "+4520000004", "role": "supporter"})
    assert response.status_code == 400 and "already been invited" in text(response)
    assert Invitation.objects.count() == 1


def test_resend_and_revoke_buttons(committed, operator, admin, login, existing_user):
    client = login(admin)
    committed(client.post, members_url(operator, "invite/"), {"contact": "sune@example.test", "role": "manager"})
    invitation = Invitation.objects.get()
    old_link = re.search(r"(/invitations/link/\S+/)", mail.outbox[0].body).group(1)
    page = text(committed(client.post, members_url(operator, f"invitations/{invitation.pk}/resend/"), follow=True))
    assert "was sent again" in page and len(mail.outbox) == 2
    assert login(existing_user).get(old_link).status_code == 404
    page = text(client.post(members_url(operator, f"invitations/{invitation.pk}/revoke/"), follow=True))
    assert "was revoked" in page and "No pending invitations" in page
    page = text(client.post(members_url(operator, f"invitations/{invitation.pk}/revoke/"), follow=True))
    assert "no longer pending" in page


# --- the invited person --------------------------------------------------------------------------

def invite_by(committed, client, operator, contact, role="manager"):
    mail.outbox.clear()
    committed(client.post, members_url(operator, "invite/"), {"contact": contact, "role": role})
    [message] = mail.outbox
    return re.search(r"http://testserver(/invitations/link/\S+/)", message.body).group(1)


def test_notice_on_sign_in_then_accept(committed, operator, admin, login, existing_user):
    invite_by(committed, login(admin), operator, "sune@example.test")
    client = login(existing_user)
    home = text(client.get("/", follow=True))
    assert f"<strong>{operator.name}</strong> invited you to join as Manager" in home and "Review invitation" in home
    mine = text(client.get("/invitations/"))
    assert "Manages operations" in mine and "Accept" in mine and "Decline" in mine
    invitation = Invitation.objects.get()
    response = client.post(f"/invitations/{invitation.pk}/answer/", {"answer": "accept"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/o/{operator.slug}/"
    assert f"Welcome to {operator.name}: you joined as Manager" in text(response)
    assert "invited you" not in text(client.get(f"/o/{operator.slug}/"))


def test_decline_from_the_notice(committed, operator, admin, login, existing_user):
    invite_by(committed, login(admin), operator, "+4520000004")
    client = login(existing_user)
    invitation = Invitation.objects.get()
    page = text(client.post(f"/invitations/{invitation.pk}/answer/", {"answer": "decline"}, follow=True))
    assert "You declined the invitation" in page and "no pending invitations" in page
    assert not Membership.objects.filter(user=existing_user).exists()


def test_other_accounts_cannot_answer_by_id(committed, operator, admin, login, existing_user):
    invite_by(committed, login(admin), operator, "sune@example.test")
    intruder = login(UserFactory())
    invitation = Invitation.objects.get()
    assert intruder.post(f"/invitations/{invitation.pk}/answer/", {"answer": "accept"}).status_code == 404
    assert intruder.get(f"/invitations/{invitation.pk}/answer/").status_code == 405


def test_link_for_an_existing_account(committed, operator, admin, login, existing_user, client):
    link = invite_by(committed, login(admin), operator, "sune@example.test")
    response = client.get(link)  # signed out: sign in first, then come back
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/invitations/link/")
    signed_in = login(existing_user)
    page = text(signed_in.get(link))
    assert operator.name in page and "Manager" in page and "Accept" in page
    response = signed_in.post(link, {"answer": "accept"})
    assert response.status_code == 302 and response["Location"] == f"/o/{operator.slug}/"
    reused = signed_in.get(link)
    assert reused.status_code == 410 and "already been used" in text(reused)


def test_link_opened_while_signed_in_as_someone_else(committed, operator, admin, login, existing_user):
    link = invite_by(committed, login(admin), operator, "sune@example.test")
    intruder = login(UserFactory(email="intruder@example.test"))
    response = intruder.get(link)
    assert response.status_code == 403
    assert ("This invitation was sent to sune@example.test, which is not an address or phone number of the "
            "account you are signed in with (intruder@example.test)") in text(response)
    assert intruder.post(link, {"answer": "accept"}).status_code == 403
    assert not Membership.objects.filter(user__email="intruder@example.test").exists()


def test_invalid_and_expired_links(committed, operator, admin, login, existing_user, client):
    assert client.get("/invitations/link/not-a-token/").status_code == 404
    link = invite_by(committed, login(admin), operator, "sune@example.test")
    Invitation.objects.update(valid_until=timezone.now() - timedelta(seconds=1))
    response = client.get(link)
    assert response.status_code == 410 and "This invitation expired on" in text(response)


def test_new_email_signs_up_with_the_email_fixed_and_joins(committed, operator, admin, login, client):
    link = invite_by(committed, login(admin), operator, "newbie@example.test")
    response = client.get(link)
    assert response.status_code == 302 and response["Location"] == "/accounts/signup/"
    page = client.get("/accounts/signup/").content.decode()
    assert re.search(r'<input[^>]*name="email"[^>]*value="newbie@example.test"[^>]*readonly|'
                     r'<input[^>]*readonly[^>]*value="newbie@example.test"', page), page
    # another address is refused
    response = client.post("/accounts/signup/", {"email": "someone.else@example.test",
                                                 "password1": "a-Long-passw0rd!", "password2": "a-Long-passw0rd!"})
    assert response.status_code == 200 and "Your invitation is for newbie@example.test" in text(response)
    assert not User.objects.filter(email="someone.else@example.test").exists()
    response = client.post("/accounts/signup/", {"email": "newbie@example.test",
                                                 "password1": "a-Long-passw0rd!", "password2": "a-Long-passw0rd!"},
                           follow=True)
    newbie = User.objects.get(email="newbie@example.test")
    assert Membership.objects.active().filter(operator=operator, user=newbie, role=Role.MANAGER).exists()
    assert response.redirect_chain[-1][0] == f"/o/{operator.slug}/"
    assert f"Welcome to {operator.name}" in text(response)
    assert Invitation.objects.get().status == Invitation.Status.ACCEPTED
    assert client.get(link).status_code == 410  # single use


def test_new_email_link_used_after_someone_signed_up_elsewhere(committed, operator, admin, login, client):
    """The link is for signing up; once an account has the address, it asks to sign in."""
    link = invite_by(committed, login(admin), operator, "newbie@example.test")
    UserFactory(email="newbie@example.test")
    response = client.get(link)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_signup_form_is_normal_again_when_the_invitation_was_revoked(committed, operator, admin, login, client):
    link = invite_by(committed, login(admin), operator, "newbie@example.test")
    client.get(link)
    Invitation.objects.update(status=Invitation.Status.REVOKED)
    page = client.get("/accounts/signup/").content.decode()
    assert "readonly" not in page and "Your invitation" not in page
    response = client.post("/accounts/signup/", {"email": "other@example.test", "password1": "a-Long-passw0rd!",
                                                 "password2": "a-Long-passw0rd!"})
    assert response.status_code == 302 and User.objects.filter(email="other@example.test").exists()
    assert not Membership.objects.filter(user__email="other@example.test").exists()


def test_wrong_account_can_sign_out_and_come_back(committed, operator, admin, login, existing_user):
    link = invite_by(committed, login(admin), operator, "sune@example.test")
    intruder = login(UserFactory())
    page = intruder.get(link).content.decode()
    next_value = re.search(r'name="next" value="([^"]+)"', page).group(1)
    response = intruder.post("/accounts/logout/", {"next": next_value.replace("&amp;", "&")})
    assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={link}"
