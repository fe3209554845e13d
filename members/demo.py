from members.models import Membership
from portal.permissions import Role

DEMO_MEMBERS = [
    ("demo", "admin@demo.example", Role.ADMIN),
    ("demo", "manager@demo.example", Role.MANAGER),
    ("demo", "bookkeeper@demo.example", Role.BOOKKEEPER),
    ("demo", "supporter@demo.example", Role.SUPPORTER),
    ("nordlys", "admin@nordlys.example", Role.ADMIN),
]


def seed(ctx):
    logins = ctx.setdefault("logins", [])
    for slug, email, role in DEMO_MEMBERS:
        Membership.objects.get_or_create(
            operator=ctx["operators"][slug], user=ctx["users"][email], defaults={"role": role}
        )
        logins.append((email, f"{Role(role).label} of {ctx['operators'][slug].name}"))
    logins.append(("staff@platform.example", "platform staff: Django admin at /admin/ (fees)"))
