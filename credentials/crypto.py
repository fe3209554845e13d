"""Encryption of credential secrets at rest (cryptography's Fernet / MultiFernet).

The keys come only from the environment (`CREDENTIALS_ENCRYPTION_KEYS`, comma-separated, newest
first), never from the database. The first key encrypts; every key may decrypt, so a key can be
rotated: put a new key in front, run `manage.py rotate_credentials_key`, then drop the old key.

Problems with the keys are expected failures with a message an operator's staff can act on
(`KeyUnavailable`, `Undecryptable`, both `DomainError`s): the credentials pages show them, the rest
of the portal never touches this module.
"""
import base64
import binascii
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from portal.errors import DomainError

SETTING = "CREDENTIALS_ENCRYPTION_KEYS"
# The fixed, public key settings.py uses when DEBUG or tests run without CREDENTIALS_ENCRYPTION_KEYS
# (same derivation there). Anything encrypted with it is as good as plaintext.
DEVELOPMENT_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"cpo-portal development credentials key").digest()).decode()


class KeyUnavailable(DomainError):
    """No usable encryption key is configured: nothing can be encrypted or decrypted."""


class Undecryptable(DomainError):
    """A stored secret was encrypted with a key that is not (any more) configured."""


MISSING_MESSAGE = (
    "Credentials are unavailable: no encryption key is configured on this server. "
    f"A platform administrator must set {SETTING} (see docs/credentials.md)."
)
UNDECRYPTABLE_MESSAGE = (
    "A stored secret cannot be decrypted with the encryption keys configured on this server. "
    f"The key it was encrypted with is probably missing from {SETTING}: a platform administrator "
    "must add it back (see docs/credentials.md), or you can replace the secret."
)


def configured_keys() -> tuple[str, ...]:
    keys = getattr(settings, SETTING, None) or ()
    if isinstance(keys, str):
        keys = keys.split(",")
    return tuple(k.strip() for k in keys if k and k.strip())


def key_problem() -> str | None:
    """None when the keys are usable, else a message that never contains a key."""
    keys = configured_keys()
    if not keys:
        return MISSING_MESSAGE
    for position, key in enumerate(keys, start=1):
        if not _is_valid_key(key):
            return (
                f"Credentials are unavailable: key number {position} in {SETTING} is not a valid "
                "Fernet key (32 random bytes, url-safe base64, 44 characters). A platform "
                "administrator must correct it (see docs/credentials.md)."
            )
    return None


def _is_valid_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32 and len(key) == 44
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False


@lru_cache(maxsize=8)
def _fernets(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    fernets = [Fernet(k.encode("ascii")) for k in keys]
    return MultiFernet(fernets), fernets[0]


def _current() -> tuple[MultiFernet, Fernet]:
    problem = key_problem()
    if problem:
        raise KeyUnavailable(problem)
    return _fernets(configured_keys())


def encrypt(plaintext: str) -> str:
    """A Fernet token (ASCII) of `plaintext`, made with the newest key."""
    multi, _ = _current()
    return multi.encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    multi, _ = _current()
    try:
        return multi.decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        raise Undecryptable(UNDECRYPTABLE_MESSAGE) from None


def can_decrypt(token: str) -> bool:
    try:
        decrypt(token)
    except Undecryptable:
        return False
    return True


def uses_newest_key(token: str) -> bool:
    """Whether `token` was made with the newest (first) key."""
    _, newest = _current()
    try:
        newest.decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


def reencrypt(token: str) -> str:
    """The same plaintext encrypted with the newest key (MultiFernet.rotate)."""
    multi, _ = _current()
    try:
        return multi.rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise Undecryptable(UNDECRYPTABLE_MESSAGE) from None


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")
