"""Every write to credentials: one transaction, one audit event, `operator` and `actor` passed.

Audit events name the secret fields that were set or replaced but never hold their values
("[redacted]"); non-secret fields (ids, URLs, certificates summarised) are recorded as usual.
"""
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from credentials import catalogue, crypto
from credentials.models import Credential
from portal import audit
from portal.errors import Conflict, DomainError, NotAllowed

NAME_TAKEN = "You already have credentials with this name. Choose another name."


def _platform(slug: str) -> catalogue.Platform:
    platform = catalogue.get(slug)
    if platform is None:
        raise NotAllowed("This platform is not in the catalogue.")
    return platform


def _audit_value(f: catalogue.Field, value: str):
    if f.secret:
        return audit.REDACTED if value else None
    if f.kind == "pem_certificate" and value:
        return catalogue.describe_certificate(value)
    return value or None


def _encrypt(platform: catalogue.Platform, secrets: dict[str, str]) -> tuple[dict, dict]:
    tokens, hints = {}, {}
    for name, value in secrets.items():
        f = platform.field(name)
        tokens[name] = crypto.encrypt(value)
        hints[name] = f.mask(value)
    return tokens, hints


@transaction.atomic
def credential_create(*, operator, actor, platform: str, name: str, values: dict[str, str]) -> Credential:
    """Store new credentials. `values` are the platform's fields, already cleaned by the form;
    secret ones are encrypted here, empty optional ones dropped."""
    entry = _platform(platform)
    name = name.strip()
    if Credential.objects.filter(operator=operator, name=name).exists():
        raise Conflict(NAME_TAKEN, field="name")
    plain = {f.name: values[f.name] for f in entry.plain_fields if values.get(f.name)}
    tokens, hints = _encrypt(entry, {f.name: values[f.name] for f in entry.secret_fields if values.get(f.name)})
    try:
        with transaction.atomic():
            credential = Credential.objects.create(
                operator=operator, platform=entry.slug, name=name, values=plain, secrets=tokens,
                secret_hints=hints, created_by=actor,
            )
    except IntegrityError:
        raise Conflict(NAME_TAKEN, field="name") from None
    changes = {"platform": {"before": None, "after": entry.name}, "name": {"before": None, "after": name}}
    for f in entry.fields:
        value = _audit_value(f, values.get(f.name, ""))
        if value is not None:
            changes[f.name] = {"before": None, "after": value}
    audit.record(operator=operator, actor=actor, action="created", item=credential, parent=operator,
                 changes=changes, verb="credential.created")
    return credential


@transaction.atomic
def credential_update(*, operator, actor, credential_id: int, name: str, values: dict[str, str],
                      replacements: dict[str, str]) -> dict:
    """Change the name and non-secret fields and replace the secrets in `replacements` (an empty
    or missing entry keeps the stored secret). Returns the audit changes; {} when nothing changed."""
    credential = Credential.objects.select_for_update().filter(operator=operator, pk=credential_id).first()
    if credential is None:
        raise NotAllowed("These credentials do not exist.")
    entry = _platform(credential.platform)
    name = name.strip()
    if name != credential.name and Credential.objects.filter(operator=operator, name=name).exists():
        raise Conflict(NAME_TAKEN, field="name")

    changes = {}
    if name != credential.name:
        changes["name"] = {"before": credential.name, "after": name}
    plain = {f.name: values[f.name] for f in entry.plain_fields if values.get(f.name)}
    for f in entry.plain_fields:
        before, after = _audit_value(f, credential.values.get(f.name, "")), _audit_value(f, plain.get(f.name, ""))
        if before != after or credential.values.get(f.name) != plain.get(f.name):
            changes[f.name] = {"before": before, "after": after}
    replaced = {f.name: replacements[f.name] for f in entry.secret_fields if replacements.get(f.name)}
    tokens, hints = _encrypt(entry, replaced)
    for f in entry.secret_fields:
        if f.name in replaced:
            # Both sides redacted: the event says *that* the secret was replaced, never its value.
            changes[f.name] = {"before": audit.REDACTED if f.name in credential.secrets else None,
                               "after": audit.REDACTED}
    if not changes:
        return {}
    credential.name = name
    credential.values = plain
    credential.secrets = {**credential.secrets, **tokens}
    credential.secret_hints = {**credential.secret_hints, **hints}
    credential.updated_at = timezone.now()
    credential.updated_by = actor
    try:
        with transaction.atomic():
            credential.save(update_fields=["name", "values", "secrets", "secret_hints", "updated_at", "updated_by"])
    except IntegrityError:
        raise Conflict(NAME_TAKEN, field="name") from None
    audit.record(operator=operator, actor=actor, action="updated", item=credential, parent=operator,
                 changes=changes, verb="credential.secret_replaced" if replaced else "credential.updated")
    return changes


