from allauth.account.models import EmailAddress

from accounts.models import User

DEMO_USERS = [
    # email, name, phone
    ("admin@demo.example", "Alma Admin", "+4520000001"),
    ("manager@demo.example", "Mads Manager", "+4520000002"),
    ("bookkeeper@demo.example", "Birgit Bookkeeper", "+4520000003"),
    ("supporter@demo.example", "Sune Supporter", "+4520000004"),
    ("admin@nordlys.example", "Nora Nordlys", "+4790000001"),
]


def ensure_user(email, name, password, phone=None, **extra):
    user, created = User.objects.get_or_create(email=email, defaults={"name": name, "phone": phone, **extra})
    if created or not user.check_password(password):
        user.set_password(password)
        user.save()
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def seed(ctx):
    users = {email: ensure_user(email, name, ctx["password"], phone) for email, name, phone in DEMO_USERS}
    users["staff@platform.example"] = ensure_user(
        "staff@platform.example", "Platform Staff", ctx["password"], is_staff=True, is_superuser=True
    )
    ctx["users"] = users
