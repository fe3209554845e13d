"""Django admin behind the portal's own sign-in: one way in, with the same two-factor step and
the same limits on wrong passwords as everybody else.

- The admin has no password form of its own: /admin/login/ sends the visitor to allauth's
  /accounts/login/?next=... (rate limits of accounts.signin_limits, then the two-factor step).
- The admin is refused to a session that has not passed two-factor authentication when the user
  has it enabled (e.g. a session older than the authenticator, or one opened some other way):
  the user is asked for a code again (allauth's MFA re-authentication) and then let in.
- With `settings.PORTAL_ADMIN_REQUIRE_MFA` (environment DJANGO_ADMIN_REQUIRE_MFA, on by default
  whenever DEBUG is off) staff without two-factor authentication cannot use the admin at all:
  they are sent to set up an authenticator app, with a message saying why.

Installed as the default admin site by portal.apps.PortalAdminConfig (INSTALLED_APPS).
"""
from __future__ import annotations

from urllib.parse import urlencode

from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

MFA_REQUIRED_MESSAGE = (
    "Two-factor authentication is required to use the admin: "
    "set up an authenticator app, then open the admin again."
)
MFA_AGAIN_MESSAGE = "Enter a code from your authenticator app to open the admin."


def session_passed_mfa(request) -> bool:
    """True when this session's sign-in (or a re-authentication since) included a second factor."""
    return any(r.get("method") == "mfa" for r in get_authentication_records(request, request.user))


def admin_mfa_problem(request) -> str | None:
    """Why this signed-in staff user may not use the admin yet: "setup", "verify" or None."""
    user = request.user
    if is_mfa_enabled(user):
        return None if session_passed_mfa(request) else "verify"
    return "setup" if settings.PORTAL_ADMIN_REQUIRE_MFA else None


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({REDIRECT_FIELD_NAME: next_url})}"


class PortalAdminSite(admin.AdminSite):
    site_header = "CPO Portal administration"
    site_title = "CPO Portal admin"

    def has_permission(self, request):
        return super().has_permission(request) and admin_mfa_problem(request) is None

    def admin_view(self, view, cacheable=False):
        """Every model admin's views: a change-list action posted with selected ids that are not
        ids of the model (``_selected_action=abc`` or empty) answered 500 from Django's
        `response_action`; it is refused with a message and the list shown again instead."""
        inner = super().admin_view(view, cacheable)
        model_admin = getattr(view, "__self__", None)
        if not isinstance(model_admin, admin.ModelAdmin):
            return inner

        def checked(request, *args, **kwargs):
            if request.method == "POST" and admin.helpers.ACTION_CHECKBOX_NAME in request.POST:
                pk = model_admin.model._meta.pk
                try:
                    for value in request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME):
                        if pk.to_python(value) in (None, ""):
                            raise ValidationError("empty")
                except (ValidationError, ValueError, TypeError):
                    if not self.has_permission(request):
                        return inner(request, *args, **kwargs)  # sign-in first, as any admin view
                    messages.error(request, "Those are not items of this list: select the items again.")
                    return redirect(request.get_full_path())
            return inner(request, *args, **kwargs)

        checked.__dict__.update(inner.__dict__)
        return checked

    def login(self, request, extra_context=None):
        """Every admin view redirects here when `has_permission` is False."""
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            next_url = reverse("admin:index", current_app=self.name)
        user = request.user
        if not user.is_authenticated:
            return redirect(_with_next(reverse("account_login"), next_url))
        if not (user.is_active and user.is_staff):
            raise PermissionDenied("This account may not use the admin.")
        problem = admin_mfa_problem(request)
        if problem == "setup":
            messages.warning(request, MFA_REQUIRED_MESSAGE)
            return redirect(_with_next(reverse("mfa_activate_totp"), next_url))
        if problem == "verify":
            messages.info(request, MFA_AGAIN_MESSAGE)
            return redirect(_with_next(reverse("mfa_reauthenticate"), next_url))
        return redirect(next_url)
