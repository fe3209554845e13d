"""Operator tenancy: one place loads the operator and the member's membership per request.

Every operator page lives under `/o/<operator_slug>/…` and is wrapped in `operator_view`, which

* sends anonymous users to sign in,
* answers 404 to anyone who is not an active member of that operator at this very instant
  (membership expiry is checked on every request, not by a nightly job), so other operators'
  existence does not leak,
* answers 403 when the member's role lacks the permission the view declares for the method,
* answers 405 for methods the view does not declare.

The declared permissions are kept on the view (`view.operator_permissions`) so the permission
matrix test can enumerate every URL and check it without a hand-written list.
"""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.utils import timezone

from portal.permissions import PERMISSIONS, permissions_for


def active_memberships(user, at=None) -> list:
    """The user's active memberships with their operators, by operator name: one query that
    serves both the tenancy check and the operator switcher of the layout."""
    from members.models import Membership

    return list(Membership.objects.active(at or timezone.now()).select_related("operator").filter(user=user)
                .order_by("operator__name", "operator_id"))


def active_membership(user, operator_slug, at=None, memberships=None):
    for membership in memberships if memberships is not None else active_memberships(user, at):
        if membership.operator.slug == operator_slug:
            return membership
    return None


def operator_view(**method_permissions):
    """Declare the permission each HTTP method needs, e.g.
    `@operator_view(GET="settings:read", POST="settings:write")`."""
    for method, permission in method_permissions.items():
        if permission not in PERMISSIONS:
            raise ValueError(f"{method}: unknown permission {permission!r}")
    allowed = {m.upper(): p for m, p in method_permissions.items()}
    if "GET" in allowed:
        allowed.setdefault("HEAD", allowed["GET"])

    def decorator(view):
        @wraps(view)
        def wrapped(request, operator_slug, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            request.my_memberships = active_memberships(request.user)
            membership = active_membership(request.user, operator_slug, memberships=request.my_memberships)
            if membership is None:
                raise Http404("No such operator")
            permission = allowed.get(request.method)
            if permission is None:
                return HttpResponseNotAllowed(sorted(allowed))
            perms = permissions_for(membership.role)
            if permission not in perms:
                raise PermissionDenied(f"Your role cannot do this ({permission}).")
            request.operator = membership.operator
            request.membership = membership
            request.operator_perms = perms
            return view(request, *args, **kwargs)

        wrapped.operator_permissions = dict(allowed)
        return wrapped

    return decorator
