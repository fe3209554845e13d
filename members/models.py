from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.permissions import ROLE_DESCRIPTIONS, Role


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
