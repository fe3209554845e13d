"""Property test: random months of charges, credits and charge point changes. After the close of
two months, every settled invoice's total equals minus the sum of its linked ledger entries, an
open one is short by exactly its settlement, every fee entry is billed exactly once, lines add up,
the balance is the sum of the ledger, and a second close changes nothing."""
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import services
from billing.models import Invoice, InvoiceEntry
from operators.models import WalletTransaction
from operators.selectors import operator_balance
from tests.billing.conftest import at, charge, charge_points, deposit
from tests.factories import OperatorFactory

D = Decimal
OCT = at(2026, 10, 1).date()

month = st.fixed_dictionaries({
    "initial": st.integers(0, 14),
    "added": st.lists(st.integers(1, 30), max_size=3),
    "removed": st.lists(st.integers(1, 30), max_size=2),
    "charges": st.lists(st.tuples(st.integers(1, 30), st.integers(1, 50_000), st.booleans()), max_size=12),
    "deposit": st.integers(0, 200_000),
})


class Rollback(Exception):
    pass


@pytest.mark.django_db
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(months=st.lists(month, min_size=2, max_size=2))
def test_invoices_equal_their_linked_entries(billing_setup, months):
    try:
        with transaction.atomic():
            _scenario(months)
            raise Rollback
    except Rollback:
        pass


def _scenario(months):
    op = OperatorFactory()
    cps = charge_points(op, months[0]["initial"], created=at(2026, 9, 1))
    for n, spec in enumerate(months):
        m = 10 + n  # October, November
        for day in spec["added"]:
            cps += charge_points(op, 1, created=at(2026, m, day, 8))
        for day in spec["removed"]:
            victims = [cp for cp in cps if cp.created_at < at(2026, m, day) and not cp.charges.exists()]
            if victims:
                with time_machine.travel(at(2026, m, day, 18), tick=False):
                    victims[0].delete()
                cps.remove(victims[0])
        live = [cp for cp in cps if cp.pk]
        for day, cents, credited in spec["charges"]:
            if not live:
                break
            cp = live[day % len(live)]
            c = charge(op, cp, at(2026, m, day, 14), price=str(D(cents) / 100))
            if credited:
                charge(op, cp, at(2026, m, day, 20), price=str(-D(cents) / 100), credit_of=c)
        if spec["deposit"]:
            deposit(op, str(D(spec["deposit"]) / 100), when=at(2026, m, 28), ref=f"deposit:{m}")
        period = at(2026, m, 1).date()
        services.close_operator_month(operator=op, period=period, today=period + timedelta(days=40))

    ledger_before = list(WalletTransaction.objects.filter(operator=op).values_list("id", flat=True))
    for period in (OCT, at(2026, 11, 1).date()):
        services.close_operator_month(operator=op, period=period, today=at(2026, 12, 15).date())
    assert list(WalletTransaction.objects.filter(operator=op).values_list("id", flat=True)) == ledger_before

    fees = WalletTransaction.objects.filter(operator=op, kind="platform_fee")
    assert fees.filter(invoice_entry__isnull=True).count() == 0  # every fee billed, once (one-to-one)
    for invoice in Invoice.objects.filter(operator=op):
        lines = list(invoice.lines.all())
        assert invoice.net == sum((li.net for li in lines), D("0"))
        assert invoice.total == invoice.net + invoice.vat
        assert invoice.vat == (invoice.net * D("0.25")).quantize(D("0.01"), "ROUND_HALF_UP")
        linked = InvoiceEntry.objects.filter(invoice=invoice).aggregate(s=Sum("transaction__amount"))["s"] or 0
        fee_lines = sum((li.net for li in lines if li.kind == "platform_fee"), D("0"))
        fee_entries = fees.filter(invoice_entry__invoice=invoice).aggregate(s=Sum("amount"))["s"] or 0
        assert fee_lines == -fee_entries
        if invoice.status == "paid":
            assert linked == -invoice.total
        else:
            assert invoice.status == "issued"
            assert not WalletTransaction.objects.filter(reference=f"invoice-settlement:{invoice.pk}").exists()
    total = WalletTransaction.objects.filter(operator=op).aggregate(s=Sum("amount"))["s"] or D("0")
    assert operator_balance(operator=op) == total
