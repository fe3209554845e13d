from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from api.api import api as partner_api
from dashboards import public as public_dashboards
from portal import views

# Every operator page lives under /o/<operator_slug>/ and is wrapped in portal.tenancy.operator_view.
OPERATOR = "o/<slug:operator_slug>/"

portal_operator_patterns = ([path("audit-log/", views.audit_log, name="audit_log")], "portal")

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("account/", account_views.my_account, name="my_account"),
    path(OPERATOR, include("operators.urls")),
    path(OPERATOR, include(portal_operator_patterns)),
    path(OPERATOR + "credentials/", include("credentials.urls")),
    path(OPERATOR + "members/", include("members.urls")),
    path(OPERATOR + "billing/", include("billing.urls")),
    path(OPERATOR, include("payouts.urls")),
    path("invitations/", include("members.invitation_urls")),
    path(OPERATOR + "api-keys/", include("api.urls")),
    # The partner API (token auth, no session): api/api.py
    path("api/v1/", partner_api.urls),
    path(OPERATOR, include("charging.urls")),
    path(OPERATOR + "dashboards/", include("dashboards.urls")),
    # Shared dashboard links: anonymous, apart from the portal (dashboards.public).
    path("d/<str:token>/", public_dashboards.public_dashboard, name="public_dashboard"),
    path("d/<str:token>/csv/", public_dashboards.public_csv, name="public_dashboard_csv"),
]
