"""Every write to members and invitations: one transaction, an audit event, keyword arguments,
`operator` and `actor` always passed (`actor=None` is the system, for the daily job).

Member management is serialised per operator by locking the operator row, so two Admins acting
at once cannot both remove "the other" last Admin. Emails leave only after commit.
"""
from datetime import timedelta

import phonenumbers
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from phonenumber_field.phonenumber import PhoneNumber

from accounts.models import User
from members.models import (
    INVITATION_VALIDITY_DAYS,
    Invitation,
    Membership,
    MembershipNotice,
    new_token,
)
from operators.models import Operator
from portal import audit
from portal.errors import Conflict, DomainError, NotAllowed
from portal.permissions import Role, can_manage_role, role_has_perm

MANAGE_PERMISSION = "members:write"
REMINDERS = (  # (kind, how long before expiry), the closest first
    (MembershipNotice.Kind.REMINDER_1D, timedelta(days=1)),
    (MembershipNotice.Kind.REMINDER_7D, timedelta(days=7)),
)


# --- helpers -----------------------------------------------------------------------------------

def _lock_operator(operator: Operator) -> Operator:
    return Operator.objects.select_for_update().get(pk=operator.pk)


def _manager_membership(operator: Operator, actor) -> Membership:
    """The actor's active membership, which must allow managing members."""
    membership = Membership.objects.active().filter(operator=operator, user=actor).first()
    if membership is None or not role_has_perm(membership.role, MANAGE_PERMISSION):
        raise NotAllowed("You cannot manage the members of this operator.")
    return membership


def _check_can_grant(actor_membership: Membership, role: str) -> None:
    if role not in Role.values:
        raise DomainError("Choose one of the roles.", field="role")
    if not can_manage_role(actor_membership.role, role):
        raise NotAllowed(f"You cannot grant the {Role(role).label} role: it is above your own.", field="role")


def _check_future(expires_at, field="expires_at") -> None:
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError("The expiry date must be in the future.", field=field)


def _keeps_access_management(role: str, expires_at) -> bool:
    """A member who can manage access and whose access never ends (an Admin without expiry)."""
    return role_has_perm(role, MANAGE_PERMISSION) and expires_at is None


def _guard_last_admin(*, operator, actor, target: Membership, role=None, expires_at=None,
                      removing=False) -> None:
    """An operator always keeps at least one active Admin without an expiry date."""
    if not _keeps_access_management(target.role, target.expires_at):
        return
    if not removing and _keeps_access_management(role, expires_at):
        return
    managing_roles = [r for r in Role.values if role_has_perm(r, MANAGE_PERMISSION)]
    others = (Membership.objects.filter(operator=operator, role__in=managing_roles, expires_at__isnull=True)
              .exclude(pk=target.pk).exists())
    if others:
        return
    who = "You are" if target.user_id == actor.pk else f"{target.user.get_full_name()} is"
    if removing:
        raise NotAllowed(f"{who} the last Admin without an expiry date and cannot be deleted. "
                         "Make another member Admin without an expiry date first.")
    field = "role" if not role_has_perm(role, MANAGE_PERMISSION) else "expires_at"
    what = "demoted" if field == "role" else "given an expiry date"
    raise NotAllowed(f"{who} the last Admin without an expiry date and cannot be {what}. "
                     "Make another member Admin without an expiry date first.", field=field)


