"""The left menu and the Operator page's tabs, as the help centre names them.

Each entry: (label, url name, permission). An entry shows only when the member's role has the
permission, and only when its URL exists (so an app adds its entry here when it adds the view).
"""
from functools import lru_cache

from django.urls import NoReverseMatch, get_script_prefix, reverse

MENU = [
    ("Operator Overview", "operators:overview", "overview:read"),
    ("Sites", "charging:site_list", "charging:read"),
    ("Charge points", "charging:charge_point_list", "charging:read"),
    ("Charges", "charging:charge_list", "charging:read"),
    ("Wallet transactions", "charging:wallet", "wallet:read"),
    ("Payouts", "payouts:list", "payouts:read"),
    ("Exports", "charging:export_list", "charging:read"),
    ("Audit log", "portal:audit_log", "audit:read"),
]

OPERATOR_TABS = [
    ("Overview", "operators:overview", "overview:read"),
    ("Members & Access", "members:list", "members:read"),
    ("Billing & Support", "billing:index", "billing:read"),
    ("Credentials", "credentials:list", "credentials:read"),
    ("API keys", "api_keys:list", "api_keys:read"),
    ("Dashboards", "dashboards:list", "dashboards:read"),
]


_SLUG = "operator-slug-0"  # a stand-in the URL patterns accept, replaced by the real slug


@lru_cache(maxsize=512)
def _url_of(prefix, url_name):
    return reverse(url_name, args=[_SLUG])


def operator_url(url_name, slug):
    """reverse(url_name, args=[slug]) for a URL whose only argument is the operator slug: the
    pattern is reversed once per process, not ~20 times per page (the menu, the tabs, the
    operator switcher)."""
    return _url_of(get_script_prefix(), url_name).replace(_SLUG, slug, 1)


def _entries(spec, request):
    entries = []
    for label, url_name, permission in spec:
        if permission not in request.operator_perms:
            continue
        try:
            url = operator_url(url_name, request.operator.slug)
        except NoReverseMatch:
            continue
        entries.append({"label": label, "url": url, "active": False})
    # The entry whose URL is the longest prefix of the current path is the active one, so
    # /o/x/settings/ highlights "Overview" (/o/x/) and /o/x/members/5/ highlights "Members".
    matches = [e for e in entries if request.path.startswith(e["url"])]
    if matches:
        max(matches, key=lambda e: len(e["url"]))["active"] = True
    return entries


def navigation_for(request):
    return {"menu": _entries(MENU, request), "tabs": _entries(OPERATOR_TABS, request)}
