"""Reads worth a name. Every function takes the operator, so no read can run unscoped."""
from credentials import crypto
from credentials.models import Credential


def credentials_for(*, operator):
    return (Credential.objects.filter(operator=operator)
            .select_related("created_by", "updated_by").order_by("name", "id"))


def credential(*, operator, credential_id: int) -> Credential | None:
    return credentials_for(operator=operator).filter(pk=credential_id).first()


def unreadable_secrets(*, credentials) -> dict[int, list[str]]:
    """{credential id: [secret field names]} for secrets the configured keys cannot decrypt.
    Empty when no key is configured at all (the pages report that separately)."""
    if crypto.key_problem():
        return {}
    found = {}
    for c in credentials:
        names = c.unreadable_secrets()
        if names:
            found[c.pk] = names
    return found
