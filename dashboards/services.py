"""Every write to dashboards: one transaction, the audit event, the sharing rules
(docs/dashboards.md). The views pass cleaned form data; the token of a new link is returned once
and never stored."""
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from dashboards import sharing
from dashboards.models import Dashboard
from portal import audit
from portal.errors import NotAllowed

DEFINITION = ("name", "kind", "site", "current_type", "charge_point_visibility", "range_kind", "last_days",
              "date_from", "date_to")


def _locked(operator, dashboard_id) -> Dashboard:
    dashboard = Dashboard.objects.select_for_update().filter(operator=operator, pk=dashboard_id).first()
    if dashboard is None:
        raise NotAllowed("This dashboard does not exist.")
    return dashboard


@transaction.atomic
def dashboard_create(*, operator, actor, data: dict) -> Dashboard:
    dashboard = Dashboard(operator=operator, created_by=actor if actor and actor.pk else None,
                          **{f: data[f] for f in DEFINITION if f in data})
    dashboard.save()
    audit.record(operator=operator, actor=actor, action="created", item=dashboard,
                 changes=audit.created_changes(dashboard, Dashboard.AUDIT_FIELDS), verb="dashboard.created")
    return dashboard


@transaction.atomic
def dashboard_update(*, operator, actor, dashboard_id: int, data: dict) -> tuple[Dashboard, str | None]:
    """Save the definition and the sharing settings. Returns the dashboard and, when a link was
    made now (first share, or shared again after "Stop sharing"), its token — shown once."""
    dashboard = _locked(operator, dashboard_id)
    before = audit.snapshot(dashboard, Dashboard.AUDIT_FIELDS)
    for f in DEFINITION:
        if f in data:
            setattr(dashboard, f, data[f])
    visibility = data.get("visibility", dashboard.visibility)
    ends_sessions = visibility != dashboard.visibility
    dashboard.visibility = visibility
    dashboard.expire_at = data.get("expire_at") if visibility != Dashboard.Visibility.PRIVATE else None
    token = None
    if visibility == Dashboard.Visibility.PASSWORD:
        username = data.get("share_username") or dashboard.share_username
        if not username:
            raise NotAllowed("Enter the username people will sign in with.", field="share_username")
        if data.get("share_password"):
            dashboard.share_password = make_password(data["share_password"])
            ends_sessions = True
            dashboard.locked_at = None  # a new password unlocks a locked link
        elif not dashboard.share_password:
            raise NotAllowed("Set a password for this link.", field="share_password")
        if username != dashboard.share_username:
            ends_sessions = True
        dashboard.share_username = username
    elif visibility == Dashboard.Visibility.PUBLIC:
        dashboard.share_username, dashboard.share_password = "", ""
    if visibility == Dashboard.Visibility.PRIVATE:
        # private ends the link itself: sharing again makes a new one, the old never comes back
        dashboard.token_hash, dashboard.token_hint = None, ""
        dashboard.share_username, dashboard.share_password, dashboard.locked_at = "", "", None
    elif not dashboard.token_hash:
        token = _new_link(dashboard)
    if ends_sessions:
        dashboard.share_version += 1
    dashboard.save()
    changes = audit.diff(before, audit.snapshot(dashboard, Dashboard.AUDIT_FIELDS))
    if changes:
        verb = "dashboard.visibility_changed" if "visibility" in changes else "dashboard.updated"
        audit.record(operator=operator, actor=actor, action="updated", item=dashboard, changes=changes, verb=verb)
    return dashboard, token


def _new_link(dashboard: Dashboard) -> str:
    token = sharing.new_token()
    dashboard.token_hash = sharing.token_hash(token)
    dashboard.token_hint = token[-4:]
    return token


@transaction.atomic
def dashboard_regenerate_link(*, operator, actor, dashboard_id: int) -> tuple[Dashboard, str]:
    """A new link; the old one answers "not available" at once, and its sessions end."""
    dashboard = _locked(operator, dashboard_id)
    if dashboard.visibility == Dashboard.Visibility.PRIVATE:
        raise NotAllowed("This dashboard is private: choose Public or Username & Password first.")
    before = audit.snapshot(dashboard, Dashboard.AUDIT_FIELDS)
    token = _new_link(dashboard)
    dashboard.share_version += 1
    dashboard.locked_at = None
    dashboard.save()
    audit.record(operator=operator, actor=actor, action="updated", item=dashboard,
                 changes={**audit.diff(before, audit.snapshot(dashboard, Dashboard.AUDIT_FIELDS)),
                          "link": {"before": "old link", "after": "new link"}}, verb="dashboard.link_regenerated")
    return dashboard, token


@transaction.atomic
def dashboard_stop_sharing(*, operator, actor, dashboard_id: int) -> Dashboard:
    dashboard = _locked(operator, dashboard_id)
    if dashboard.visibility == Dashboard.Visibility.PRIVATE:
        return dashboard
    dashboard, _ = dashboard_update(operator=operator, actor=actor, dashboard_id=dashboard_id,
                                    data={"visibility": Dashboard.Visibility.PRIVATE})
    return dashboard


@transaction.atomic
def dashboard_delete(*, operator, actor, dashboard_id: int) -> None:
    dashboard = _locked(operator, dashboard_id)
    audit.record(operator=operator, actor=actor, action="deleted", item=dashboard,
                 changes=audit.deleted_changes(dashboard, Dashboard.AUDIT_FIELDS), verb="dashboard.deleted")
    dashboard.delete()


def dashboard_viewed(dashboard: Dashboard) -> None:
    """Last viewed (portal or link), at most once a minute per dashboard to spare the row."""
    now = timezone.now()
    Dashboard.objects.filter(pk=dashboard.pk).exclude(last_viewed_at__gt=now - timezone.timedelta(minutes=1)) \
        .update(last_viewed_at=now)