def parse_contact(raw: str) -> tuple[str, object]:
    """("email", "a@b.c") or ("phone", PhoneNumber) from what the Admin typed."""
    value = (raw or "").strip()
    if not value:
        raise DomainError("Enter the phone number or email of the user.", field="contact")
    if "@" in value:
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        try:
            validate_email(value)
        except ValidationError:
            raise DomainError("Enter a valid email address, e.g. name@example.com.", field="contact") from None
        return "email", value.lower()
    try:
        number = PhoneNumber.from_string(value, region=settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise DomainError("Enter a valid email address or a phone number in international format, "
                          "e.g. +45 32 12 34 56.", field="contact")
    return "phone", number


def find_user_by_email(email: str):
    """The account that signs in with `email` or has it as a verified address."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        address = EmailAddress.objects.filter(email__iexact=email, verified=True).select_related("user").first()
        user = address.user if address else None
    return user


def invitation_addressed_to(invitation: Invitation, user) -> bool:
    """Only the invited account may answer: the invited email is a verified address of `user`,
    or the invitation went by phone to this very account (bound when it was sent: phone numbers
    are not verified, so an account that sets the number later does not inherit it) and the
    number is still the one on the account."""
    if invitation.email and EmailAddress.objects.filter(
            user=user, email__iexact=invitation.email, verified=True).exists():
        return True
    return bool(invitation.phone and invitation.user_id == user.pk and user.phone
                and user.phone.as_e164 == invitation.phone.as_e164)


def _date(value) -> str:
    return date_format(timezone.localtime(value), "j M Y") if value else ""


def _subject(text: str) -> str:
    return getattr(settings, "ACCOUNT_EMAIL_SUBJECT_PREFIX", "") + text


def _mail(to: list[str], subject: str, template: str, context: dict) -> None:
    """Send after commit, so a rolled-back change sends nothing."""
    body = render_to_string(template, context)
    recipients = [r for r in dict.fromkeys(to) if r]
    if recipients:
        transaction.on_commit(lambda: send_mail(_subject(subject), body, None, recipients))


def _invitation_mail(invitation: Invitation, token: str, base_url: str) -> None:
    to = invitation.email or (invitation.user.email if invitation.user else "")
    link = base_url.rstrip("/") + reverse("invitations:link", args=[token])
    _mail([to], f"You are invited to {invitation.operator.name}", "members/email/invitation.txt", {
        "invitation": invitation, "operator": invitation.operator, "link": link,
        "role": Role(invitation.role).label, "role_description": invitation.role_description,
        "inviter": invitation.invited_by.get_full_name() if invitation.invited_by else "An Admin",
        "existing_account": invitation.user_id is not None,
        "valid_until": _date(invitation.valid_until), "expires_at": _date(invitation.expires_at),
    })


# --- invitations -------------------------------------------------------------------------------

@transaction.atomic
def invitation_create(*, operator: Operator, actor, contact: str, role: str, expires_at=None,
                      base_url: str) -> Invitation:
    """Invite by email or phone. An existing account gets a pending invitation (email + a notice
    when signed in); a new email gets a sign-up link; a phone without an account is refused."""
    actor_membership = _manager_membership(operator, actor)
    _check_can_grant(actor_membership, role)
    _check_future(expires_at)
    _lock_operator(operator)
    kind, value = parse_contact(contact)
    if kind == "email":
        user = find_user_by_email(value)
        shown = value
    else:
        value, shown = value.as_e164, value.as_international  # look up and store as E.164
        user = User.objects.filter(phone=value).first()
        if user is None:
            raise DomainError(
                f"No account has the phone number {shown}. The number must be the one on the user's "
                "account (My account); otherwise invite them by email.", field="contact")
    if user is not None:
        existing = Membership.objects.filter(operator=operator, user=user).first()
        if existing is not None:
            if existing.is_active():
                raise Conflict(f"{shown} is already a member of {operator.name} "
                               f"({existing.get_role_display()}).", field="contact")
            raise Conflict(f"{shown} is already a member of {operator.name}, but their access expired "
                           f"on {_date(existing.expires_at)}. Use Extend on their row instead.", field="contact")
    duplicate = Q(email=value) if kind == "email" else Q(phone=value)
    if user is not None:
        duplicate |= Q(user=user)
    if Invitation.objects.pending().filter(operator=operator).filter(duplicate).exists():
        raise Conflict(f"{shown} has already been invited. Resend or revoke the pending invitation "
                       "below.", field="contact")
    token, token_hash = new_token()
    now = timezone.now()
    invitation = Invitation.objects.create(
        operator=operator, email=value if kind == "email" else "", phone=value if kind == "phone" else None,
        user=user, role=role, expires_at=expires_at, token_hash=token_hash,
        valid_until=now + timedelta(days=INVITATION_VALIDITY_DAYS), invited_by=actor, created_at=now, sent_at=now,
    )
    audit.record(operator=operator, actor=actor, action="created", item=invitation, parent=operator,
                 changes=audit.created_changes(invitation, Invitation.AUDIT_FIELDS), verb="invitation.sent")
    _invitation_mail(invitation, token, base_url)
    return invitation


def _pending_invitation(operator, invitation_id, actor_membership) -> Invitation:
    invitation = (Invitation.objects.select_for_update(of=("self",)).filter(operator=operator, pk=invitation_id)
                  .select_related("user", "invited_by", "operator").first())
    if invitation is None or invitation.status != Invitation.Status.PENDING:
        raise NotAllowed("This invitation is no longer pending.")
    if not can_manage_role(actor_membership.role, invitation.role):
        raise NotAllowed("You cannot manage an invitation for a role above your own.")
    return invitation


@transaction.atomic
def invitation_resend(*, operator: Operator, actor, invitation_id: int, base_url: str) -> Invitation:
    """A new link (the old one stops working) with a fresh validity, sent again."""
    actor_membership = _manager_membership(operator, actor)
    invitation = _pending_invitation(operator, invitation_id, actor_membership)
    before = audit.snapshot(invitation, Invitation.AUDIT_FIELDS)
    token, invitation.token_hash = new_token()
    invitation.sent_at = timezone.now()
    invitation.valid_until = invitation.sent_at + timedelta(days=INVITATION_VALIDITY_DAYS)
    invitation.save(update_fields=["token_hash", "sent_at", "valid_until"])
    audit.record(operator=operator, actor=actor, action="updated", item=invitation, parent=operator,
                 changes=audit.diff(before, audit.snapshot(invitation, Invitation.AUDIT_FIELDS)),
                 verb="invitation.resent")
    _invitation_mail(invitation, token, base_url)
    return invitation


@transaction.atomic
def invitation_revoke(*, operator: Operator, actor, invitation_id: int) -> Invitation:
    actor_membership = _manager_membership(operator, actor)
    invitation = _pending_invitation(operator, invitation_id, actor_membership)
    return _close(invitation, actor=actor, status=Invitation.Status.REVOKED, verb="invitation.revoked")


def _close(invitation: Invitation, *, actor, status, verb) -> Invitation:
    before = audit.snapshot(invitation, Invitation.AUDIT_FIELDS)
    invitation.status = status
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    audit.record(operator=invitation.operator, actor=actor, action="updated", item=invitation,
                 parent=invitation.operator, verb=verb,
                 changes=audit.diff(before, audit.snapshot(invitation, Invitation.AUDIT_FIELDS)))
    return invitation


def invitation_refusal(invitation: Invitation | None, at=None) -> str | None:
    """Why this invitation cannot be answered now, in words for the invited person; None if it can."""
    if invitation is None:
        return ("This invitation link is not valid. If you were sent a newer invitation, use the link "
                "in the latest email.")
    if invitation.status == Invitation.Status.ACCEPTED:
        return "This invitation has already been used."
    if invitation.status == Invitation.Status.DECLINED:
        return "This invitation was declined."
    if invitation.status == Invitation.Status.REVOKED:
        return f"This invitation was withdrawn by {invitation.operator.name}."
    if invitation.link_expired(at):
        return (f"This invitation expired on {_date(invitation.valid_until)}. Ask an Admin of "
                f"{invitation.operator.name} to send it again.")
    return None


def _answerable(operator, invitation_id, actor, token_hash=None) -> Invitation:
    qs = Invitation.objects.select_for_update(of=("self",)).filter(operator=operator, pk=invitation_id)
    if token_hash is not None:
        qs = qs.filter(token_hash=token_hash)
    invitation = qs.select_related("operator").first()
    refusal = invitation_refusal(invitation)
    if refusal:
        raise NotAllowed(refusal)
    if not invitation_addressed_to(invitation, actor):
        raise NotAllowed(
            f"This invitation was sent to {invitation.contact}, which is not an address or phone number of "
            f"the account you are signed in with ({actor.email}). Sign out and sign in with the invited "
            "account to accept it.")
    return invitation


@transaction.atomic
def invitation_accept(*, operator: Operator, actor, invitation_id: int, token_hash: str | None = None) -> Membership:
    """The invited account accepts: the membership starts now with the invited role and expiry."""
    _lock_operator(operator)
    invitation = _answerable(operator, invitation_id, actor, token_hash)
    existing = Membership.objects.filter(operator=operator, user=actor).first()
    if existing is not None:
        raise Conflict(f"You are already a member of {operator.name}." if existing.is_active() else
                       f"You already have a membership of {operator.name} whose access expired. Ask an "
                       "Admin to extend it.")
    if invitation.expires_at is not None and invitation.expires_at <= timezone.now():
        raise NotAllowed(f"The access this invitation offered ended on {_date(invitation.expires_at)}. "
                         "Ask an Admin for a new invitation.")
    membership = Membership.objects.create(operator=operator, user=actor, role=invitation.role,
                                           expires_at=invitation.expires_at)
    invitation.user = actor
    invitation.save(update_fields=["user"])
    _close(invitation, actor=actor, status=Invitation.Status.ACCEPTED, verb="invitation.accepted")
    audit.record(operator=operator, actor=actor, action="created", item=membership, parent=operator,
                 changes=audit.created_changes(membership, Membership.AUDIT_FIELDS), verb="membership.added")
    return membership


@transaction.atomic
def invitation_decline(*, operator: Operator, actor, invitation_id: int, token_hash: str | None = None) -> Invitation:
    invitation = _answerable(operator, invitation_id, actor, token_hash)
    return _close(invitation, actor=actor, status=Invitation.Status.DECLINED, verb="invitation.declined")


def invitation_signup_completed(*, invitation_id: int, token_hash: str, user) -> Membership | None:
    """Someone signed up through an invitation link. With the invited address verified (the link
    itself proves it, see docs/members.md) the membership starts now; otherwise it starts when the
    account verifies that address (`invitation_email_verified`)."""
    invitation = Invitation.objects.filter(pk=invitation_id, token_hash=token_hash).select_related("operator").first()
    if invitation is None or not invitation.is_open():
        return None
    if invitation_addressed_to(invitation, user):
        return invitation_accept(operator=invitation.operator, actor=user, invitation_id=invitation.pk,
                                 token_hash=token_hash)
    Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.PENDING).update(signup_user=user)
    return None


def invitation_email_verified(*, user, email: str) -> list[Membership]:
    """An account verified `email`: accept the invitations it signed up through for that address."""
    memberships = []
    for invitation in Invitation.objects.open().filter(signup_user=user, email__iexact=email).select_related("operator"):
        try:
            memberships.append(invitation_accept(operator=invitation.operator, actor=user, invitation_id=invitation.pk))
        except DomainError:
            continue
    return memberships


# --- members -----------------------------------------------------------------------------------

def _target(operator, membership_id) -> Membership:
    target = Membership.objects.filter(operator=operator, pk=membership_id).select_related("user").first()
    if target is None:
        raise NotAllowed("This member does not exist.")
    return target


@transaction.atomic
def membership_update(*, operator: Operator, actor, membership_id: int, role: str, expires_at) -> dict:
    """Member settings: change the role and/or set or clear the expiry. One audit event per kind
    of change. Returns the changes ({} when nothing changed)."""
    actor_membership = _manager_membership(operator, actor)
    _lock_operator(operator)
    target = _target(operator, membership_id)
    if not can_manage_role(actor_membership.role, target.role):
        raise NotAllowed("You cannot change a member whose role is above your own.")
    _check_can_grant(actor_membership, role)
    if expires_at != target.expires_at:
        _check_future(expires_at)
    _guard_last_admin(operator=operator, actor=actor, target=target, role=role, expires_at=expires_at)
    changes = {}
    for field, value, verb in (("role", role, "membership.role_changed"),
                               ("expires_at", expires_at, "membership.expiry_changed")):
        before = audit.snapshot(target, [field])
        setattr(target, field, value)
        change = audit.diff(before, audit.snapshot(target, [field]))
        if change:
            changes.update(change)
            audit.record(operator=operator, actor=actor, action="updated", item=target, parent=operator,
                         changes=change, verb=verb)
    if changes:
        target.save(update_fields=[f for f in ("role", "expires_at") if f in changes])
    return changes


def membership_extend(*, operator: Operator, actor, membership_id: int, expires_at) -> dict:
    """Re-enable an expired member (or move an expiry) to a new date."""
    if expires_at is None:
        raise DomainError("Choose the new expiry date.", field="expires_at")
    target = _target(operator, membership_id)
    return membership_update(operator=operator, actor=actor, membership_id=membership_id,
                             role=target.role, expires_at=expires_at)


@transaction.atomic
def membership_remove(*, operator: Operator, actor, membership_id: int) -> None:
    """Delete the member. Their audit history stays (events keep the actor's email)."""
    actor_membership = _manager_membership(operator, actor)
    _lock_operator(operator)
    target = _target(operator, membership_id)
    if not can_manage_role(actor_membership.role, target.role):
        raise NotAllowed("You cannot delete a member whose role is above your own.")
    _guard_last_admin(operator=operator, actor=actor, target=target, removing=True)
    audit.record(operator=operator, actor=actor, action="deleted", item=target, parent=operator,
                 changes=audit.deleted_changes(target, Membership.AUDIT_FIELDS), verb="membership.removed")
    target.delete()


# --- the daily expiry job ------------------------------------------------------------------------

def _admin_emails(operator, exclude_user_id, at) -> list[str]:
    managing_roles = [r for r in Role.values if role_has_perm(r, MANAGE_PERMISSION)]
    return list(Membership.objects.active(at).filter(operator=operator, role__in=managing_roles)
                .exclude(user_id=exclude_user_id).values_list("user__email", flat=True))


def _record_notice(membership, kind, created_at) -> bool:
    """True when this notice is new (so its mail is sent); False when a run already did it."""
    try:
        with transaction.atomic():
            _, created = MembershipNotice.objects.get_or_create(
                membership=membership, kind=kind, expires_at=membership.expires_at,
                defaults={"created_at": created_at})
    except IntegrityError:  # a concurrent run recorded it first
        return False
    return created


def _send_reminder(membership, now) -> None:
    context = {"membership": membership, "operator": membership.operator, "member": membership.user,
               "role": membership.get_role_display(), "expires_at": timezone.localtime(membership.expires_at)}
    when = date_format(context["expires_at"], "j M Y, H:i")
    _mail([membership.user.email], f"Your access to {membership.operator.name} ends on {when}",
          "members/email/reminder_member.txt", context)
    for admin_email in _admin_emails(membership.operator, membership.user_id, now):
        _mail([admin_email], f"{membership.user.get_full_name()}'s access to {membership.operator.name} "
                             f"ends on {when}", "members/email/reminder_admin.txt", context)


def membership_expiry_run(*, now=None) -> dict:
    """Record expiries that were reached (audit event, actor system) and send the reminders due
    7 days and 1 day before expiry, to the member and the operator's Admins. Each is done once per
    membership and expiry date (MembershipNotice), so running it again sends nothing twice.
    Access itself ends at the exact instant on every request, whether or not this job ran."""
    now = now or timezone.now()
    done = {"expired": 0, "reminders": 0}
    def recorded(kind):
        return Exists(MembershipNotice.objects.filter(membership=OuterRef("pk"), kind=kind,
                                                      expires_at=OuterRef("expires_at")))

    expired = (Membership.objects.filter(expires_at__lte=now).exclude(recorded(MembershipNotice.Kind.EXPIRED))
               .select_related("operator", "user"))
    for membership in expired:
        with transaction.atomic():
            if _record_notice(membership, MembershipNotice.Kind.EXPIRED, now):
                audit.record(operator=membership.operator, actor=None, action="updated", item=membership,
                             parent=membership.operator, verb="membership.expiry_reached",
                             changes={"status": {"before": "active", "after": "expired"}})
                done["expired"] += 1
    # Skip (in SQL) memberships with nothing to do: the closest reminder already recorded, or the
    # earliest recorded while the next one is not due yet. The loop below decides the rest.
    closest, earliest, next_due = REMINDERS[0][0], REMINDERS[-1][0], REMINDERS[-2][1]
    soon = (Membership.objects.filter(expires_at__gt=now, expires_at__lte=now + REMINDERS[-1][1])
            .exclude(recorded(closest))
            .exclude(recorded(earliest), expires_at__gt=now + next_due)
            .select_related("operator", "user"))
    for membership in soon:
        left = membership.expires_at - now
        due = [kind for kind, before in REMINDERS if left <= before]  # closest first
        with transaction.atomic():
            new = [kind for kind in due if _record_notice(membership, kind, now)]
            # Send one mail for the closest reminder not sent yet; a later one also covers the
            # earlier (a member given 12 hours gets one "1 day" reminder, not two mails).
            if new and new[0] == due[0]:
                _send_reminder(membership, now)
                done["reminders"] += 1
    return done


