"""Shared dashboard links: tokens, password sessions, lockouts and the access log
(docs/dashboards.md, "Sharing").

* A token is 32 random bytes (256 bits), URL-safe; only its SHA-256 is stored, and a link is
  looked up by that hash. Unknown, private, expired, revoked and locked links are one answer.
* A password session is a signed cookie {dashboard, share_version} scoped to the link's own path;
  changing the visibility, the password or the token raises `share_version` and ends them all.
* Wrong passwords are counted per address (a keyed hash of the address, never the address):
  5 in 15 minutes lock that address out for 15 minutes; 50 in an hour on one link lock the link
  and the operator's Admins are told by email.
"""
import hashlib
import hmac
import ipaddress
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from dashboards.models import Dashboard, DashboardAccess
from portal import audit
from portal.permissions import Role

TOKEN_BYTES = 32
COOKIE = "dashboard_session"
COOKIE_MAX_AGE = 12 * 3600
ADDRESS_TRIES, ADDRESS_WINDOW = 5, timedelta(minutes=15)
LINK_TRIES, LINK_WINDOW = 50, timedelta(hours=1)
VIEWS_PER_MINUTE = 120  # per address and link: a wall screen refreshing every few seconds stays under it
_SALT = "dashboards.public-link"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def shared(token: str, now=None) -> Dashboard | None:
    """The dashboard a link shows right now, or None (unknown, private, expired, revoked, locked)."""
    now = now or timezone.now()
    if not token or len(token) > 100:
        return None
    dashboard = (Dashboard.objects.select_related("operator", "site")
                 .filter(token_hash=token_hash(token)).exclude(visibility=Dashboard.Visibility.PRIVATE).first())
    if dashboard is None or dashboard.is_expired(now) or dashboard.locked_at is not None:
        return None
    return dashboard


# --- addresses -----------------------------------------------------------------------------------
def anonymised(address: str) -> str:
    """What the access log shows: the network, not the host (IPv4 /24, IPv6 /48)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def address_key(address: str) -> str:
    """A keyed hash of who is asking: the IPv4 address, or the IPv6 /64 (one household or server
    holds a whole /64, so counting single IPv6 addresses would not limit anyone)."""
    try:
        ip = ipaddress.ip_address(address)
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        who = str(ip) if ip.version == 4 else str(ipaddress.ip_network(f"{ip}/64", strict=False))
    except ValueError:
        who = "unknown"
    return hmac.new(settings.SECRET_KEY.encode(), f"dashboard-address:{who}".encode(), hashlib.sha256).hexdigest()


def log(dashboard: Dashboard, address: str, browser: str, outcome: str, now=None) -> None:
    DashboardAccess.objects.create(dashboard=dashboard, at=now or timezone.now(), address=anonymised(address),
                                   address_key=address_key(address), browser=(browser or "")[:200], outcome=outcome)


def log_once_a_minute(dashboard: Dashboard, address: str, browser: str, outcome: str) -> None:
    """For refusals that repeat (too many requests): one row a minute per address, not one per request."""
    now = timezone.now()
    if not DashboardAccess.objects.filter(dashboard=dashboard, address_key=address_key(address), outcome=outcome,
                                          at__gt=now - timedelta(minutes=1)).exists():
        log(dashboard, address, browser, outcome, now)


ACCESS_LOG_DAYS = 180


def prune_access_log(now=None) -> int:
    """Access log rows older than ACCESS_LOG_DAYS go (daily, Celery beat): the log stays bounded."""
    now = now or timezone.now()
    return DashboardAccess.objects.filter(at__lt=now - timedelta(days=ACCESS_LOG_DAYS)).delete()[0]


def _count(dashboard, outcome, since, key=None) -> int:
    qs = DashboardAccess.objects.filter(dashboard=dashboard, outcome=outcome, at__gt=since)
    return (qs.filter(address_key=key) if key else qs).count()


def locked_out(dashboard: Dashboard, address: str, now=None) -> bool:
    now = now or timezone.now()
    return _count(dashboard, DashboardAccess.Outcome.WRONG_PASSWORD, now - ADDRESS_WINDOW,
                  address_key(address)) >= ADDRESS_TRIES


def too_many_views(dashboard: Dashboard, address: str, now=None) -> bool:
    now = now or timezone.now()
    recent = DashboardAccess.objects.filter(dashboard=dashboard, address_key=address_key(address),
                                            at__gt=now - timedelta(minutes=1))
    return recent.count() >= VIEWS_PER_MINUTE


# --- password sessions ---------------------------------------------------------------------------
def cookie_path(token: str) -> str:
    return f"/d/{token}/"


def session_value(dashboard: Dashboard) -> str:
    return signing.dumps({"d": dashboard.pk, "v": dashboard.share_version}, salt=_SALT, compress=False)


def has_session(dashboard: Dashboard, value: str | None) -> bool:
    if not value:
        return False
    try:
        data = signing.loads(value, salt=_SALT, max_age=COOKIE_MAX_AGE)
    except signing.BadSignature:
        return False
    return data == {"d": dashboard.pk, "v": dashboard.share_version}


def check_password(dashboard: Dashboard, username: str, password: str) -> bool:
    from django.contrib.auth.hashers import check_password as django_check

    # both compared every time: a wrong username takes as long as a wrong password
    name_ok = hmac.compare_digest(username.strip().casefold().encode(), dashboard.share_username.casefold().encode())
    password_ok = django_check(password, dashboard.share_password) if dashboard.share_password else False
    return name_ok and password_ok


def wrong_password(dashboard: Dashboard, address: str, browser: str, now=None) -> bool:
    """Log a wrong password; lock the link when it had 50 in the last hour. True when locked now."""
    now = now or timezone.now()
    log(dashboard, address, browser, DashboardAccess.Outcome.WRONG_PASSWORD, now)
    if _count(dashboard, DashboardAccess.Outcome.WRONG_PASSWORD, now - LINK_WINDOW) < LINK_TRIES:
        return False
    with transaction.atomic():
        if not Dashboard.objects.filter(pk=dashboard.pk, locked_at__isnull=True).update(locked_at=now):
            return False  # another request locked it first and told the Admins
        log(dashboard, address, browser, DashboardAccess.Outcome.LINK_LOCKED, now)
        audit.record(operator=dashboard.operator, actor=None, action="updated", item=dashboard,
                     changes={"locked_at": {"before": None, "after": now.isoformat()}}, verb="dashboard.link_locked")
        transaction.on_commit(lambda: _notify_admins(dashboard))
    return True


def _notify_admins(dashboard: Dashboard) -> None:
    from members.models import Membership

    emails = sorted(Membership.objects.active(timezone.now()).filter(operator_id=dashboard.operator_id,
                                                                     role=Role.ADMIN)
                    .values_list("user__email", flat=True))
    if emails:
        send_mail(
            subject=f"Shared dashboard “{dashboard.name}” locked after {LINK_TRIES} wrong passwords",
            message=(f"The password-protected link of the dashboard “{dashboard.name}” had {LINK_TRIES} wrong "
                     f"passwords within an hour and has been locked: it now answers “not available”.\n\n"
                     f"Open Dashboards › {dashboard.name} › Edit to set a new password or regenerate the link, "
                     f"which unlocks it. The access log shows the attempts."),
            from_email=None, recipient_list=emails)
