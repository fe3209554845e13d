"""Demo credentials for the demo operator (idempotent: looked up by name)."""
from credentials import crypto, services
from credentials.models import Credential

DEMO = [
    ("demo", "admin@demo.example", "payter", "Payter – Vesterbro terminals", {
        "api_key": "demo-payter-key-4f1c9a7e2b6d8f03a5c1e9b7d2",
        "terminal_id": "P68D0042137",
        "environment": "test",
    }),
    ("demo", "manager@demo.example", "economic", "e-conomic bookkeeping", {
        "app_secret_token": "demoAppSecretToken7Kq2Lm9Xw4",
        "agreement_grant_token": "demoAgreementGrant3Rt8Vn5Zp1",
    }),
]


def seed(ctx):
    if crypto.key_problem():
        ctx["log"]("Credentials: skipped (no usable CREDENTIALS_ENCRYPTION_KEYS).")
        return
    for slug, email, platform, name, values in DEMO:
        operator = ctx["operators"][slug]
        if Credential.objects.filter(operator=operator, name=name).exists():
            continue
        services.credential_create(operator=operator, actor=ctx["users"][email], platform=platform,
                                   name=name, values=values)
