"""Demo API keys (idempotent: looked up by name). Their secrets are random and not kept: the demo
shows the list; create a key on the page to see a secret and try the API."""
from datetime import timedelta

from django.utils import timezone

from api import services
from api.models import ApiKey

DEMO = [
    ("demo", "admin@demo.example", "ERP sync", ["charge-points:read", "charge-transactions:read",
                                                "wallet-transactions:read", "invoices:read"], None, "198.51.100.24"),
    ("demo", "admin@demo.example", "Installer app", ["charge-points:read", "charge-points:write"], 180, None),
    ("demo", "admin@demo.example", "Old BI export", ["charge-transactions:read"], None, "198.51.100.77"),
]


def seed(ctx):
    for slug, email, name, scopes, expires_in_days, used_from in DEMO:
        operator = ctx["operators"][slug]
        if ApiKey.objects.filter(operator=operator, name=name).exists():
            continue
        expires = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        key = services.key_create(operator=operator, actor=ctx["users"][email], name=name, scopes=scopes,
                                  expires_at=expires).key
        if used_from:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(hours=3),
                                                    last_used_ip=used_from)
        if name == "Old BI export":
            services.key_revoke(operator=operator, actor=ctx["users"][email], key_id=key.pk)
