"""What each dashboard kind shows: charts, each with the table of its numbers (docs/dashboards.md).

Every figure of charging comes from the rollup tables (`dashboards.models`), brought up to date
first (`rollups.ensure_fresh`). A range is read as whole months from `SegmentMonth` and the days
at either end from `SegmentDay`: a year costs twelve rows per segment (site × AC/DC ×
public/private), whatever the number of charge points or charges. The filters are the segment's
columns: what a charge point is now decides where its history counts (a refresh moves the history
of a charge point that moved). Figures per charge point (active ones, the top failing) read the
charge point tables. Billing figures come from invoices and payouts, which
are few. Nothing here takes a value from a request: a dashboard's row says everything.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import ExtractIsoWeekDay, TruncMonth
from django.utils import timezone

from charging.models import ChargePoint, Site
from dashboards.models import (
    ChargePointDay,
    ChargePointHour,
    ChargePointMonth,
    Dashboard,
    FailureDay,
    NetworkHour,
    RollupPlacement,
    SegmentDay,
    SegmentMonth,
)

ZERO = Decimal("0")
POINT_MEASURES = ("sessions", "failed", "credits", "kwh", "revenue", "vat", "fees", "duration_seconds",
                  "roaming_sessions", "roaming_kwh", "roaming_revenue")
MEASURES = (*POINT_MEASURES, "occupied_seconds")  # segments also hold the occupied seconds
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_RANGE_DAYS = 3660  # ten years


@dataclass
class Column:
    key: str
    label: str
    fmt: str = "int"  # text, int, kwh, money, pct, minutes, month, day


@dataclass
class Chart:
    """One chart and the table beneath it: `rows` are dicts keyed by the columns' keys; the chart
    draws `series` (column keys) over the first column, the CSV is exactly the table."""

    key: str
    title: str
    columns: list[Column]
    rows: list[dict]
    series: list[str] = field(default_factory=list)
    style: str = "bars"  # bars, stacked, line, heatmap, table
    note: str = ""
    currency: str = ""


@dataclass
class View:
    dashboard: Dashboard
    start: date
    end: date
    charts: list[Chart]
    filters: list[str]


# --- range and filters ---------------------------------------------------------------------------
def date_range(dashboard: Dashboard, today: date | None = None) -> tuple[date, date]:
    """The inclusive days a dashboard shows, as saved: the last N days up to today, or two dates."""
    today = today or timezone.localdate()
    if dashboard.range_kind == Dashboard.Range.BETWEEN and dashboard.date_from and dashboard.date_to:
        return dashboard.date_from, dashboard.date_to
    days = min(max(dashboard.last_days or 30, 1), MAX_RANGE_DAYS)
    return today - timedelta(days=days - 1), today


def point_filter(dashboard: Dashboard, prefix: str = "") -> Q:
    q = Q()
    if dashboard.site_id:
        q &= Q(**{f"{prefix}site_id": dashboard.site_id})
    if dashboard.current_type:
        q &= Q(**{f"{prefix}type": dashboard.current_type})
    if dashboard.charge_point_visibility:
        q &= Q(**{f"{prefix}visibility": dashboard.charge_point_visibility})
    return q


def filter_labels(dashboard: Dashboard) -> list[str]:
    labels = [f"Site: {dashboard.site.name}" if dashboard.site_id else "All sites"]
    labels.append(dashboard.get_current_type_display())
    labels.append(f"{dashboard.get_charge_point_visibility_display()} charge points")
    return labels


def _month(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def months(start: date, end: date) -> list[date]:
    out, m = [], _month(start)
    while m <= end:
        out.append(m)
        m = _next_month(m)
    return out


def _split(start: date, end: date) -> tuple[list[date], list[tuple[date, date]]]:
    """Whole months inside [start, end], and the day ranges left at either end."""
    first_full = start if start.day == 1 else _next_month(start)
    after_last = _next_month(end) if _next_month(end) - timedelta(days=1) == end else _month(end)
    if first_full >= after_last:
        return [], [(start, end)]
    whole = months(first_full, after_last - timedelta(days=1))
    edges = []
    if start < first_full:
        edges.append((start, first_full - timedelta(days=1)))
    if after_last <= end:
        edges.append((after_last, end))
    return whole, edges


def _fresh(operator_id: int) -> None:
    from dashboards import rollups

    rollups.ensure_fresh(operator_id)


def segment_filter(dashboard: Dashboard) -> Q:
    q = Q(operator_id=dashboard.operator_id)
    if dashboard.site_id:
        q &= Q(site_key=dashboard.site_id)
    if dashboard.current_type:
        q &= Q(current_type=dashboard.current_type)
    if dashboard.charge_point_visibility:
        q &= Q(visibility=dashboard.charge_point_visibility)
    return q


def _add_rows(out, rows, key, names):
    for row in rows:
        bucket = out[row[key]]
        for m in names:
            bucket[m] += row[m] or 0


def measures(dashboard: Dashboard, start: date, end: date, by: str) -> dict:
    """{key: {measure: Σ}} over [start, end] for the dashboard's charge points, keyed `by`
    "month" or "site" (site keys are site ids, 0 for no site): whole months from `SegmentMonth`,
    the days at either end from `SegmentDay`."""
    sums = {m: Sum(m) for m in MEASURES}
    where = segment_filter(dashboard)
    whole, edges = _split(start, end)
    key = {"month": "period", "site": "site_key"}[by]
    queries = []
    if whole:
        qs = SegmentMonth.objects.filter(where, month__in=whole)
        queries.append(qs.annotate(period=F("month")) if by == "month" else qs)
    edge_days = Q()
    for a, b in edges:
        edge_days |= Q(day__range=(a, b))
    if edges:
        qs = SegmentDay.objects.filter(where, edge_days)
        queries.append(qs.annotate(period=TruncMonth("day")) if by == "month" else qs)
    out: dict = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    for qs in queries:
        _add_rows(out, qs.values(key).annotate(**sums).order_by(), key, MEASURES)
    return out


def _point_rows(dashboard: Dashboard, start: date, end: date):
    """The charge point rows covering [start, end]: (month querysets, day querysets)."""
    points = point_filter(dashboard, "charge_point__")
    whole, edges = _split(start, end)
    months_qs = ChargePointMonth.objects.filter(points, operator_id=dashboard.operator_id, month__in=whole)
    days_qs = [ChargePointDay.objects.filter(points, operator_id=dashboard.operator_id, day__range=(a, b))
               for a, b in edges]
    return ([months_qs] if whole else []), days_qs


def active_points(dashboard: Dashboard, start: date, end: date) -> int:
    """How many of the dashboard's charge points had a session in [start, end]. Each charge
    point's placement holds its first and last session day: one of them in the range decides it
    (the common case: a range that ends today), and only a charge point with sessions both before
    and after the range is looked up in its month and day rows (an indexed EXISTS)."""
    placed = RollupPlacement.objects.filter(segment_filter(dashboard))
    sure = placed.filter(Q(first_session_day__range=(start, end)) | Q(last_session_day__range=(start, end))).count()
    whole, edges = _split(start, end)
    inside = Q()
    if whole:
        inside |= Exists(ChargePointMonth.objects.filter(charge_point_id=OuterRef("charge_point_id"), month__in=whole,
                                                         sessions__gt=0))
    for a, b in edges:
        inside |= Exists(ChargePointDay.objects.filter(charge_point_id=OuterRef("charge_point_id"), day__range=(a, b),
                                                       sessions__gt=0))
    around = list(placed.filter(first_session_day__lt=start, last_session_day__gt=end)
                  .values_list("charge_point_id", flat=True))  # (none for a range that ends today)
    if not around:
        return sure
    return sure + placed.filter(inside, charge_point_id__in=around).count()


def point_measures(dashboard: Dashboard, start: date, end: date, ids) -> dict:
    """{charge point id: {measure: Σ}} over [start, end] for the charge points `ids` only."""
    sums = {m: Sum(m) for m in POINT_MEASURES}
    out: dict = defaultdict(lambda: dict.fromkeys(POINT_MEASURES, 0))
    month_qs, day_qs = _point_rows(dashboard, start, end)
    for qs in month_qs + day_qs:
        _add_rows(out, qs.filter(charge_point_id__in=list(ids)).values("charge_point_id").annotate(**sums)
                  .order_by(), "charge_point_id", POINT_MEASURES)
    return out


def _points(dashboard: Dashboard):
    return ChargePoint.objects.filter(point_filter(dashboard), operator_id=dashboard.operator_id)


def _site_names(operator_id: int) -> dict:
    return dict(Site.objects.filter(operator_id=operator_id).values_list("id", "name"))


def _pct(part, whole) -> Decimal:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1")) if whole else Decimal("0.0")


# --- the kinds -----------------------------------------------------------------------------------
def network(dashboard, start, end, currency):
    per_month = measures(dashboard, start, end, "month")
    points = _points(dashboard)
    created = {row["m"].date() if hasattr(row["m"], "date") else row["m"]: row["n"] for row in
               points.annotate(m=TruncMonth("created_at")).values("m").annotate(n=Count("id")).order_by()}
    tz_start = timezone.make_aware(datetime.combine(_month(start), time.min))
    total = points.filter(created_at__lt=tz_start).count()
    fleet_rows = []
    for m in months(start, end):
        total += created.get(m, 0)
        fleet_rows.append({"month": m, "new": created.get(m, 0), "total": total})
    activity = [{"month": m, "sessions": per_month[m]["sessions"], "kwh": per_month[m]["kwh"]}
                for m in months(start, end)]
    counts = points.aggregate(
        all=Count("id"), ac=Count("id", filter=Q(type="ac")), dc=Count("id", filter=Q(type="dc")),
        public=Count("id", filter=Q(visibility="public")), private=Count("id", filter=Q(visibility="private")))
    active = active_points(dashboard, start, end)
    status = [{"group": label, "count": n} for label, n in (
        ("Active (charged in the range)", active), ("Inactive", counts["all"] - active),
        ("Public", counts["public"]), ("Private", counts["private"]), ("AC", counts["ac"]), ("DC", counts["dc"]))]
    by_site = measures(dashboard, start, end, "site")
    names = _site_names(dashboard.operator_id)
    per_site_points = {s or 0: n for s, n in points.values("site_id").annotate(n=Count("id")).values_list("site_id", "n")}
    sites = sorted(({"site": names.get(s, "No site"), "points": per_site_points.get(s, 0),
                     "sessions": v["sessions"], "kwh": v["kwh"]}
                    for s, v in ((s, by_site.get(s, dict.fromkeys(MEASURES, 0))) for s in set(per_site_points)
                                 | set(by_site))), key=lambda r: (-r["sessions"], r["site"]))
    return [
        Chart("fleet", "Charge points per month", [Column("month", "Month", "month"), Column("new", "New"),
                                                   Column("total", "Total")], fleet_rows, ["total"],
              note="Charge points counted by when they were added; removed ones are not counted."),
        Chart("status", "Charge points", [Column("group", "", "text"), Column("count", "Charge points")],
              status, ["count"], style="hbars"),
        Chart("activity", "Sessions and kWh per month", [Column("month", "Month", "month"),
                                                         Column("sessions", "Sessions"), Column("kwh", "kWh", "kwh")],
              activity, ["sessions"]),
        Chart("sites", "Per site", [Column("site", "Site", "text"), Column("points", "Charge points"),
                                    Column("sessions", "Sessions"), Column("kwh", "kWh", "kwh")], sites,
              ["sessions"], style="hbars"),
    ]


def revenue(dashboard, start, end, currency):
    per_month = measures(dashboard, start, end, "month")
    rows, running = [], ZERO
    for m in months(start, end):
        v = per_month[m]
        running += v["revenue"]
        rows.append({"month": m, "revenue": v["revenue"], "vat": v["vat"], "fees": v["fees"],
                     "net": v["revenue"] - v["fees"], "running": running})
    names = _site_names(dashboard.operator_id)
    sites = sorted(({"site": names.get(s, "No site"), "sessions": v["sessions"], "revenue": v["revenue"],
                     "fees": v["fees"], "net": v["revenue"] - v["fees"]}
                    for s, v in measures(dashboard, start, end, "site").items()),
                   key=lambda r: (-r["revenue"], r["site"]))
    money = lambda key, label: Column(key, label, "money")  # noqa: E731
    return [
        Chart("revenue", "Revenue per month", [Column("month", "Month", "month"), money("revenue", "Revenue"),
                                               money("vat", "of which VAT"), money("fees", "Fees"),
                                               money("net", "Net income"), money("running", "Running total")],
              rows, ["revenue", "net"], note="Revenue is what drivers paid, VAT included, after credits and "
                                             "refunds; net income is revenue less the platform fees.",
              currency=currency),
        Chart("running", "Revenue, running total", [Column("month", "Month", "month"),
                                                    money("running", "Running total")],
              [{"month": r["month"], "running": r["running"]} for r in rows], ["running"], style="line",
              currency=currency),
        Chart("sites", "Revenue by site", [Column("site", "Site", "text"), Column("sessions", "Sessions"),
                                           money("revenue", "Revenue"), money("fees", "Fees"),
                                           money("net", "Net income")], sites, ["revenue"], style="hbars",
              currency=currency),
    ]


def invoices(dashboard, start, end, currency):
    from billing.models import Invoice
    from payouts.models import Payout

    span = months(start, end)
    issued = Invoice.objects.filter(operator_id=dashboard.operator_id, number__isnull=False,
                                    period__range=(_month(start), end))
    invoiced = dict(issued.values("period").annotate(s=Sum("total")).values_list("period", "s"))
    settled = defaultdict(lambda: ZERO)
    for paid_at, total in issued.filter(series="INV", paid_at__isnull=False).values_list("paid_at", "total"):
        settled[_month(timezone.localdate(paid_at))] += total
    paid_out = defaultdict(lambda: ZERO)
    for paid_at, amount in Payout.objects.filter(operator_id=dashboard.operator_id, state=Payout.State.PAID,
                                                 paid_at__isnull=False).values_list("paid_at", "amount"):
        if start <= timezone.localdate(paid_at) <= end:
            paid_out[_month(timezone.localdate(paid_at))] += amount
    rows = [{"month": m, "invoiced": invoiced.get(m, ZERO), "settled": settled.get(m, ZERO),
             "paid_out": paid_out.get(m, ZERO)} for m in span]
    return [Chart("billing", "Invoiced, settled and paid out per month",
                  [Column("month", "Month", "month"), Column("invoiced", "Invoiced", "money"),
                   Column("settled", "Settled", "money"), Column("paid_out", "Paid out", "money")],
                  rows, ["invoiced", "settled", "paid_out"],
                  note="Invoiced: invoices and credit notes of the month (VAT included). Settled: invoices "
                       "settled from the Operator balance in the month. Paid out: payouts paid to your bank "
                       "account in the month. The site and charge point filters do not apply to billing.",
                  currency=currency)]


def roaming(dashboard, start, end, currency):
    per_month = measures(dashboard, start, end, "month")
    rows = []
    for m in months(start, end):
        v = per_month[m]
        rows.append({"month": m, "own": v["sessions"] - v["roaming_sessions"], "roaming": v["roaming_sessions"],
                     "own_kwh": v["kwh"] - v["roaming_kwh"], "roaming_kwh": v["roaming_kwh"],
                     "own_revenue": v["revenue"] - v["roaming_revenue"], "roaming_revenue": v["roaming_revenue"],
                     "share": _pct(v["roaming_sessions"], v["sessions"])})
    return [
        Chart("sessions", "Roaming and own sessions per month",
              [Column("month", "Month", "month"), Column("own", "Own sessions"), Column("roaming", "Roaming sessions"),
               Column("share", "Roaming share", "pct")], rows, ["own", "roaming"], style="stacked"),
        Chart("energy", "kWh and revenue per month",
              [Column("month", "Month", "month"), Column("own_kwh", "Own kWh", "kwh"),
               Column("roaming_kwh", "Roaming kWh", "kwh"), Column("own_revenue", "Own revenue", "money"),
               Column("roaming_revenue", "Roaming revenue", "money")], rows, ["own_kwh", "roaming_kwh"],
              style="stacked", currency=currency),
    ]


def failed_sessions(dashboard, start, end, currency):
    failures = FailureDay.objects.filter(point_filter(dashboard, "charge_point__"),
                                         operator_id=dashboard.operator_id, day__range=(start, end))
    by_reason = dict(failures.values("reason").annotate(n=Sum("failed")).values_list("reason", "n"))
    top = sorted(by_reason, key=lambda r: (-by_reason[r], r))[:4]
    per_day = defaultdict(lambda: defaultdict(int))
    rest = object()  # the other reasons' bucket: never mixed up with a reason called "Other"
    for day, reason, n in failures.values("day", "reason").annotate(n=Sum("failed")).values_list("day", "reason", "n"):
        per_day[day][reason if reason in top else rest] += n
    reasons = top + ([rest] if len(by_reason) > len(top) else [])
    keys = {reason: f"r{i}" for i, reason in enumerate(reasons)}
    labels = {reason: "Other reasons" if reason is rest else reason for reason in reasons}
    rows = []
    day = start
    while day <= end:
        row = {"day": day, **{keys[r]: per_day[day][r] for r in reasons}}
        row["total"] = sum(per_day[day].values())
        rows.append(row)
        day += timedelta(days=1)
    counts = list(failures.values("charge_point_id").annotate(n=Sum("failed")).order_by("-n", "charge_point_id")[:10])
    ids = [c["charge_point_id"] for c in counts]
    by_point = point_measures(dashboard, start, end, ids)
    names = dict(ChargePoint.objects.filter(operator_id=dashboard.operator_id, id__in=ids).values_list("id", "name"))
    top_points = [{"charge_point": names.get(c["charge_point_id"], ""), "failed": c["n"],
                   "sessions": by_point.get(c["charge_point_id"], {}).get("sessions", 0),
                   "rate": _pct(c["n"], c["n"] + by_point.get(c["charge_point_id"], {}).get("sessions", 0))}
                  for c in counts]
    reason_rows = [{"reason": r, "failed": by_reason[r]} for r in sorted(by_reason, key=lambda r: (-by_reason[r], r))]
    return [
        Chart("per_day", "Failed sessions per day", [Column("day", "Day", "day"),
                                                     *[Column(keys[r], labels[r]) for r in reasons], Column("total", "Total")],
              rows, [keys[r] for r in reasons], style="stacked"),
        Chart("reasons", "Failed sessions by reason", [Column("reason", "Reason", "text"), Column("failed", "Failed")],
              reason_rows, ["failed"], style="hbars"),
        Chart("top", "Top failing charge points", [Column("charge_point", "Charge point", "text"),
                                                   Column("failed", "Failed"), Column("sessions", "Sessions"),
                                                   Column("rate", "Failure rate", "pct")], top_points, ["failed"],
              style="hbars"),
    ]


def _occupied_by_weekday_hour(dashboard, start, end) -> dict:
    """{(weekday 0–6, hour): occupied seconds} over [start, end]: from `NetworkHour` (at most 96
    rows a day), or for one site from its charge points' `ChargePointHour` rows."""
    if dashboard.site_id:
        qs = ChargePointHour.objects.filter(point_filter(dashboard, "charge_point__"),
                                            operator_id=dashboard.operator_id, day__range=(start, end))
    else:
        qs = NetworkHour.objects.filter(segment_filter(dashboard), day__range=(start, end))
    rows = qs.annotate(wd=ExtractIsoWeekDay("day")).values("wd", "hour").annotate(s=Sum("occupied_seconds")).order_by()
    return {(row["wd"] - 1, row["hour"]): row["s"] for row in rows}


