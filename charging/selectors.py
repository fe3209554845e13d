"""Reads for the charging pages. Every function takes the operator; list querysets carry the joins
their page needs, so a page costs the same number of queries at any size."""
from datetime import datetime, time
from decimal import Decimal

from django.db.models import Count, OuterRef, Prefetch, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from charging.models import CdrImport, Charge, ChargePoint, Connector, Site
from operators.models import WalletTransaction


def _day_start(day):
    return datetime.combine(day, time.min, timezone.get_current_timezone())


def _next_day_start(day):
    from datetime import timedelta

    return _day_start(day + timedelta(days=1))


def sites(*, operator, filters=None):
    # the count as a subquery: evaluated for the page's rows only, not grouped over every site
    points = (ChargePoint.objects.filter(site=OuterRef("pk")).order_by().values("site")
              .annotate(n=Count("id")).values("n"))
    qs = Site.objects.filter(operator=operator).annotate(charge_point_count=Coalesce(Subquery(points), 0))
    filters = filters or {}
    if filters.get("q"):
        q = filters["q"]
        qs = qs.filter(Q(name__icontains=q) | Q(street__icontains=q) | Q(city__icontains=q)
                       | Q(postcode__icontains=q))
    if filters.get("visibility"):
        qs = qs.filter(visibility=filters["visibility"])
    return qs.order_by("name", "id")


def site(*, operator, site_id):
    return Site.objects.filter(operator=operator, pk=site_id).first()


