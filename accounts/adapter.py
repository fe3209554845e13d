from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied

from accounts import signin_limits
from portal.client_ip import client_ip


class AccountAdapter(DefaultAccountAdapter):
    """The single extension point for sign-up and sign-in behaviour (see django-allauth)."""

    def clean_email(self, email):
        return super().clean_email(email).lower()

    def get_client_ip(self, request):
        # The same address the audit log records (X-Forwarded-For only from trusted proxies);
        # allauth's rate limits key on it.
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

    def pre_authenticate(self, request, **credentials):
        # Replaces allauth's single "login_failed" bucket (which let anyone lock anyone out)
        # by the per-address / per-account+address / known-device buckets of signin_limits.
        # allauth's authenticate() rolls `_login_failed_rl_usage` back when the password is right.
        self._login_failed_rl_usage = signin_limits.consume(request, credentials)
        if not self._login_failed_rl_usage:
            raise self.validation_error("too_many_login_attempts")

    def _delete_login_attempts_cached_email(self, request, **credentials):
        # allauth calls this after a successful password reset (itself rate limited).
        super()._delete_login_attempts_cached_email(request, **credentials)
        signin_limits.clear_account(request, signin_limits.login_key(credentials))

    def post_login(self, request, user, **kwargs):
        # Called once every stage of the sign-in is done, two-factor step included: from now
        # on this browser is a known device of the account (its own, looser limit bucket).
        response = super().post_login(request, user, **kwargs)
        if response is not None and hasattr(response, "set_cookie"):
            signin_limits.remember_device(request, response, user)
        return response
