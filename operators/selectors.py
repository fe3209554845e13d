"""Reads worth a name. Every function takes the operator, so no read can run unscoped."""
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from charging.models import ChargePoint
from operators.models import BankAccount, Fee, Operator, WalletTransaction


def operator_balance(*, operator: Operator) -> Decimal:
    """The balance is derived from the ledger: the sum of completed entries."""
    total = (
        WalletTransaction.objects.filter(operator=operator, state=WalletTransaction.State.COMPLETE)
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or Decimal("0.00")


def fees_in_force(*, operator: Operator, at=None) -> list[Fee]:
    """For each fee kind, the fee in force at `at`: the operator's own if it has one, else the
    platform default; the latest `valid_from` not after `at`. One query."""
    day = timezone.localdate(at) if at else timezone.localdate()
    candidates = (
        Fee.objects.filter(Q(operator=operator) | Q(operator__isnull=True), valid_from__lte=day)
        .order_by("kind", "-valid_from", "-id")
    )
    chosen: dict[str, Fee] = {}
    for fee in candidates:
        current = chosen.get(fee.kind)
        if current is None:
            chosen[fee.kind] = fee
        elif current.operator_id is None and fee.operator_id is not None:
            chosen[fee.kind] = fee  # an operator's own fee beats the default, whatever its date
    order = {k: i for i, k in enumerate(Fee.Kind.values)}
    return sorted(chosen.values(), key=lambda f: order[f.kind])


@dataclass(frozen=True)
class Overview:
    charge_point_count: int
    balance: Decimal
    currency: str
    fees: list


def operator_overview(*, operator: Operator) -> Overview:
    return Overview(
        charge_point_count=ChargePoint.objects.filter(operator=operator).count(),
        balance=operator_balance(operator=operator),
        currency=operator.currency,
        fees=fees_in_force(operator=operator),
    )


def bank_accounts(*, operator: Operator):
    return BankAccount.objects.filter(operator=operator).order_by("-is_default", "created_at", "id")
