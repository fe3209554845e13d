"""What each dashboard kind shows: charts, each with the table of its numbers (docs/dashboards.md).

Every figure of charging comes from the rollup tables (`dashboards.models`), brought up to date
first (`rollups.ensure_fresh`). A range is read as whole months from `ChargePointMonth` and the
days at either end from `ChargePointDay`, so a year costs twelve rows per charge point, not 365.
The filters (site, AC/DC, public/private charge points) join the charge point: what a charge point
is now decides where its history counts. Billing figures come from invoices and payouts, which
are few. Nothing here takes a value from a request: a dashboard's row says everything.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from charging.models import ChargePoint, Site
from dashboards.models import ChargePointDay, ChargePointHour, ChargePointMonth, Dashboard, FailureDay

ZERO = Decimal("0")
MEASURES = ("sessions", "failed", "credits", "kwh", "revenue", "vat", "fees", "duration_seconds",
            "roaming_sessions", "roaming_kwh", "roaming_revenue")
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


def measures(dashboard: Dashboard, start: date, end: date, by: str) -> dict:
    """{key: {measure: Σ}} over [start, end] for the dashboard's charge points, keyed `by`
    "month", "site" or "charge_point" (site keys are site ids, None for no site)."""
    sums = {m: Sum(m) for m in MEASURES}
    points = point_filter(dashboard, "charge_point__")
    whole, edges = _split(start, end)
    key = {"month": "period", "site": "charge_point__site_id", "charge_point": "charge_point_id"}[by]
    queries = []
    if whole:
        qs = ChargePointMonth.objects.filter(points, operator_id=dashboard.operator_id, month__in=whole)
        queries.append(qs.annotate(period=F("month")) if by == "month" else qs)
    for a, b in edges:
        qs = ChargePointDay.objects.filter(points, operator_id=dashboard.operator_id, day__range=(a, b))
        queries.append(qs.annotate(period=TruncMonth("day")) if by == "month" else qs)
    out: dict = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    for qs in queries:
        for row in qs.values(key).annotate(**sums).order_by():
            bucket = out[row[key]]
            for m in MEASURES:
                bucket[m] += row[m] or 0
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
    by_point = measures(dashboard, start, end, "charge_point")
    counts = points.aggregate(
        all=Count("id"), ac=Count("id", filter=Q(type="ac")), dc=Count("id", filter=Q(type="dc")),
        public=Count("id", filter=Q(visibility="public")), private=Count("id", filter=Q(visibility="private")))
    active = sum(1 for pk in points.values_list("id", flat=True) if by_point.get(pk, {}).get("sessions"))
    status = [{"group": label, "count": n} for label, n in (
        ("Active (charged in the range)", active), ("Inactive", counts["all"] - active),
        ("Public", counts["public"]), ("Private", counts["private"]), ("AC", counts["ac"]), ("DC", counts["dc"]))]
    by_site = measures(dashboard, start, end, "site")
    names = _site_names(dashboard.operator_id)
    per_site_points = dict(points.values("site_id").annotate(n=Count("id")).values_list("site_id", "n"))
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
    _fresh(dashboard.operator_id)
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
    by_point = measures(dashboard, start, end, "charge_point")
    counts = failures.values("charge_point_id").annotate(n=Sum("failed")).order_by("-n", "charge_point_id")[:10]
    names = dict(_points(dashboard).values_list("id", "name"))
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


def utilization(dashboard, start, end, currency):
    _fresh(dashboard.operator_id)
    points = _points(dashboard)
    n_points = points.count()
    hours = (ChargePointHour.objects.filter(point_filter(dashboard, "charge_point__"),
                                            operator_id=dashboard.operator_id, day__range=(start, end))
             .values("day", "hour").annotate(s=Sum("occupied_seconds")).order_by())
    occupied = defaultdict(int)
    for row in hours:
        occupied[(row["day"].weekday(), row["hour"])] += row["s"]
    weekdays = defaultdict(int)  # how often each weekday occurs in the range
    day = start
    while day <= end:
        weekdays[day.weekday()] += 1
        day += timedelta(days=1)
    heat = []
    for wd in range(7):
        row = {"weekday": WEEKDAYS[wd]}
        for h in range(24):
            row[f"h{h}"] = _pct(occupied[(wd, h)], n_points * weekdays[wd] * 3600)
        heat.append(row)
    by_site_hours = (ChargePointHour.objects.filter(point_filter(dashboard, "charge_point__"),
                                                    operator_id=dashboard.operator_id, day__range=(start, end))
                     .values("charge_point__site_id").annotate(s=Sum("occupied_seconds")).order_by())
    site_seconds = {r["charge_point__site_id"]: r["s"] for r in by_site_hours}
    site_points = dict(points.values("site_id").annotate(n=Count("id")).values_list("site_id", "n"))
    names = _site_names(dashboard.operator_id)
    span_seconds = ((end - start).days + 1) * 86400
    sites = sorted(({"site": names.get(s, "No site"), "points": n,
                     "occupancy": _pct(site_seconds.get(s, 0), n * span_seconds)} for s, n in site_points.items()),
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
