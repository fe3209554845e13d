"""The Charges list's totals (count, kWh, paid by drivers, VAT) from the rollups plus a live part,
exact to the cent, without reading every charge of the operator (docs/dashboards.md, "Totals").

* Days whose rollups are current are read from them: whole months from the month tables, the
  other days from the day tables. Without a site or charge point filter the segment tables are
  summed (any placement adds up to the same); with a site filter too, when every charge point's
  placement is current, else the charge point tables joined to each charge point's site today; a
  charge point filter reads that charge point's rows.
* Days marked dirty (`RollupDirty`: charges written, refresh not run yet) are summed live from
  the charges of those days, and their months are read day by day without them.
* A charge type or state filter is not in the rollups: those totals are summed live (over the
  date range, when one is given).

Definitions, the same on both paths: every charge counts (sessions, failed ones and credits);
the energy and money of failed charges do not (a failed session delivers and costs nothing).
"""
import hashlib
from datetime import date, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, Sum

from dashboards.models import ChargePointDay, ChargePointMonth, RollupDirty, RollupVersion, SegmentDay, SegmentMonth

ZERO = Decimal("0")
FIRST_DAY = date(1, 1, 1)  # a range without a start


def _month(d):
    return d.replace(day=1)


def _next_month(d):
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def live_sums(qs) -> dict:
    """The same figures summed over charges."""
    counted = ~Q(state="failed")
    row = qs.aggregate(count=Count("id"), kwh=Sum("consumed_kwh", filter=counted),
                       price=Sum("price", filter=counted), vat=Sum("vat_amount", filter=counted))
    return {k: (v if v is not None else (0 if k == "count" else ZERO)) for k, v in row.items()}


def _add(total, part):
    for key in total:
        total[key] += part[key]


CACHE_SECONDS = 600


