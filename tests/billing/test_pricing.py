"""Plan tiers (graduated), the plan in force, and charge point days."""
from datetime import date
from decimal import Decimal

import pytest
import time_machine

from billing import pricing
from tests.billing.conftest import NOV, at, charge_points, make_plan
from tests.factories import OperatorFactory

D = Decimal


@pytest.mark.parametrize("count,split,amount", [
    (0, [0, 0, 0], "0.00"),
    (1, [1, 0, 0], "50.00"),
    (10, [10, 0, 0], "500.00"),
    (11, [10, 1, 0], "540.00"),
    (50, [10, 40, 0], "2100.00"),
    (51, [10, 40, 1], "2130.00"),
    (200, [10, 40, 150], "6600.00"),
])
def test_graduated_tiers(db, count, split, amount):
    op = OperatorFactory()
    make_plan()
    _plan, tiers = pricing.plan_in_force(operator=op, period=NOV)
    assert pricing.split_by_tier(count, tiers) == split
    assert pricing.monthly_amount(count, tiers, "DKK") == D(amount)


@pytest.mark.django_db
def test_operator_plan_beats_the_default_and_valid_from_counts():
    op, other = OperatorFactory(), OperatorFactory()
    make_plan()
    make_plan(operator=op, tiers=((None, "35"),), valid_from=date(2026, 11, 1))
    make_plan(tiers=((None, "45"),), valid_from=date(2026, 12, 1))
    assert pricing.plan_in_force(operator=op, period=NOV)[1][0].unit_price == D("35")
    assert pricing.plan_in_force(operator=op, period=date(2026, 10, 1))[1][0].unit_price == D("50")  # own not yet
    assert pricing.plan_in_force(operator=other, period=NOV)[1][0].unit_price == D("50")
    assert pricing.plan_in_force(operator=other, period=date(2026, 12, 1))[1][0].unit_price == D("45")


@pytest.mark.django_db
def test_no_plan_no_subscription():
    op = OperatorFactory()
    charge_points(op, 3)
    assert pricing.subscription_lines(operator=op, period=NOV)[0] == []


@pytest.mark.django_db
def test_charge_point_days_count_the_day_added_and_the_day_removed():
    op = OperatorFactory()
    [early] = charge_points(op, 1, created=at(2026, 11, 30, 23, 30))  # local time: the last day of November
    [late] = charge_points(op, 1, created=at(2026, 12, 1, 0, 30))  # December: not counted
    [gone] = charge_points(op, 1, created=at(2026, 11, 5, 8))
    with time_machine.travel(at(2026, 11, 5, 20), tick=False):
        gone.delete()
    rows, days = pricing.charge_point_days(operator=op, period=NOV)
    assert days == 30
    assert sorted((r[0] == early.pk, r[5]) for r in rows) == [(False, 1), (True, 1)]
    assert late.pk not in [r[0] for r in rows]


def test_parse_month():
    assert pricing.parse_month("2026-11") == NOV
    for bad in ("2026-13", "nov", "", "2026"):
        with pytest.raises(ValueError):
            pricing.parse_month(bad)
