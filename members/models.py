import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from portal.permissions import ROLE_DESCRIPTIONS, Role

INVITATION_VALIDITY_DAYS = 14


class MembershipQuerySet(models.QuerySet):
    def active(self, at=None):
        """Memberships that grant access at `at` (default: now). Access ends at the exact
        expiry instant: a membership expiring at T is inactive at T."""
        at = at or timezone.now()
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))

    def expired(self, at=None):
        return self.filter(expires_at__lte=at or timezone.now())


class Membership(models.Model):
    """A user's access to an operator, with a role and an optional access expiry."""

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    expires_at = models.DateTimeField("expire at", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    AUDIT_FIELDS = ("user", "role", "expires_at")

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["operator", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "user"], name="membership_unique_user"),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"

    def is_active(self, at=None):
        return self.expires_at is None or self.expires_at > (at or timezone.now())

    @property
    def role_description(self):
        return ROLE_DESCRIPTIONS[Role(self.role)]


class MembershipNotice(models.Model):
    """What the daily expiry job already did for one membership and one expiry instant: a
    reminder sent 7 days or 1 day before, or the expiry recorded. The unique key makes a rerun a
    no-op; a new expiry date (Extend) starts a fresh set."""

    class Kind(models.TextChoices):
        REMINDER_7D = "reminder_7d", "Reminder 7 days before expiry"
        REMINDER_1D = "reminder_1d", "Reminder 1 day before expiry"
        EXPIRED = "expired", "Expiry reached"

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "kind", "expires_at"], name="membership_notice_once"),
        ]

    def __str__(self):
        return f"{self.membership} {self.kind} {self.expires_at:%Y-%m-%d}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh random link token and its hash (only the hash is stored)."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=Invitation.Status.PENDING)

    def open(self, at=None):
        """Pending and still valid: can be accepted now."""
        return self.pending().filter(valid_until__gt=at or timezone.now())

    def for_user(self, user, at=None):
        """Open invitations addressed to `user`: to one of their verified email addresses, or to
        the phone number on their account *and* made out to this account when it was sent (phone
        numbers are not verified, so a number claimed later does not inherit the invitation)."""
        from allauth.account.models import EmailAddress

        match = Q(email__in=EmailAddress.objects.filter(user=user, verified=True).values("email"))
        if user.phone:
            match |= Q(phone=user.phone.as_e164, user=user)
        return self.open(at).filter(match)


class Invitation(models.Model):
    """An invitation to become a member of an operator, by email or by phone number.

    The link token is stored only as a SHA-256 hash; resending replaces it (the old link stops
    working) and restarts the validity. Only the invited account may accept: one whose verified
    email address is `email`, or whose account phone number is `phone`."""

    class Status(models.TextChoices):
        PENDING = "pending", "Invited"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        REVOKED = "revoked", "Revoked"

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(null=True, blank=True)
    # The existing account the contact belonged to when invited (none for a new email).
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="invitations")
    role = models.CharField(max_length=16, choices=Role.choices)
    expires_at = models.DateTimeField("expire at", null=True, blank=True,
                                      help_text="When the membership's access ends (optional).")
    token_hash = models.CharField(max_length=64, unique=True)
    valid_until = models.DateTimeField(help_text="The invitation link works until then.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    responded_at = models.DateTimeField(null=True, blank=True)
    # Set when someone signed up through the link but the email was not verified yet: the
    # membership starts when that account verifies the invited address.
    signup_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    AUDIT_FIELDS = ("email", "phone", "role", "expires_at", "valid_until", "status")

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="invitation_has_contact",
                                   condition=~Q(email="") | Q(phone__isnull=False)),
            models.UniqueConstraint(fields=["operator", "email"], condition=Q(status="pending") & ~Q(email=""),
                                    name="invitation_one_pending_per_email"),
            models.UniqueConstraint(fields=["operator", "phone"], condition=Q(status="pending", phone__isnull=False),
                                    name="invitation_one_pending_per_phone"),
            models.UniqueConstraint(fields=["operator", "user"], condition=Q(status="pending", user__isnull=False),
                                    name="invitation_one_pending_per_user"),
        ]

    def __str__(self):
        return self.contact

    @property
    def contact(self) -> str:
        return self.email or (self.phone.as_e164 if self.phone else "")

    def is_open(self, at=None) -> bool:
        return self.status == self.Status.PENDING and self.valid_until > (at or timezone.now())

    def link_expired(self, at=None) -> bool:
        return self.status == self.Status.PENDING and self.valid_until <= (at or timezone.now())

    @property
    def role_description(self):
        return ROLE_DESCRIPTIONS[Role(self.role)]
