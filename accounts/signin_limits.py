"""Limits on wrong passwords, designed so that nobody can lock anybody else out.

Every password attempt (sign-in at /accounts/login/ — also the admin's, which redirects there —
and re-authentication) is counted *before* the password is checked, and the count is given back
when the password is right; so the buckets count failures, and an attempt over a limit is refused
even with the right password ("Too many failed login attempts").

Which buckets an attempt is counted in depends on where it comes from
(`settings.PORTAL_LOGIN_FAILED_LIMITS`, allauth's rate syntax `amount/period/per`):

- from an unknown device:
    ``address``          all accounts from one client address (portal.client_ip),
    ``account_address``  one account from one client address,
    ``account``          one account from all unknown devices together: a ceiling against an
                         attacker spreading guesses over many addresses;
- from a known device (a browser holding a signed "known device" cookie for that account and
  its current password, set after a complete sign-in, two-factor step included):
    ``known_device``     one account from that one device, and nothing else.

So an attacker failing at address A is limited at A, does not stop the owner at address B, and
however many addresses the attacker uses, the owner's known device still gets in (it is slowed
down only by its own bucket, which only that device can fill). The counters live in Django's
cache — Redis when REDIS_URL is set — so they are shared by every worker and survive restarts.
Policy and figures: docs/security.md.
"""
from __future__ import annotations

import logging
import secrets
import time

from allauth.account.internal.userkit import filter_users_by_email
from allauth.core.internal import ratelimit as allauth_ratelimit
from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac

logger = logging.getLogger("portal.signin")

APP = "portal.signin"  # cache key namespace of these buckets
COOKIE_SALT = "portal.known-device"
MAX_ACCOUNTS_PER_DEVICE = 10


def login_key(credentials: dict) -> str:
    return (credentials.get("email") or credentials.get("username") or "").strip().lower()


def _limits() -> dict[str, str]:
    return settings.PORTAL_LOGIN_FAILED_LIMITS


def _account_tag(user) -> str:
    """What the cookie stores per account: a keyed hash of the account and its current password
    (Django's session hash), not the email. So a new password forgets every known device of the
    account (a stolen laptop), and an email address given up and taken by someone else does not
    make the old owner's browser a known device of the new account; a changed email keeps it."""
    return salted_hmac(COOKIE_SALT, f"{user.pk}:{user.get_session_auth_hash()}", algorithm="sha256").hexdigest()[:32]


def _accounts(login: str) -> list:
    """The accounts a sign-in with `login` could open (allauth's own look-up for the sign-in)."""
    return filter_users_by_email(login, for_login=True) if login else []


# --- The known-device cookie ------------------------------------------------------------------

def _read_cookie(request) -> dict:
    value = request.COOKIES.get(settings.PORTAL_KNOWN_DEVICE_COOKIE_NAME)
    if not value:
        return {}
    try:
        data = signing.loads(value, salt=COOKIE_SALT, max_age=settings.PORTAL_KNOWN_DEVICE_COOKIE_AGE)
    except signing.BadSignature:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("device"), str) or not isinstance(data.get("accounts"), dict):
        return {}
    return data


def known_device(request, login: str) -> str | None:
    """The device id if this browser completed a sign-in to the account `login` names, with its
    current password, before (and not too long ago)."""
    data = _read_cookie(request)
    if not data.get("accounts"):
        return None
    for user in _accounts(login):
        issued = data["accounts"].get(_account_tag(user))
        if isinstance(issued, int) and issued + settings.PORTAL_KNOWN_DEVICE_COOKIE_AGE >= time.time():
            return data["device"]
    return None


def remember_device(request, response, user) -> None:
    """Mark this browser as a known device of `user`'s account on `response`."""
    data = _read_cookie(request) or {"device": secrets.token_urlsafe(16), "accounts": {}}
    data["accounts"][_account_tag(user)] = int(time.time())
    # a shared computer: keep the most recent accounts only, so the cookie stays small
    newest = sorted(data["accounts"].items(), key=lambda item: item[1], reverse=True)
    data["accounts"] = dict(newest[:MAX_ACCOUNTS_PER_DEVICE])
    response.set_cookie(
        settings.PORTAL_KNOWN_DEVICE_COOKIE_NAME,
        signing.dumps(data, salt=COOKIE_SALT, compress=True),
        max_age=settings.PORTAL_KNOWN_DEVICE_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


# --- The buckets --------------------------------------------------------------------------------

def _buckets(request, login: str) -> list[tuple[str, str | None]]:
    """[(bucket name, key)] for one attempt; per-"ip" rates key on the client address themselves."""
    device = known_device(request, login)
    if device:
        return [("known_device", f"{login}|{device}")]
    address = allauth_ratelimit.get_ip(request)  # portal.client_ip via the adapter; IPv6 as /64
    return [("address", None), ("account_address", f"{login}|{address}"), ("account", login)]


def consume(request, credentials: dict) -> allauth_ratelimit.RateLimitUsage | None:
    """Count one password attempt; None when a bucket is full (the attempt must be refused).
    The usage returned is rolled back by the caller when the password turns out to be right."""
    login = login_key(credentials)
    usage = allauth_ratelimit.RateLimitUsage(usage=[])
    for bucket, key in _buckets(request, login):
        single = allauth_ratelimit.consume(
            request, app=APP, action=bucket, config=_limits(), key=key or login
        )
        if single is None:
            logger.warning("Sign-in limit reached: bucket %s, address %s", bucket,
                           allauth_ratelimit.get_ip(request))
            return None
        usage.usage.extend(single.usage)
    return usage


def clear_account(request, login: str) -> None:
    """After a successful password reset: the account's own buckets start again."""
    login = login.strip().lower()
    address = allauth_ratelimit.get_ip(request)
    for bucket, key in [("account_address", f"{login}|{address}"), ("account", login)]:
        allauth_ratelimit.clear(request, app=APP, action=bucket, config=_limits(), key=key)
