"""The invited person's pages (not under an operator: they are not a member yet)."""
from django.urls import path

from members import views

app_name = "invitations"

urlpatterns = [
    path("", views.my_invitations, name="mine"),
    path("<int:invitation_id>/answer/", views.invitation_respond, name="respond"),
    path("link/<str:token>/", views.invitation_link, name="link"),
]
