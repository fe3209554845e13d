"""Demo dashboards: one of each kind for Demo Charging ApS, two of them shared (one public with an
expiry, one behind a username and password) with a few entries in their access logs."""
from datetime import timedelta

from django.utils import timezone

from charging.models import Site
from dashboards import services, sharing
from dashboards.models import Dashboard, DashboardAccess

DEMO_SHARE_PASSWORD = "city-council-2026"


def seed(ctx):
    operator = ctx["operators"]["demo"]
    admin = ctx["users"]["admin@demo.example"]
    if Dashboard.objects.filter(operator=operator).exists():
        return
    first_site = Site.objects.filter(operator=operator).order_by("name").first()
    boards = [
        ("Network overview", "network", {}),
        ("Revenue this year", "revenue", {"last_days": 365}),
        ("Invoices and payouts", "invoices", {"last_days": 365}),
        ("Roaming share", "roaming", {"last_days": 180}),
        ("Failed sessions, last 30 days", "failed_sessions", {"last_days": 30}),
        ("Utilization, last 4 weeks", "utilization", {"last_days": 28}),
        (f"{first_site.name} for the landlord" if first_site else "Site for the landlord", "network",
         {"site": first_site, "current_type": "ac"}),
    ]
    made = {}
    for name, kind, extra in boards:
        data = {"name": name, "kind": kind, "range_kind": "last_days", "last_days": 365, **extra}
        made[name] = services.dashboard_create(operator=operator, actor=admin, data=data)
    now = timezone.now()
    public, _ = services.dashboard_update(operator=operator, actor=admin, dashboard_id=made["Utilization, last 4 weeks"].pk,
                                          data={"visibility": "public", "expire_at": now + timedelta(days=90)})
    landlord = next(d for n, d in made.items() if n.endswith("for the landlord"))
    protected, _ = services.dashboard_update(operator=operator, actor=admin, dashboard_id=landlord.pk,
                                             data={"visibility": "password", "share_username": "landlord",
                                                   "share_password": DEMO_SHARE_PASSWORD})
    log = [(public, "viewed", "198.51.100.23", "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 (wall screen)", 26),
           (public, "viewed", "203.0.113.40", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1) Safari/604.1", 5),
           (protected, "wrong_password", "192.0.2.14", "Mozilla/5.0 (Windows NT 10.0) Firefox/133.0", 50),
           (protected, "signed_in", "192.0.2.14", "Mozilla/5.0 (Windows NT 10.0) Firefox/133.0", 49),
           (protected, "viewed", "192.0.2.14", "Mozilla/5.0 (Windows NT 10.0) Firefox/133.0", 49)]
    for dashboard, outcome, address, browser, hours_ago in log:
        DashboardAccess.objects.create(dashboard=dashboard, at=now - timedelta(hours=hours_ago),
                                       address=sharing.anonymised(address), address_key=sharing.address_key(address),
                                       browser=browser, outcome=outcome)
    Dashboard.objects.filter(pk__in=[public.pk, protected.pk]).update(last_viewed_at=now - timedelta(hours=5))
    ctx["log"](f"  dashboards: {len(made)} for {operator.name}; “{public.name}” shared publicly, “{protected.name}” "
               f"with username landlord / password {DEMO_SHARE_PASSWORD} (links are shown once: regenerate one "
               f"under Edit to open it)")
