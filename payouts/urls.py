from django.urls import path

from payouts import views

app_name = "payouts"

urlpatterns = [
    path("payouts/", views.payout_list, name="list"),
    path("payouts/<int:payout_id>/", views.payout_detail, name="detail"),
    path("wallet/deposit/", views.deposit, name="deposit"),
    path("wallet/withdraw/", views.withdraw, name="withdraw"),
    path("charges/<int:charge_id>/refund/", views.refund, name="refund"),
]
