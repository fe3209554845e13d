"""Operator income on the wallet ledger.

Each completed charge with a price posts two entries, each with its own unique reference:

* `charge:<id>:income` (kind charge_income): the price the driver paid, VAT included, credited;
* `charge:<id>:fee` (kind platform_fee): the platform fee debited: the revenue percentage of that
  price plus the fixed fee per transaction, both from the fee schedule in force at the charge's
  stop time (`operators.selectors.fees_in_force`), converted to the wallet's currency, rounded
  once, half-up, to the currency's minor unit.

A credit (negative price, `credit_of` set) posts a negative income entry and gives back the
percentage part of the fee (the fixed fee per transaction is not refunded).

The unique (operator, reference) constraint makes posting idempotent: entries are inserted with
ON CONFLICT DO NOTHING, so a charge posts exactly once whoever posts it, however often.
"""
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from charging.bulk import insert_ignore
from operators.models import Fee, WalletTransaction
from operators.selectors import fees_in_force
from portal.money import quantize

# Units of each currency per 1 EUR, to convert fixed platform fees priced in another currency
# into the wallet's. Reference rates; a deployment overrides them with CHARGING_FX_RATES.
DEFAULT_FX_RATES = {"EUR": "1", "DKK": "7.46", "NOK": "11.70", "SEK": "11.20"}

LEDGER_FIELDS = ["operator", "created_at", "completed_at", "group", "kind", "state", "amount", "vat_amount",
                 "currency", "reference_type", "reference_id", "reference", "note"]


class FxMissing(Exception):
    pass


def convert(amount: Decimal, from_currency: str, to_currency: str) -> Decimal:
    if from_currency == to_currency:
        return amount
    rates = {**DEFAULT_FX_RATES, **getattr(settings, "CHARGING_FX_RATES", {})}
    try:
        return amount / Decimal(rates[from_currency]) * Decimal(rates[to_currency])
    except KeyError:
        raise FxMissing(f"No exchange rate from {from_currency} to {to_currency}.") from None


class FeeSchedule:
    """The fees in force per day, for one operator, looked up once per day (memoised)."""

    def __init__(self, operator):
        self.operator = operator
        self._by_day = {}

    def at(self, moment):
        day = timezone.localdate(moment)
        if day not in self._by_day:
            percentage, fixed, label = Decimal("0"), Decimal("0"), []
            for fee in fees_in_force(operator=self.operator, at=moment):
                if fee.kind == Fee.Kind.REVENUE_PERCENTAGE:
                    percentage = fee.percentage
                    label.append(f"{fee.percentage.normalize():f} %")
                elif fee.kind == Fee.Kind.TRANSACTION_FIXED:
                    fixed = convert(fee.amount, fee.currency, self.operator.currency)
                    label.append(f"{fee.amount:.2f} {fee.currency}")
            self._by_day[day] = (percentage, fixed, " + ".join(label))
        return self._by_day[day]


def postable(charge) -> bool:
    return charge.state == "completed" and charge.price != 0 and charge.stopped_at is not None


def entries_for(charge, *, operator, schedule: FeeSchedule) -> list[tuple]:
    """The ledger rows (LEDGER_FIELDS order) a charge posts: income, and the fee when there is one."""
    currency = operator.currency
    at = charge.stopped_at
    name = charge.external_id or str(charge.pk)
    is_credit = charge.credit_of_id is not None or charge.price < 0
    rows = [(operator.pk, at, at, "charge", WalletTransaction.Kind.CHARGE_INCOME, "complete",
             quantize(charge.price, currency), quantize(charge.vat_amount, currency), currency, "CHARGE",
             str(charge.pk), f"charge:{charge.pk}:income",
             f"{'Credit of charge' if is_credit else 'Charge'} {name}"[:255])]
    percentage, fixed, label = schedule.at(at)
    fee = charge.price * percentage / Decimal(100) + (Decimal("0") if is_credit else fixed)
    fee = quantize(fee, currency)
    if fee:
        rows.append((operator.pk, at, at, "charge", WalletTransaction.Kind.PLATFORM_FEE, "complete", -fee,
                     Decimal("0.00"), currency, "CHARGE", str(charge.pk), f"charge:{charge.pk}:fee",
                     (f"Platform fee refund ({label.split(' + ')[0]}) for {name}" if is_credit
                      else f"Platform fee {label} for {name}")[:255]))
    return rows


def post_charges(*, operator, charges, schedule: FeeSchedule | None = None) -> int:
    """Post the income and fee entries of `charges` (already saved). Safe to call again and from
    concurrent jobs: each entry exists at most once. Returns the number of entries inserted (on
    PostgreSQL; elsewhere the number attempted)."""
    schedule = schedule or FeeSchedule(operator)
    rows = []
    for charge in charges:
        if postable(charge):
            rows.extend(entries_for(charge, operator=operator, schedule=schedule))
    fields = [f if f != "operator" else "operator_id" for f in LEDGER_FIELDS]
    inserted = insert_ignore(WalletTransaction, fields, rows, returning=("id",))
    return len(inserted) if inserted or not rows else len(rows)
