from datetime import timedelta

from django.utils import timezone

from accounts.demo import ensure_user
from members.models import INVITATION_VALIDITY_DAYS, Invitation, Membership, new_token
from portal.permissions import Role

DEMO_MEMBERS = [
    ("demo", "admin@demo.example", Role.ADMIN),
    ("demo", "manager@demo.example", Role.MANAGER),
    ("demo", "bookkeeper@demo.example", Role.BOOKKEEPER),
    ("demo", "supporter@demo.example", Role.SUPPORTER),
    ("nordlys", "admin@nordlys.example", Role.ADMIN),
]

# A contractor whose access ends soon, and a pending invitation to a new address (demo operator).
CONTRACTOR = ("contractor@demo.example", "Carl Contractor", "+4520000005")
PENDING_INVITE = ("new.colleague@demo.example", Role.MANAGER)


def seed(ctx):
    logins = ctx.setdefault("logins", [])
    for slug, email, role in DEMO_MEMBERS:
        Membership.objects.get_or_create(
            operator=ctx["operators"][slug], user=ctx["users"][email], defaults={"role": role}
        )
        logins.append((email, f"{Role(role).label} of {ctx['operators'][slug].name}"))
    logins.append(("staff@platform.example", "platform staff: Django admin at /admin/ (fees)"))

    demo, now = ctx["operators"]["demo"], timezone.now()
    email, name, phone = CONTRACTOR
    contractor = ensure_user(email, name, ctx["password"], phone)
    ctx["users"][email] = contractor
    membership, _ = Membership.objects.get_or_create(
        operator=demo, user=contractor, defaults={"role": Role.SUPPORTER, "expires_at": now + timedelta(days=5)})
    if not membership.is_active():  # keep the demo's "expires soon" row alive on later runs
        Membership.objects.filter(pk=membership.pk).update(expires_at=now + timedelta(days=5))
    logins.append((email, f"Supporter of {demo.name}, access expiring in a few days"))

    invited, role = PENDING_INVITE
    if not Invitation.objects.pending().filter(operator=demo, email=invited).exists():
        Invitation.objects.create(
            operator=demo, email=invited, role=role, token_hash=new_token()[1], invited_by=ctx["users"]["admin@demo.example"],
            valid_until=now + timedelta(days=INVITATION_VALIDITY_DAYS), expires_at=None,
        )
