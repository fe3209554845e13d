"""The left menu and the Operator page's tabs, as the help centre names them.

Each entry: (label, url name, permission). An entry shows only when the member's role has the
permission, and only when its URL exists (so an app adds its entry here when it adds the view).
"""
from django.urls import NoReverseMatch, reverse

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
    ("Dashboards", "dashboards:list", "dashboards:read"),
]


def _entries(spec, request):
    entries = []
    for label, url_name, permission in spec:
        if permission not in request.operator_perms:
            continue
        try:
            url = reverse(url_name, args=[request.operator.slug])
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
