from django.urls import path

from api import views

app_name = "api_keys"
urlpatterns = [
    path("", views.key_list, name="list"),
    path("new/", views.key_new, name="new"),
    path("<int:key_id>/revoke/", views.key_revoke, name="revoke"),
]
