from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    default = True  # the app config of "portal" (PortalAdminConfig is listed by its path)
    name = "portal"
    verbose_name = "Portal shell"

    def ready(self):
        _refuse_nan_in_decimal_fields()


def _refuse_nan_in_decimal_fields():
    """Django's forms.DecimalField parses "sNaN" into a signalling NaN and refuses it only in
    validate(); the admin compares the value with the initial one first (`has_changed`), and
    comparing a signalling NaN raises InvalidOperation: a 500 on any admin form with a decimal
    field (found by the admin fuzz test: a plan tier's price "SNAN"). Every form in the portal
    and the admin goes through this parse, so a value that is not a finite number is refused
    there, with the field's own "Enter a number." message."""
    from django import forms

    parse = forms.DecimalField.to_python
    if getattr(parse, "_refuses_nan", False):
        return

    def to_python(self, value):
        number = parse(self, value)
        if number is not None and not number.is_finite():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number

    to_python._refuses_nan = True
    forms.DecimalField.to_python = to_python


class PortalAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the portal's site: sign-in through allauth, two-factor enforced
    (portal/admin_site.py). Listed in INSTALLED_APPS instead of "django.contrib.admin"."""

    default = False
    default_site = "portal.admin_site.PortalAdminSite"