@transaction.atomic
def credential_delete(*, operator, actor, credential_id: int) -> Credential:
    credential = Credential.objects.select_for_update().filter(operator=operator, pk=credential_id).first()
    if credential is None:
        raise NotAllowed("These credentials do not exist.")
    entry = catalogue.get(credential.platform)
    changes = {"platform": {"before": credential.platform_name, "after": None},
               "name": {"before": credential.name, "after": None}}
    for f in entry.fields if entry else ():
        stored = credential.secrets.get(f.name) if f.secret else credential.values.get(f.name, "")
        if stored:
            changes[f.name] = {"before": audit.REDACTED if f.secret else _audit_value(f, stored), "after": None}
    audit.record(operator=operator, actor=actor, action="deleted", item=credential, parent=operator,
                 changes=changes, verb="credential.deleted")
    credential.delete()
    return credential


def credential_secrets(*, operator, credential_id: int) -> dict[str, str]:
    """The decrypted secrets, for the integration code that talks to the platform. Never for a page.
    Raises KeyUnavailable / Undecryptable (DomainErrors) when the keys do not fit."""
    credential = Credential.objects.filter(operator=operator, pk=credential_id).first()
    if credential is None:
        raise NotAllowed("These credentials do not exist.")
    return {name: crypto.decrypt(token) for name, token in credential.secrets.items()}


@dataclass
class RotationResult:
    credentials_reencrypted: int = 0
    secrets_reencrypted: int = 0
    already_current: int = 0
    failed: list[int] = field(default_factory=list)


def credentials_reencrypt(*, actor=None, dry_run: bool = False) -> RotationResult:
    """Re-encrypt every stored secret with the newest key (key rotation). Each credential is
    locked and saved in its own transaction with one audit event (no secret values); secrets that
    already use the newest key are left alone, so running it twice changes nothing the second
    time. Credentials none of the keys can decrypt are reported in `failed` and left untouched."""
    crypto.encrypt("")  # raises KeyUnavailable before touching anything
    result = RotationResult()
    for credential_id in Credential.objects.order_by("id").values_list("id", flat=True):
        with transaction.atomic():
            credential = Credential.objects.select_for_update().select_related("operator").filter(
                pk=credential_id).first()
            if credential is None:  # deleted meanwhile
                continue
            stale = [n for n, token in credential.secrets.items() if not crypto.uses_newest_key(token)]
            if not stale:
                result.already_current += 1
                continue
            try:
                tokens = {n: crypto.reencrypt(credential.secrets[n]) for n in stale}
            except DomainError:
                result.failed.append(credential.pk)
                continue
            result.credentials_reencrypted += 1
            result.secrets_reencrypted += len(stale)
            if dry_run:
                continue
            credential.secrets = {**credential.secrets, **tokens}
            credential.save(update_fields=["secrets"])
            audit.record(
                operator=credential.operator, actor=actor, action="updated", item=credential,
                parent=credential.operator, verb="credential.reencrypted",
                changes={"encryption_key": {"before": "an older key", "after": "the newest key"},
                         **{n: {"before": audit.REDACTED, "after": audit.REDACTED} for n in stale}},
            )
    return result