def charge_points(*, operator, filters=None):
    qs = (ChargePoint.objects.filter(operator=operator).select_related("site")
          .prefetch_related(Prefetch("connectors", queryset=Connector.objects.order_by("id"))))
    filters = filters or {}
    if filters.get("q"):
        q = filters["q"]
        qs = qs.filter(Q(name__icontains=q) | Q(evse_id__icontains=q) | Q(serial_number__icontains=q))
    for name in ("site", "state", "type", "visibility"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    return qs.order_by("name", "id")


def charge_point(*, operator, charge_point_id):
    return (ChargePoint.objects.filter(operator=operator, pk=charge_point_id).select_related("site")
            .prefetch_related("connectors").first())


def charges(*, operator, filters=None, site_points=None):
    """`site_points`: the site filter's charge point ids, when the caller has read them already."""
    qs = Charge.objects.filter(operator=operator)
    filters = filters or {}
    if filters.get("date_from"):
        qs = qs.filter(started_at__gte=_day_start(filters["date_from"]))
    if filters.get("date_to"):
        qs = qs.filter(started_at__lt=_next_day_start(filters["date_to"]))
    if filters.get("site"):
        # the site's charge point ids first (one small query), not a join: with the join PostgreSQL
        # walked the operator's charges newest first, looking each one's charge point up, until 50
        # were at the site (22 000 rows, 63 ms at 500 sites); with the ids it filters the index scan
        # itself (19 ms); the list's page reads each charge point's index range on its own
        # (portal.pagination._rows: 1 ms)
        if site_points is None:
            site_points = list(ChargePoint.objects.filter(operator=operator, site=filters["site"])
                               .order_by("pk").values_list("pk", flat=True))
        qs = qs.filter(charge_point_id__in=site_points)
    if filters.get("charge_point"):
        qs = qs.filter(charge_point=filters["charge_point"])
    for name in ("type", "state"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    return qs.order_by("-started_at", "-id")


# what a row of the charges table shows (charging/tables.py): the rest of the three rows' columns
# is not read or turned into model fields (50 charges, their charge points and sites per page)
ROW_FIELDS = ("id", "operator_id", "charge_point_id", "type", "state", "started_at", "stopped_at", "consumed_kwh",
              "price", "vat_amount", "currency", "external_id", "failure_reason", "credit_of_id",
              "charge_point__id", "charge_point__name", "charge_point__site_id",
              "charge_point__site__id", "charge_point__site__name")


def charges_for_page(qs):
    return qs.select_related("charge_point", "charge_point__site").only(*ROW_FIELDS)


def charge_totals(*, operator, filters, charges, site_stale=None) -> dict:
    """The totals above the Charges list: from the rollups and a live part (dashboards/totals.py)."""
    from dashboards.totals import charge_totals as from_rollups

    return from_rollups(operator, filters or {}, charges, site_stale)


def site_points(*, operator, site) -> tuple[list, bool]:
    """The site's charge point ids, and whether its rollups wait for a move (dashboards.rollups)."""
    from dashboards.rollups import site_points as read

    return read(operator.pk, site.pk)


def recent_charges(*, operator, charge_point, limit=20):
    return list(Charge.objects.filter(operator=operator, charge_point=charge_point)
                .order_by("-started_at", "-id")[:limit])


def cdr_imports(*, operator):
    return CdrImport.objects.filter(operator=operator).select_related("created_by").order_by("-created_at", "-id")


def cdr_import(*, operator, import_id):
    return CdrImport.objects.filter(operator=operator, pk=import_id).first()


# --- Wallet ------------------------------------------------------------------------------------------
def wallet_transactions(*, operator, filters=None):
    qs = WalletTransaction.objects.filter(operator=operator)
    filters = filters or {}
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("date_from"):
        qs = qs.filter(created_at__gte=_day_start(filters["date_from"]))
    if filters.get("date_to"):
        qs = qs.filter(created_at__lt=_next_day_start(filters["date_to"]))
    return qs.order_by("-created_at", "-id")


def _after(entry):
    """Ledger entries after `entry` in ledger order (created_at, id)."""
    return Q(created_at__gt=entry.created_at) | Q(created_at=entry.created_at, id__gt=entry.id)


def _before(entry):
    return Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, id__lt=entry.id)


def with_running_balance(*, operator, entries: list, balance: Decimal) -> list:
    """Set `balance_after` on each of `entries` (one page, newest first): the wallet balance right
    after that entry, over *all* completed entries (whatever the page's filters). One query: the
    sum of entries newer than the page's first row, and of the entries between consecutive rows
    that the filters hid."""
    if not entries:
        return entries
    complete = WalletTransaction.objects.filter(operator=operator, state=WalletTransaction.State.COMPLETE)
    sums = {"newer": Sum("amount", filter=_after(entries[0]))}
    for i, (upper, lower) in enumerate(zip(entries, entries[1:], strict=False)):
        sums[f"gap{i}"] = Sum("amount", filter=_before(upper) & _after(lower))
    result = complete.filter(_after(entries[-1])).aggregate(**sums)
    running = balance - (result["newer"] or Decimal("0"))
    for i, entry in enumerate(entries):
        entry.balance_after = running
        if entry.state == WalletTransaction.State.COMPLETE:
            running -= entry.amount
        if i < len(entries) - 1:
            running -= result[f"gap{i}"] or Decimal("0")
    return entries


def wallet_rows_for_export(*, operator, filters):
    """(entry, balance after) in ledger order (oldest first) for the CSV export, streamed: the
    running balance starts from the balance before the date range."""
    filters = filters or {}
    complete = WalletTransaction.State.COMPLETE
    all_entries = WalletTransaction.objects.filter(operator=operator)
    running = Decimal("0")
    if filters.get("date_from"):
        start = _day_start(filters["date_from"])
        running = (all_entries.filter(state=complete, created_at__lt=start).aggregate(s=Sum("amount"))["s"]
                   or Decimal("0"))
        all_entries = all_entries.filter(created_at__gte=start)
    if filters.get("date_to"):
        all_entries = all_entries.filter(created_at__lt=_next_day_start(filters["date_to"]))
    kind = filters.get("kind")
    for entry in all_entries.order_by("created_at", "id").iterator(chunk_size=2000):
        if entry.state == complete:
            running += entry.amount
        if not kind or entry.kind == kind:
            yield entry, running


def charge(*, operator, charge_id):
    return (Charge.objects.filter(operator=operator, pk=charge_id)
            .select_related("charge_point", "charge_point__site", "credit_of", "cdr_import").first())


def charge_ledger_entries(*, operator, charge):
    """The wallet transactions a charge posted (its references are charge:<id>:…), and those of
    its credits (credit CDRs and refunds), so the page shows what the charge earned in the end."""
    ids = [charge.pk, *Charge.objects.filter(operator=operator, credit_of=charge).values_list("pk", flat=True)]
    match = Q()
    for pk in ids:
        match |= Q(reference__startswith=f"charge:{pk}:")
    return list(WalletTransaction.objects.filter(match, operator=operator).order_by("created_at", "id"))
