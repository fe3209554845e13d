"""Realistic charging sessions, generated fast (tuples for COPY / bulk_create, no model per row).

Daily pattern: arrivals peak in the morning (AC at work) and late afternoon (DC on the way home);
weekly pattern: fewer AC sessions at weekends, more DC. About 2 % of sessions fail. Prices in the
operator's currency, VAT included (25 %), rounded half-up to the minor unit once.
"""
import random
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

# relative arrival weight per hour of the day
HOURS_AC = [1, 1, 1, 1, 1, 2, 6, 12, 14, 10, 6, 5, 5, 5, 5, 6, 8, 10, 9, 7, 5, 3, 2, 1]
HOURS_DC = [1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 8, 9, 10, 9, 9, 11, 13, 14, 12, 9, 7, 5, 3, 2]
WEEKDAY_AC = [1.0, 1.0, 1.0, 1.0, 0.95, 0.55, 0.45]
WEEKDAY_DC = [0.9, 0.85, 0.85, 0.9, 1.05, 1.25, 1.2]
TYPES = ["public"] * 14 + ["roaming"] * 3 + ["operator"] * 2 + ["sponsored"]
FAILURES = ["Vehicle communication error", "Authorisation rejected", "Ground fault", "Cable not locked"]
PRICE_PER_KWH = {"ac": Decimal("3.50"), "dc": Decimal("5.50")}  # DKK-like levels, VAT included
CENT = Decimal("0.01")

FIELDS = ["operator_id", "charge_point_id", "type", "state", "started_at", "stopped_at", "consumed_kwh", "price",
          "vat_amount", "currency", "external_id", "failure_reason", "created_at"]


def sessions(*, operator, points, days: int, per_point_per_day: float, end=None, seed=1, id_prefix="",
             newest_first=False):
    """Yield charge rows (FIELDS order) for `points` [(pk, "ac"|"dc", max_kw)] over `days` days
    ending at `end`. Deterministic for a given seed. `newest_first`: days from yesterday back,
    so a caller that stops at a row count keeps the recent days."""
    rng = random.Random(seed)
    tz = timezone.get_current_timezone()
    end = end or timezone.localtime().replace(minute=0, second=0, microsecond=0)
    first_day = (end - timedelta(days=days)).date()
    currency = operator.currency
    now = timezone.now()
    hours = {"ac": HOURS_AC, "dc": HOURS_DC}
    weekday = {"ac": WEEKDAY_AC, "dc": WEEKDAY_DC}
    n = 0
    for d in (reversed(range(days)) if newest_first else range(days)):
        day = first_day + timedelta(days=d)
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        for pk, kind, max_kw in points:
            rate = per_point_per_day * weekday[kind][day.weekday()]
            count = int(rate) + (1 if rng.random() < rate - int(rate) else 0)
            for hour in rng.choices(range(24), weights=hours[kind], k=count):
                n += 1
                # in UTC from here: arithmetic on a local time is wall-clock arithmetic, which
                # gives a session across a DST change the wrong length (or a stop before its start)
                start = (midnight + timedelta(hours=hour, minutes=rng.randrange(60))).astimezone(UTC)
                if start >= end:
                    continue
                kw = min(float(max_kw), 11.0 if kind == "ac" else rng.choice((50.0, 90.0, 120.0)))
                minutes = rng.randint(90, 420) if kind == "ac" else rng.randint(15, 50)
                if start + timedelta(minutes=minutes) > end:  # still charging: not a completed session yet
                    continue
                kind_of = rng.choice(TYPES)
                if rng.random() < 0.02:
                    yield (operator.pk, pk, kind_of, "failed", start, start + timedelta(minutes=rng.randint(0, 3)),
                           Decimal("0.000"), Decimal("0.00"), Decimal("0.00"), currency, f"{id_prefix}{n}",
                           rng.choice(FAILURES), now)
                    continue
                kwh = Decimal(round(kw * minutes / 60 * rng.uniform(0.55, 0.95), 3)).quantize(Decimal("0.001"))
                price = Decimal("0.00") if kind_of == "operator" else (kwh * PRICE_PER_KWH[kind]).quantize(
                    CENT, ROUND_HALF_UP)
                vat = (price / 5).quantize(CENT, ROUND_HALF_UP)  # 25 % VAT included: a fifth of the price
                yield (operator.pk, pk, kind_of, "completed", start, start + timedelta(minutes=minutes), kwh, price,
                       vat, currency, f"{id_prefix}{n}", "", now)