def _state(operator_id, start, end) -> tuple:
    """(the rollups' version or None, the dirty days in [start, end]) in one statement, so that
    both come from the same moment."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 0, version, NULL FROM {RollupVersion._meta.db_table} WHERE operator_id = %s "
                       f"UNION ALL SELECT 1, NULL, day FROM {RollupDirty._meta.db_table} "
                       "WHERE operator_id = %s AND day BETWEEN %s AND %s", [operator_id, operator_id, start, end])
        rows = cursor.fetchall()
    version = next((r[1] for r in rows if r[0] == 0), None)
    dirty = sorted(r[2] if isinstance(r[2], date) else date.fromisoformat(r[2]) for r in rows if r[0] == 1)
    return version, dirty


def _sources(operator, filters, site_stale=None):
    """(month table, day table, condition, its parameters) of the rollup rows to sum for the
    filters."""
    from dashboards import rollups

    segments = (SegmentMonth._meta.db_table, SegmentDay._meta.db_table)
    points = (ChargePointMonth._meta.db_table, ChargePointDay._meta.db_table)
    if filters.get("charge_point"):
        point = filters["charge_point"]
        # with a site filter too, the list holds the charge point's charges only if it is at that site now
        if filters.get("site") and point.site_id != filters["site"].pk:
            return (*points, "1 = 0", [])
        return (*points, "operator_id = %s AND charge_point_id = %s", [operator.pk, point.pk])
    if filters.get("site"):
        site = filters["site"].pk
        if site_stale is None:
            site_stale = rollups._site_placement_stale(operator.pk, site)
        if site_stale:  # a move not refreshed yet
            return (*points, "operator_id = %s AND charge_point_id IN "
                             "(SELECT id FROM charging_chargepoint WHERE operator_id = %s AND site_id = %s)",
                    [operator.pk, operator.pk, site])
        return (*segments, "operator_id = %s AND site_key = %s", [operator.pk, site])
    return (*segments, "operator_id = %s", [operator.pk])


def _not_in(column, values):
    return (f" AND {column} NOT IN ({', '.join(['%s'] * len(values))})", list(values)) if values else ("", [])


_MEASURES = "sessions, failed, credits, kwh, revenue, vat"
_PLACES = {"kwh": Decimal("0.001"), "price": Decimal("0.01"), "vat": Decimal("0.01")}


def _decimal(value, key):
    """A sum as Decimal: PostgreSQL gives one; SQLite sums NUMERIC columns as numbers (as the
    ORM's converter does: the shortest repr, to the column's places)."""
    if value is None:
        return ZERO
    return (value if isinstance(value, Decimal) else Decimal(repr(value))).quantize(_PLACES[key])


def _rollup_sums(months, days, source) -> dict:
    """The sums of the month rows in `months` (from, before, excluded months) and of the day rows
    in `days` (ranges, excluded days): one statement, not an ORM aggregate per table (a third of
    the Charges page's totals was the ORM building them)."""
    month_table, day_table, where, params = source
    parts, args = [], []
    if months:
        first, before, excluded = months
        extra, extra_args = _not_in("month", sorted(excluded))
        parts.append(f"SELECT {_MEASURES} FROM {month_table} WHERE {where} AND month >= %s AND month < %s{extra}")
        args += [*params, first, before, *extra_args]
    if days:
        ranges, excluded = days
        extra, extra_args = _not_in("day", excluded)
        within = " OR ".join(["day BETWEEN %s AND %s"] * len(ranges))
        parts.append(f"SELECT {_MEASURES} FROM {day_table} WHERE {where} AND ({within}){extra}")
        args += [*params, *(d for r in ranges for d in r), *extra_args]
    if not parts:
        return {"count": 0, "kwh": ZERO, "price": ZERO, "vat": ZERO}
    with connection.cursor() as cursor:
        cursor.execute("SELECT SUM(sessions), SUM(failed), SUM(credits), SUM(kwh), SUM(revenue), SUM(vat) FROM ("
                       + " UNION ALL ".join(parts) + ") AS rows", args)
        sessions, failed, credits, kwh, price, vat = cursor.fetchone()
    return {"count": int(sessions or 0) + int(failed or 0) + int(credits or 0), "kwh": _decimal(kwh, "kwh"),
            "price": _decimal(price, "price"), "vat": _decimal(vat, "vat")}


def charge_totals(operator, filters, charges, site_stale=None) -> dict:
    """{"count", "kwh", "price", "vat"} of `charges` (the list's filtered queryset, built from
    `filters` by `charging.selectors.charges`). `site_stale`: `rollups.site_points` of the site
    filter, when the caller has read it."""
    from charging.selectors import _day_start

    if filters.get("type") or filters.get("state"):
        return live_sums(charges)
    start = filters.get("date_from") or FIRST_DAY
    end = filters.get("date_to") or date.max - timedelta(days=40)
    if start > end:
        return live_sums(charges.none())
    version, dirty = _state(operator.pk, start, end)
    dirty_months = {_month(d) for d in dirty}
    total = {"count": 0, "kwh": ZERO, "price": ZERO, "vat": ZERO}

    # whole months inside [start, end] whose days are all current
    first_full = start if start.day == 1 else _next_month(start)
    after_last = _next_month(end) if _next_month(end) - timedelta(days=1) == end else _month(end)
    months = (first_full, after_last, dirty_months) if first_full < after_last else None
    # the other days: the edges, and the months with a dirty day (without those days)
    day_ranges = []
    if first_full >= after_last:
        day_ranges.append((start, end))
    else:
        if start < first_full:
            day_ranges.append((start, first_full - timedelta(days=1)))
        if after_last <= end:
            day_ranges.append((after_last, end))
        for m in sorted(dirty_months):
            if first_full <= m < after_last:
                day_ranges.append((m, _next_month(m) - timedelta(days=1)))
    days = (day_ranges, dirty) if day_ranges else None
    source = _sources(operator, filters, site_stale)
    if version is None:
        _add(total, _rollup_sums(months, days, source))
    else:  # the rollup part, cached under the rollups' version (the same rows give the same sums)
        key = "charge-totals:" + hashlib.sha256(repr((operator.pk, version, months, days, source)).encode()).hexdigest()
        part = cache.get(key)
        if part is None:
            part = _rollup_sums(months, days, source)
            cache.set(key, part, CACHE_SECONDS)
        _add(total, part)
    # the dirty days, live
    if dirty:
        live = Q()
        for d in dirty:
            live |= Q(started_at__gte=_day_start(d), started_at__lt=_day_start(d + timedelta(days=1)))
        _add(total, live_sums(charges.filter(live)))
    return total
