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
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum

from dashboards.models import ChargePointDay, ChargePointMonth, RollupDirty, SegmentDay, SegmentMonth

ZERO = Decimal("0")
FIRST_DAY = date(1, 1, 1)  # a range without a start


def _month(d):
    return d.replace(day=1)


def _next_month(d):
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def _rollup_sums(qs):
    row = qs.aggregate(sessions=Sum("sessions"), failed=Sum("failed"), credits=Sum("credits"), kwh=Sum("kwh"),
                       price=Sum("revenue"), vat=Sum("vat"))
    return {"count": (row["sessions"] or 0) + (row["failed"] or 0) + (row["credits"] or 0),
            "kwh": row["kwh"] or ZERO, "price": row["price"] or ZERO, "vat": row["vat"] or ZERO}


def live_sums(qs) -> dict:
    """The same figures summed over charges."""
    counted = ~Q(state="failed")
    row = qs.aggregate(count=Count("id"), kwh=Sum("consumed_kwh", filter=counted),
                       price=Sum("price", filter=counted), vat=Sum("vat_amount", filter=counted))
    return {k: (v if v is not None else (0 if k == "count" else ZERO)) for k, v in row.items()}


def _add(total, part):
    for key in total:
        total[key] += part[key]


def _sources(operator, filters):
    """(month queryset, day queryset) of the rows to sum for the filters."""
    from dashboards import rollups

    if filters.get("charge_point"):
        point = filters["charge_point"]
        # with a site filter too, the list holds the charge point's charges only if it is at that site now
        where = Q(operator_id=operator.pk, charge_point_id=point.pk)
        if filters.get("site") and point.site_id != filters["site"].pk:
            where = Q(pk__in=[])
        return ChargePointMonth.objects.filter(where), ChargePointDay.objects.filter(where)
    if filters.get("site"):
        if rollups._site_placement_stale(operator.pk, filters["site"].pk):  # a move not refreshed yet
            where = Q(operator_id=operator.pk, charge_point__site=filters["site"])
            return ChargePointMonth.objects.filter(where), ChargePointDay.objects.filter(where)
        where = Q(operator_id=operator.pk, site_key=filters["site"].pk)
        return SegmentMonth.objects.filter(where), SegmentDay.objects.filter(where)
    where = Q(operator_id=operator.pk)
    return SegmentMonth.objects.filter(where), SegmentDay.objects.filter(where)


def charge_totals(operator, filters, charges) -> dict:
    """{"count", "kwh", "price", "vat"} of `charges` (the list's filtered queryset, built from
    `filters` by `charging.selectors.charges`)."""
    from charging.selectors import _day_start

    if filters.get("type") or filters.get("state"):
        return live_sums(charges)
    start = filters.get("date_from") or FIRST_DAY
    end = filters.get("date_to") or date.max - timedelta(days=40)
    if start > end:
        return live_sums(charges.none())
    dirty = sorted(RollupDirty.objects.filter(operator_id=operator.pk, day__range=(start, end))
                   .values_list("day", flat=True))
    dirty_months = {_month(d) for d in dirty}
    months_qs, days_qs = _sources(operator, filters)
    total = {"count": 0, "kwh": ZERO, "price": ZERO, "vat": ZERO}

    # whole months inside [start, end] whose days are all current
    first_full = start if start.day == 1 else _next_month(start)
    after_last = _next_month(end) if _next_month(end) - timedelta(days=1) == end else _month(end)
    if first_full < after_last:
        _add(total, _rollup_sums(months_qs.filter(month__gte=first_full, month__lt=after_last)
                                 .exclude(month__in=dirty_months)))
    # the other days: the edges, and the months with a dirty day (without those days)
    day_ranges = Q()
    if first_full >= after_last:
        day_ranges |= Q(day__range=(start, end))
    else:
        if start < first_full:
            day_ranges |= Q(day__range=(start, first_full - timedelta(days=1)))
        if after_last <= end:
            day_ranges |= Q(day__range=(after_last, end))
        for m in dirty_months:
            if first_full <= m < after_last:
                day_ranges |= Q(day__range=(m, _next_month(m) - timedelta(days=1)))
    if day_ranges:  # (none: the range is whole months; an empty Q() would be every day)
        _add(total, _rollup_sums(days_qs.filter(day_ranges).exclude(day__in=dirty)))
    # the dirty days, live
    if dirty:
        live = Q()
        for d in dirty:
            live |= Q(started_at__gte=_day_start(d), started_at__lt=_day_start(d + timedelta(days=1)))
        _add(total, live_sums(charges.filter(live)))
    return total
