"""Reads for the Members & Access tab and the invited person's pages. Every operator read takes
the operator; list selectors join what the page shows (constant query count)."""
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from members.models import Invitation, Membership, hash_token

# A member whose access ends within this many days shows "Expires in N days" instead of "Active".
EXPIRING_SOON_DAYS = 30

STATUS_ACTIVE, STATUS_EXPIRING, STATUS_EXPIRED, STATUS_INVITED = "active", "expiring", "expired", "invited"
STATUS_CHOICES = [
    ("", "All"),
    (STATUS_ACTIVE, "Active"),
    (STATUS_EXPIRING, f"Expires within {EXPIRING_SOON_DAYS} days"),
    (STATUS_EXPIRED, "Expired"),
    (STATUS_INVITED, "Invited"),
]


@dataclass(frozen=True)
class Status:
    key: str
    label: str
    badge: str


def member_status(membership: Membership, at=None) -> Status:
    at = at or timezone.now()
    if membership.expires_at is None:
        return Status(STATUS_ACTIVE, "Active", "ok")
    if membership.expires_at <= at:
        return Status(STATUS_EXPIRED, "Expired", "danger")
    if membership.expires_at - at <= timedelta(days=EXPIRING_SOON_DAYS):
        days = (timezone.localdate(membership.expires_at) - timezone.localdate(at)).days
        label = "Expires today" if days <= 0 else f"Expires in {days} day{'s' if days != 1 else ''}"
        return Status(STATUS_EXPIRING, label, "warn")
    return Status(STATUS_ACTIVE, "Active", "ok")


def _search(q: str, prefix: str = "") -> Q:
    q = q.strip()
    compact = q.replace(" ", "").replace("-", "")
    match = Q(**{f"{prefix}email__icontains": q})
    if prefix:
        match |= Q(**{f"{prefix}name__icontains": q})
    if compact:
        match |= Q(**{f"{prefix}phone__icontains": compact})
    return match


def member_list(*, operator, q: str = "", role: str = "", status: str = "", at=None):
    """The operator's members with their user (one query), filtered and ordered by name."""
    at = at or timezone.now()
    members = Membership.objects.filter(operator=operator).select_related("user")
    if q.strip():
        members = members.filter(_search(q, "user__"))
    if role:
        members = members.filter(role=role)
    if status == STATUS_ACTIVE:
        members = members.active(at)
    elif status == STATUS_EXPIRING:
        members = members.filter(expires_at__gt=at, expires_at__lte=at + timedelta(days=EXPIRING_SOON_DAYS))
    elif status == STATUS_EXPIRED:
        members = members.expired(at)
    elif status == STATUS_INVITED:
        members = members.none()
    return members.order_by("user__name", "user__email", "pk")


def invitation_list(*, operator, q: str = "", role: str = "", status: str = ""):
    """Pending invitations (also those whose link expired: they can be resent)."""
    if status and status != STATUS_INVITED:
        return Invitation.objects.none()
    invitations = Invitation.objects.pending().filter(operator=operator).select_related("invited_by", "user")
    if q.strip():
        invitations = invitations.filter(_search(q) | _search(q, "user__"))
    if role:
        invitations = invitations.filter(role=role)
    return invitations.order_by("-created_at", "-pk")


def member_detail(*, operator, membership_id: int) -> Membership:
    member = Membership.objects.filter(operator=operator, pk=membership_id).select_related("user").first()
    if member is None:
        raise Http404("No such member")
    return member


def invitations_for_user(*, user):
    """Open invitations addressed to this signed-in user, with their operator."""
    return Invitation.objects.for_user(user).select_related("operator", "invited_by").order_by("-created_at")


def invitation_by_token(token: str) -> Invitation | None:
    if not token or len(token) > 100:
        return None
    return (Invitation.objects.filter(token_hash=hash_token(token))
            .select_related("operator", "invited_by", "user").first())
