from django.urls import path

from charging import views

app_name = "charging"

urlpatterns = [
    path("sites/", views.site_list, name="site_list"),
    path("sites/new/", views.site_new, name="site_new"),
    path("sites/search/", views.site_search, name="site_search"),
    path("sites/<int:site_id>/edit/", views.site_edit, name="site_edit"),
    path("sites/<int:site_id>/delete/", views.site_delete, name="site_delete"),
    path("charge-points/", views.charge_point_list, name="charge_point_list"),
    path("charge-points/new/", views.charge_point_new, name="charge_point_new"),
    path("charge-points/import/", views.charge_point_import, name="charge_point_import"),
    path("charge-points/<int:charge_point_id>/", views.charge_point_detail, name="charge_point_detail"),
    path("charge-points/<int:charge_point_id>/edit/", views.charge_point_edit, name="charge_point_edit"),
    path("charge-points/<int:charge_point_id>/delete/", views.charge_point_delete, name="charge_point_delete"),
]
urlpatterns += [
    path("charges/", views.charge_list, name="charge_list"),
    path("charges/<int:charge_id>/", views.charge_detail, name="charge_detail"),
]
urlpatterns += [
    path("charges/import/", views.cdr_import_new, name="cdr_import_new"),
    path("charges/import/<int:import_id>/", views.cdr_import_detail, name="cdr_import_detail"),
    path("wallet/", views.wallet, name="wallet"),
]
urlpatterns += [
    path("exports/", views.export_list, name="export_list"),
    path("exports/new/", views.export_new, name="export_new"),
    path("exports/<int:export_id>/", views.export_detail, name="export_detail"),
    path("exports/<int:export_id>/download/", views.export_download, name="export_download"),
]