def utilization(dashboard, start, end, currency):
    points = _points(dashboard)
    site_points = dict(points.values("site_id").annotate(n=Count("id")).values_list("site_id", "n"))
    n_points = sum(site_points.values())
    occupied = _occupied_by_weekday_hour(dashboard, start, end)
    weekdays = defaultdict(int)  # how often each weekday occurs in the range
    day = start
    while day <= end:
        weekdays[day.weekday()] += 1
        day += timedelta(days=1)
    heat = []
    for wd in range(7):
        row = {"weekday": WEEKDAYS[wd]}
        for h in range(24):
            row[f"h{h}"] = _pct(occupied.get((wd, h), 0), n_points * weekdays[wd] * 3600)
        heat.append(row)
    site_seconds = {s: v["occupied_seconds"] for s, v in measures(dashboard, start, end, "site").items()}
    names = _site_names(dashboard.operator_id)
    span_seconds = ((end - start).days + 1) * 86400
    sites = sorted(({"site": names.get(s, "No site"), "points": n,
                     "occupancy": _pct(site_seconds.get(s or 0, 0), n * span_seconds)} for s, n in site_points.items()),
                   key=lambda r: (-r["occupancy"], r["site"]))
    per_month = measures(dashboard, start, end, "month")
    sessions = [{"month": m, "sessions": v["sessions"],
                 "minutes": (Decimal(v["duration_seconds"]) / 60 / v["sessions"]).quantize(Decimal("1"))
                 if v["sessions"] else Decimal("0"),
                 "kwh": (Decimal(v["kwh"]) / v["sessions"]).quantize(Decimal("0.001")) if v["sessions"] else ZERO}
                for m, v in ((m, per_month[m]) for m in months(start, end))]
    return [
        Chart("heatmap", "Occupancy by hour of the week", [Column("weekday", "", "text"),
                                                          *[Column(f"h{h}", f"{h:02d}", "pct") for h in range(24)]],
              heat, [f"h{h}" for h in range(24)], style="heatmap",
              note="Share of the time the charge points were in use in each hour of the week, over the range."),
        Chart("sites", "Occupancy per site", [Column("site", "Site", "text"), Column("points", "Charge points"),
                                              Column("occupancy", "Occupancy", "pct")], sites, ["occupancy"],
              style="hbars"),
        Chart("sessions", "Average session per month", [Column("month", "Month", "month"),
                                                        Column("sessions", "Sessions"),
                                                        Column("minutes", "Average length (min)", "minutes"),
                                                        Column("kwh", "Average kWh", "kwh")], sessions, ["minutes"]),
    ]


KINDS = {
    Dashboard.Kind.NETWORK: network, Dashboard.Kind.REVENUE: revenue, Dashboard.Kind.INVOICES: invoices,
    Dashboard.Kind.ROAMING: roaming, Dashboard.Kind.FAILED: failed_sessions, Dashboard.Kind.UTILIZATION: utilization,
}


def dashboard_view(dashboard: Dashboard, today: date | None = None) -> View:
    start, end = date_range(dashboard, today)
    if dashboard.kind != Dashboard.Kind.INVOICES:
        _fresh(dashboard.operator_id)
    charts = KINDS[dashboard.kind](dashboard, start, end, dashboard.operator.currency)
    return View(dashboard, start, end, charts, filter_labels(dashboard))


def dashboards_for(operator):
    return Dashboard.objects.filter(operator=operator).select_related("site")


def dashboard_for(operator, dashboard_id: int) -> Dashboard | None:
    return dashboards_for(operator).select_related("operator").filter(pk=dashboard_id).first()
