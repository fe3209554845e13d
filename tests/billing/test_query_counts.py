"""The close costs the same number of queries per operator at 1 000 charges as at 10 (bench/
monthly_close.py measures the time)."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import services
from charging.ledger import post_charges
from charging.models import Charge
from tests.billing.conftest import CLOSE_DAY, NOV, at, charge_points, deposit
from tests.factories import OperatorFactory


def operator_with(charges: int):
    op = OperatorFactory()
    cps = charge_points(op, 10)
    rows = []
    for i in range(charges):
        stop = at(2026, 11, 1 + i % 30, 10) + timedelta(minutes=i % 600)
        rows.append(Charge(operator=op, charge_point=cps[i % 10], started_at=stop - timedelta(hours=1),
                           stopped_at=stop, price=Decimal("50.00"), vat_amount=Decimal("10.00"),
                           currency="DKK", external_id=f"Q-{op.pk}-{i}"))
    post_charges(operator=op, charges=Charge.objects.bulk_create(rows))
    deposit(op, "100000.00")
    return op


def queries_for_close(op):
    with CaptureQueriesContext(connection) as ctx:
        services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY)
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_close_query_count_is_constant(billing_setup):
    small, large = operator_with(10), operator_with(1000)
    assert queries_for_close(small) == queries_for_close(large)
    assert large.invoices.get().lines.get(kind="platform_fee").covers["entries"] == 1000
