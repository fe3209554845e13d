"""Every write of the partner API's credentials: API keys (create, revoke) and their tokens
(client credentials → access + refresh token, single-use refresh with reuse detection)."""
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from api.models import ApiKey, ApiToken
from api.scopes import SCOPES
from portal import audit
from portal.errors import DomainError

SECRET_PREFIX = "cpo_sk_"  # a recognisable prefix: secret scanners can find a leaked secret
ACCESS_PREFIX = "cpo_at_"
REFRESH_PREFIX = "cpo_rt_"
ACCESS_LIFETIME = timedelta(hours=1)
REFRESH_LIFETIME = timedelta(hours=24)
MAX_NAME = 100


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class NewKey:
    key: ApiKey
    secret: str  # shown once, never stored


def key_create(*, operator, actor, name: str, scopes, expires_at: datetime | None = None) -> NewKey:
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the key a name.", field="name")
    if len(name) > MAX_NAME:
        raise DomainError(f"At most {MAX_NAME} characters.", field="name")
    scopes = list(dict.fromkeys(scopes or []))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise DomainError(f"Unknown scope: {', '.join(unknown)}.", field="scopes")
    if not scopes:
        raise DomainError("Choose at least one scope.", field="scopes")
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError("The expiry must be in the future.", field="expires_at")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            operator=operator, name=name, client_id="cpo_" + secrets.token_hex(12), secret_hash=digest(secret),
            secret_hint=secret[-4:], scopes=[s for s in SCOPES if s in scopes], expires_at=expires_at,
            created_by=actor)
        audit.record(operator=operator, actor=actor, action="created", item=key, verb="api_key.created",
                     changes=audit.diff({}, audit.snapshot(key, ApiKey.AUDIT_FIELDS)))
    return NewKey(key, secret)


def key_revoke(*, operator, actor, key_id: int) -> ApiKey:
    """End the key and every token issued for it, at once."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().filter(operator=operator, pk=key_id).first()
        if key is None:
            raise DomainError("No such API key.")
        if key.revoked_at is None:
            now = timezone.now()
            key.revoked_at, key.revoked_by, key.updated_at = now, actor, now
            key.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
            ApiToken.objects.filter(key=key, revoked_at__isnull=True).update(revoked_at=now)
            audit.record(operator=operator, actor=actor, action="updated", item=key, verb="api_key.revoked",
                         changes={"revoked_at": {"before": None, "after": now.isoformat()}})
    return key


# --- tokens -------------------------------------------------------------------------------------
class TokenRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Tokens:
    access: str
    refresh: str
    access_expires: datetime
    refresh_expires: datetime


def _issue(key, family) -> Tokens:
    now = timezone.now()
    access, refresh = ACCESS_PREFIX + secrets.token_urlsafe(32), REFRESH_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.bulk_create([
        ApiToken(key=key, kind=ApiToken.Kind.ACCESS, token_hash=digest(access), family=family, created_at=now,
                 expires_at=now + ACCESS_LIFETIME),
        ApiToken(key=key, kind=ApiToken.Kind.REFRESH, token_hash=digest(refresh), family=family, created_at=now,
                 expires_at=now + REFRESH_LIFETIME),
    ])
    return Tokens(access, refresh, now + ACCESS_LIFETIME, now + REFRESH_LIFETIME)


def _valid_text(value, limit=200) -> str:
    return value if isinstance(value, str) and value.isascii() and 0 < len(value) <= limit else ""


def token_for_credentials(*, client_id, client_secret, before_issue=None) -> Tokens:
    """`before_issue(key)`: called once the credentials are right, before any token is made (the
    key's rate limit: it may raise)."""
    client_id, client_secret = _valid_text(client_id), _valid_text(client_secret)
    key = ApiKey.objects.select_related("operator").filter(client_id=client_id).first() if client_id else None
    # the hash is compared in constant time; an unknown client id costs the same digest
    matches = hmac.compare_digest(key.secret_hash if key else digest("-"), digest(client_secret or "-"))
    if key is None or not client_secret or not matches or not key.usable():
        raise TokenRefused("CONSUMER_NOT_FOUND", "Consumer with given `clientId` and `clientSecret` not found")
    if before_issue is not None:
        before_issue(key)
    return _issue(key, uuid.uuid4())


def token_refresh(*, refresh_token, before_issue=None) -> Tokens:
    """Exchange a refresh token (once) for a new pair. A refresh token used twice means it leaked:
    every token of its family is revoked."""
    value = _valid_text(refresh_token)
    refused = TokenRefused("INVALID_REFRESH_TOKEN", "Invalid or expired `refreshToken`.")
    if not value:
        raise refused
    now = timezone.now()
    with transaction.atomic():
        token = (ApiToken.objects.select_for_update().select_related("key")
                 .filter(token_hash=digest(value), kind=ApiToken.Kind.REFRESH).first())
        if token is None:
            raise refused
        if token.used_at is not None or token.revoked_at is not None:
            # (the block ends normally so that the revocation is committed; refused below)
            ApiToken.objects.filter(family=token.family, revoked_at__isnull=True).update(revoked_at=now)
        elif token.expires_at <= now or not token.key.usable(now):
            raise refused
        else:
            if before_issue is not None:
                before_issue(token.key)  # (raising: the refresh token stays unused)
            token.used_at = now
            token.save(update_fields=["used_at"])
            return _issue(token.key, token.family)
    raise refused


def authenticate(access_token) -> ApiToken | None:
    """The live access token (with its key and operator) for a bearer value, or None."""
    value = _valid_text(access_token, 300)
    if not value:
        return None
    token = (ApiToken.objects.select_related("key", "key__operator")
             .filter(token_hash=digest(value), kind=ApiToken.Kind.ACCESS).first())
    now = timezone.now()
    if token is None or token.revoked_at is not None or token.expires_at <= now or not token.key.usable(now):
        return None
    return token


def note_use(key: ApiKey, ip: str | None):
    """Last used (time and address), written at most once a minute per key."""
    now = timezone.now()
    if key.last_used_at and now - key.last_used_at < timedelta(minutes=1) and key.last_used_ip == ip:
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip)
    key.last_used_at, key.last_used_ip = now, ip


def prune_tokens(at=None) -> int:
    """Delete tokens that expired more than a day ago (a used refresh token is kept until then, so
    that its reuse is still recognised and revokes its family). Returns how many."""
    cutoff = (at or timezone.now()) - timedelta(days=1)
    return ApiToken.objects.filter(expires_at__lt=cutoff).delete()[0]
