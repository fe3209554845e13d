"""Payout reads; every function takes the operator, so no read can run unscoped."""
from payouts.models import Payout


def payouts(*, operator):
    return (Payout.objects.filter(operator=operator).select_related("invoice", "batch")
            .order_by("-created_at", "-id"))


def payout(*, operator, payout_id):
    return payouts(operator=operator).filter(pk=payout_id).first()
