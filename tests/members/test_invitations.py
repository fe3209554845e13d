"""Invitation rules, through the services (real database, locmem mail outbox)."""
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail
from django.utils import timezone

from members import services
from members.models import Invitation, Membership, hash_token
from portal.errors import DomainError, NotAllowed
from portal.models import AuditEvent
from portal.permissions import Role
from tests.factories import UserFactory, member
from tests.members.conftest import BASE_URL, link_from

pytestmark = pytest.mark.django_db(transaction=False)


def invite(operator, actor, contact, role=Role.MANAGER, **kw):
    return services.invitation_create(operator=operator, actor=actor, contact=contact, role=role,
                                      base_url=BASE_URL, **kw)


def token_of(message):
    return link_from(message).rstrip("/").rsplit("/", 1)[1]


def test_existing_email_gets_pending_invitation_email_and_notice(operator, admin, existing_user,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invite(operator, admin, "Sune@Example.test")
    assert invitation.status == Invitation.Status.PENDING and invitation.user == existing_user
    assert not Membership.objects.filter(user=existing_user).exists()
    [message] = mail.outbox
    assert message.to == ["sune@example.test"]
    assert operator.name in message.subject and "Sign in to accept or decline" in message.body
    # the raw token is only in the mail; the database has its hash
    assert Invitation.objects.get().token_hash == hash_token(token_of(message))
    assert list(Invitation.objects.for_user(existing_user)) == [invitation]
    event = AuditEvent.objects.get(verb="invitation.sent")
    assert event.actor == admin and event.changes["role"]["after"] == "manager"


def test_accepting_makes_the_membership_active_with_role_and_expiry(operator, admin, existing_user):
    expires = timezone.now() + timedelta(days=30)
    invitation = invite(operator, admin, "sune@example.test", expires_at=expires)
    membership = services.invitation_accept(operator=operator, actor=existing_user, invitation_id=invitation.pk)
    assert (membership.role, membership.expires_at) == (Role.MANAGER, expires)
    assert Membership.objects.active().filter(operator=operator, user=existing_user).exists()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert set(AuditEvent.objects.filter(actor=existing_user).values_list("verb", flat=True)) == {
        "invitation.accepted", "membership.added"}
    assert not Invitation.objects.for_user(existing_user).exists()


def test_decline(operator, admin, existing_user):
    invitation = invite(operator, admin, "sune@example.test")
    services.invitation_decline(operator=operator, actor=existing_user, invitation_id=invitation.pk)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.DECLINED
    assert not Membership.objects.filter(user=existing_user, operator=operator).exists()
    assert AuditEvent.objects.filter(verb="invitation.declined", actor=existing_user).count() == 1
    with pytest.raises(NotAllowed, match="declined"):
        services.invitation_accept(operator=operator, actor=existing_user, invitation_id=invitation.pk)


def test_phone_of_an_existing_account(operator, admin, existing_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invite(operator, admin, "+45 20 00 00 04")
    assert invitation.user == existing_user and invitation.email == "" and invitation.phone == "+4520000004"
    assert mail.outbox[0].to == ["sune@example.test"]  # the account's email
    services.invitation_accept(operator=operator, actor=existing_user, invitation_id=invitation.pk)
    assert Membership.objects.filter(operator=operator, user=existing_user).exists()


def test_phone_without_account_is_refused_with_a_clear_message(operator, admin):
    with pytest.raises(DomainError) as exc:
        invite(operator, admin, "+45 32 12 34 56")
    assert exc.value.field == "contact"
    assert "No account has the phone number +45 32 12 34 56" in exc.value.message
    assert "invite them by email" in exc.value.message
    assert not Invitation.objects.exists() and not mail.outbox


@pytest.mark.parametrize("contact", ["not an email", "hello@", "12"])
def test_invalid_contact(operator, admin, contact):
    with pytest.raises(DomainError) as exc:
        invite(operator, admin, contact)
    assert exc.value.field == "contact"


def test_new_email_gets_a_signup_link_valid_14_days(operator, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invite(operator, admin, "new.person@example.test")
    assert invitation.user is None
    assert abs(invitation.valid_until - timezone.now() - timedelta(days=14)) < timedelta(minutes=1)
    [message] = mail.outbox
    assert message.to == ["new.person@example.test"] and "Create your account" in message.body


def test_new_email_signup_then_verification_activates_membership(operator, admin):
    """Sign-up through the link before the address is verified: the membership starts only when
    that address is verified (allauth's email_confirmed)."""
    invitation = invite(operator, admin, "new.person@example.test")
    newcomer = UserFactory(email="new.person@example.test")
    EmailAddress.objects.filter(user=newcomer).update(verified=False)
    assert services.invitation_signup_completed(invitation_id=invitation.pk, token_hash=invitation.token_hash,
                                                user=newcomer) is None
    assert not Membership.objects.filter(user=newcomer).exists()
    EmailAddress.objects.filter(user=newcomer).update(verified=True)
    [membership] = services.invitation_email_verified(user=newcomer, email="new.person@example.test")
    assert membership.operator == operator and membership.role == Role.MANAGER


def test_someone_else_verifying_an_address_does_not_join(operator, admin):
    invitation = invite(operator, admin, "new.person@example.test")
    stranger = UserFactory(email="new.person@example.test")
    # not signed up through the link: no automatic membership, only the notice to accept
    assert services.invitation_email_verified(user=stranger, email="new.person@example.test") == []
    assert list(Invitation.objects.for_user(stranger)) == [invitation]


def test_wrong_account_cannot_accept(operator, admin, existing_user):
    invitation = invite(operator, admin, "sune@example.test")
    intruder = UserFactory(email="intruder@example.test")
    with pytest.raises(NotAllowed, match="sent to sune@example.test.*intruder@example.test"):
        services.invitation_accept(operator=operator, actor=intruder, invitation_id=invitation.pk)
    with pytest.raises(NotAllowed):
        services.invitation_decline(operator=operator, actor=intruder, invitation_id=invitation.pk)
    assert not Membership.objects.filter(user=intruder).exists()
    assert Invitation.objects.get().status == Invitation.Status.PENDING


def test_unverified_address_is_not_enough(operator, admin):
    invitation = invite(operator, admin, "shared@example.test")
    other = UserFactory(email="other@example.test")
    EmailAddress.objects.create(user=other, email="shared@example.test", verified=False)
    with pytest.raises(NotAllowed):
        services.invitation_accept(operator=operator, actor=other, invitation_id=invitation.pk)


def test_phone_invitation_needs_that_phone_on_the_account(operator, admin, existing_user):
    invitation = invite(operator, admin, "+4520000004")
    existing_user.phone = "+4520000099"
    existing_user.save()
    with pytest.raises(NotAllowed, match="not an address or phone number"):
        services.invitation_accept(operator=operator, actor=existing_user, invitation_id=invitation.pk)


def test_token_reuse_is_refused(operator, admin, existing_user):
    invitation = invite(operator, admin, "sune@example.test")
    services.invitation_accept(operator=operator, actor=existing_user, invitation_id=invitation.pk,
                               token_hash=invitation.token_hash)
    with pytest.raises(NotAllowed, match="already been used"):
        services.invitation_accept(operator=operator, actor=existing_user, invitation_id=invitation.pk,
                                   token_hash=invitation.token_hash)


def test_expired_token_is_refused(operator, admin, existing_user):
    invitation = invite(operator, admin, "sune@example.test")
    with time_machine.travel(invitation.valid_until - timedelta(seconds=1)):
        assert invitation.is_open()
    with time_machine.travel(invitation.valid_until + timedelta(seconds=1)):
        with pytest.raises(NotAllowed, match="expired"):
            services.invitation_accept(operator=operator, actor=existing_user, invitation_id=invitation.pk)
        assert not Invitation.objects.for_user(existing_user).exists()


def test_resend_invalidates_the_old_link_and_restarts_validity(operator, admin, existing_user,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invite(operator, admin, "sune@example.test")
    old_hash, old_valid = invitation.token_hash, invitation.valid_until
    with time_machine.travel(timezone.now() + timedelta(days=10)):
        with django_capture_on_commit_callbacks(execute=True):
            services.invitation_resend(operator=operator, actor=admin, invitation_id=invitation.pk, base_url=BASE_URL)
    invitation.refresh_from_db()
    assert invitation.token_hash != old_hash and invitation.token_hash == hash_token(token_of(mail.outbox[1]))
    assert invitation.valid_until - old_valid >= timedelta(days=10) - timedelta(minutes=1)
    with pytest.raises(NotAllowed, match="not valid"):
        services.invitation_accept(operator=operator, actor=existing_user, invitation_id=invitation.pk,
                                   token_hash=old_hash)
    assert AuditEvent.objects.filter(verb="invitation.resent").count() == 1
    services.invitation_accept(operator=operator, actor=existing_user, invitation_id=invitation.pk,
                               token_hash=invitation.token_hash)


def test_revoke(operator, admin, existing_user):
    invitation = invite(operator, admin, "sune@example.test")
    services.invitation_revoke(operator=operator, actor=admin, invitation_id=invitation.pk)
    with pytest.raises(NotAllowed, match="withdrawn"):
        services.invitation_accept(operator=operator, actor=existing_user, invitation_id=invitation.pk)
    assert AuditEvent.objects.filter(verb="invitation.revoked", actor=admin).count() == 1
    with pytest.raises(NotAllowed, match="no longer pending"):
        services.invitation_resend(operator=operator, actor=admin, invitation_id=invitation.pk, base_url=BASE_URL)
    invite(operator, admin, "sune@example.test")  # a revoked invitation does not block a new one


@pytest.mark.parametrize("first,second", [
    ("sune@example.test", "SUNE@example.test"),
    ("sune@example.test", "+4520000004"),  # same account by phone
    ("+4520000004", "sune@example.test"),
])
def test_duplicate_invitation_is_refused(operator, admin, existing_user, first, second):
    invite(operator, admin, first)
    with pytest.raises(DomainError, match="already been invited") as exc:
        invite(operator, admin, second)
    assert exc.value.field == "contact"
    assert Invitation.objects.count() == 1


def test_duplicate_new_email_is_refused(operator, admin):
    invite(operator, admin, "new@example.test")
    with pytest.raises(DomainError, match="already been invited"):
        invite(operator, admin, "new@example.test", role=Role.ADMIN)
    assert Invitation.objects.count() == 1


def test_existing_member_is_refused(operator, admin):
    manager = member(operator, Role.MANAGER)
    with pytest.raises(DomainError, match="already a member") as exc:
        invite(operator, admin, manager.email)
    assert exc.value.field == "contact" and not Invitation.objects.exists()


def test_expired_member_is_pointed_to_extend(operator, admin):
    gone = member(operator, Role.MANAGER, expires_at=timezone.now() - timedelta(days=1))
    with pytest.raises(DomainError, match="Extend"):
        invite(operator, admin, gone.email)


def test_member_of_another_operator_can_be_invited(operator, other_operator, admin):
    outsider = member(other_operator, Role.ADMIN)
    invitation = invite(operator, admin, outsider.email)
    services.invitation_accept(operator=operator, actor=outsider, invitation_id=invitation.pk)
    assert outsider.memberships.count() == 2


def test_only_members_write_may_invite(operator, existing_user):
    manager = member(operator, Role.MANAGER)
    with pytest.raises(NotAllowed):
        invite(operator, manager, "sune@example.test", role=Role.SUPPORTER)


def test_expiry_must_be_in_the_future(operator, admin, existing_user):
    with pytest.raises(DomainError) as exc:
        invite(operator, admin, "sune@example.test", expires_at=timezone.now() - timedelta(seconds=1))
    assert exc.value.field == "expires_at"


def test_accept_after_the_offered_access_ended_is_refused(operator, admin, existing_user):
    invitation = invite(operator, admin, "sune@example.test", expires_at=timezone.now() + timedelta(days=2))
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        with pytest.raises(NotAllowed, match="ended"):
            services.invitation_accept(operator=operator, actor=existing_user, invitation_id=invitation.pk)


def test_a_phone_number_claimed_later_does_not_inherit_the_invitation(operator, admin, existing_user):
    """Phone numbers are not verified: the invitation is made out to the account that had the
    number when it was sent, not to whoever sets that number afterwards."""
    invitation = invite(operator, admin, "+45 20 00 00 04")
    assert invitation.user == existing_user
    existing_user.phone = None
    existing_user.save()
    squatter = UserFactory(email="squatter@example.test", phone="+4520000004")
    assert not Invitation.objects.for_user(squatter).exists()
    with pytest.raises(NotAllowed, match="not an address or phone number of the account"):
        services.invitation_accept(operator=operator, actor=squatter, invitation_id=invitation.pk)
    assert not Membership.objects.filter(operator=operator, user=squatter).exists()


def test_phone_invite_names_the_receiving_account_to_the_admin(login, operator, admin, existing_user):
    response = login(admin).post(f"/o/{operator.slug}/members/invite/",
                                 {"contact": "+45 20 00 00 04", "role": Role.MANAGER}, follow=True)
    html = response.content.decode()
    assert "the account of Sune Supporter (s•••e@example.test)" in html
