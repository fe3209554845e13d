from django.urls import path

from members import views

app_name = "members"

urlpatterns = [
    path("", views.member_list, name="list"),
    path("invite/", views.invite, name="invite"),
    path("<int:membership_id>/settings/", views.member_settings, name="settings"),
    path("<int:membership_id>/delete/", views.member_delete, name="delete"),
    path("<int:membership_id>/extend/", views.member_extend, name="extend"),
    path("invitations/<int:invitation_id>/resend/", views.invitation_resend, name="invitation_resend"),
    path("invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
]
