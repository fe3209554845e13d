from django.urls import path

from billing import views as billing_views
from operators import views

app_name = "operators"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("settings/", views.settings_edit, name="settings"),
    path("settings/e-invoicing/", billing_views.einvoicing, name="einvoicing"),
    path("bank-accounts/", views.bank_accounts, name="bank_accounts"),
    path("bank-accounts/<int:account_id>/", views.bank_account_detail, name="bank_account_detail"),
    path("bank-accounts/new/", views.bank_account_new, name="bank_account_new"),
    path("bank-accounts/<int:account_id>/make-default/", views.bank_account_make_default,
         name="bank_account_make_default"),
    path("bank-accounts/<int:account_id>/delete/", views.bank_account_delete, name="bank_account_delete"),
]
