from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from charging.generator import sessions
from charging.models import Charge
from operators.models import Operator, WalletTransaction
from tests.factories import OperatorFactory


@pytest.mark.django_db
def test_generator_has_daily_and_weekly_patterns_and_failures():
    operator = OperatorFactory()
    rows = list(sessions(operator=operator, points=[(1, "ac", Decimal("22")), (2, "dc", Decimal("150"))],
                         days=364, per_point_per_day=6))
    local = timezone.localtime
    hours = Counter((local(r[4]).hour, r[1]) for r in rows)
    assert hours[(8, 1)] > 5 * hours[(3, 1)]  # AC: morning peak, quiet nights
    weekdays = Counter((local(r[4]).weekday() >= 5, r[1]) for r in rows)
    assert weekdays[(True, 1)] / 2 < 0.7 * weekdays[(False, 1)] / 5  # fewer AC sessions per weekend day
    assert weekdays[(True, 2)] / 2 > weekdays[(False, 2)] / 5  # more DC sessions per weekend day
    failed = [r for r in rows if r[3] == "failed"]
    assert 0.005 < len(failed) / len(rows) < 0.05 and all(r[7] == 0 and r[11] for r in failed)
    for r in rows:
        assert r[5].astimezone(UTC) >= r[4].astimezone(UTC) and r[8] == (r[7] / 5).quantize(Decimal("0.01"))
    # real lengths (in UTC), also across the two DST changes of the year: AC 90–420 min, DC 15–50
    lengths = {1: set(), 2: set()}
    for r in rows:
        if r[3] == "completed":
            lengths[r[1]].add((r[5].astimezone(UTC) - r[4].astimezone(UTC)).total_seconds() / 60)
    assert 90 <= min(lengths[1]) and max(lengths[1]) <= 420 and 15 <= min(lengths[2]) and max(lengths[2]) <= 50


@pytest.mark.django_db
def test_seed_demo_posts_a_year_of_charges_once(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    demo = Operator.objects.get(slug="demo")
    charges = Charge.objects.filter(operator=demo)
    paid = charges.filter(state="completed").exclude(price=0)
    assert charges.count() > 10_000 and charges.filter(state="failed").exists()
    assert {"ac", "dc"} == set(charges.values_list("charge_point__type", flat=True).distinct())
    income = WalletTransaction.objects.filter(operator=demo, kind="charge_income", reference__startswith="charge:")
    assert income.count() == paid.count()
    # Summed in Python: SQLite's SUM of a decimal column is a float sum (off in the 8th decimal).
    assert sum(income.values_list("amount", flat=True)) == sum(paid.values_list("price", flat=True))
    from charging.models import Export

    ready = Export.objects.get(operator=demo, state="done")  # the Exports page has a file to download
    assert ready.processed > 10_000  # the year of charges (later demo steps add a few more)
    assert ready.file and ready.size > 1_000_000
    before = (charges.count(), WalletTransaction.objects.count(), Export.objects.count())
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert (charges.count(), WalletTransaction.objects.count(), Export.objects.count()) == before


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["2026-03-29", "2026-10-25"])  # spring forward, fall back (Copenhagen)
def test_generator_sessions_across_a_dst_change_have_their_real_length(change):
    operator = OperatorFactory()
    end = timezone.make_aware(datetime.fromisoformat(change) + timedelta(days=1))
    rows = list(sessions(operator=operator, points=[(1, "ac", Decimal("22")), (2, "dc", Decimal("150"))],
                         days=1, per_point_per_day=400, end=end))
    night = [r for r in rows if r[3] == "completed" and timezone.localtime(r[4]).hour < 3]
    assert night  # sessions that start before the change and stop after it
    for r in night:
        minutes = (r[5].astimezone(UTC) - r[4].astimezone(UTC)).total_seconds() / 60
        assert (90 <= minutes <= 420) if r[1] == 1 else (15 <= minutes <= 50), (r[4], r[5])
