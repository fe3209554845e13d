"""Payout reads; every function takes the operator, so no read can run unscoped."""
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from payouts.models import Payout, WalletAction


def payouts(*, operator):
    return (Payout.objects.filter(operator=operator).select_related("invoice", "batch")
            .order_by("-created_at", "-id"))


def payout(*, operator, payout_id):
    return payouts(operator=operator).filter(pk=payout_id).first()


def deposits_to_show(*, operator):
    """Deposits awaiting the platform's confirmation, and those rejected in the last 30 days."""
    since = timezone.now() - timedelta(days=30)
    return list(WalletAction.objects.filter(operator=operator, kind=WalletAction.Kind.DEPOSIT).filter(
        Q(state=WalletAction.State.PENDING) | Q(state=WalletAction.State.REJECTED, decided_at__gte=since))
        .select_related("actor").order_by("-created_at")[:20])
