from django.urls import path

from credentials import views

app_name = "credentials"

urlpatterns = [
    path("", views.credential_list, name="list"),
    path("new/", views.select_platform, name="new"),
    path("new/<slug:platform>/", views.credential_new, name="new_for_platform"),
    path("<int:credential_id>/", views.credential_edit, name="edit"),
    path("<int:credential_id>/delete/", views.credential_delete, name="delete"),
]
