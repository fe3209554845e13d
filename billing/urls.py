from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.index, name="index"),
    path("installer/", views.installer_settings, name="installer"),
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:invoice_id>/e-invoice/", views.invoice_einvoice, name="invoice_einvoice"),
]
