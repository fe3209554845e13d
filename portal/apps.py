from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    default = True  # the app config of "portal" (PortalAdminConfig is listed by its path)
    name = "portal"
    verbose_name = "Portal shell"


class PortalAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the portal's site: sign-in through allauth, two-factor enforced
    (portal/admin_site.py). Listed in INSTALLED_APPS instead of "django.contrib.admin"."""

    default = False
    default_site = "portal.admin_site.PortalAdminSite"
