"""`manage.py check` warns when credentials cannot be encrypted or decrypted on this server.

Warnings, not errors: the rest of the portal works without the key (the credentials pages
explain the problem), so a deployment is not blocked by it.
"""
from django.conf import settings
from django.core.checks import Warning, register

from credentials import crypto


@register()
def encryption_keys(app_configs, **kwargs):
    problem = crypto.key_problem()
    if problem:
        return [Warning(
            problem,
            hint=f"Generate a key with `python manage.py rotate_credentials_key --generate-key` and set "
                 f"{crypto.SETTING} in the environment.",
            id="credentials.W001",
        )]
    if crypto.DEVELOPMENT_KEY in crypto.configured_keys() and not (settings.DEBUG or getattr(settings, "TESTING", False)):
        return [Warning("Credentials are encrypted with the public development key: anyone can decrypt them.",
                        hint=f"Set {crypto.SETTING} in the environment.", id="credentials.W002")]
    return []
