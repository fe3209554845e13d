from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.dashboard_list, name="list"),
    path("new/", views.dashboard_new, name="new"),
    path("<int:dashboard_id>/", views.dashboard_detail, name="detail"),
    path("<int:dashboard_id>/edit/", views.dashboard_edit, name="edit"),
    path("<int:dashboard_id>/csv/", views.dashboard_csv, name="csv"),
    path("<int:dashboard_id>/regenerate-link/", views.dashboard_regenerate, name="regenerate"),
    path("<int:dashboard_id>/stop-sharing/", views.dashboard_stop_sharing, name="stop_sharing"),
    path("<int:dashboard_id>/delete/", views.dashboard_delete, name="delete"),
    path("<int:dashboard_id>/access-log/", views.dashboard_access_log, name="access_log"),
]
