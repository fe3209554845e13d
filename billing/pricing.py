"""What a month costs: the subscription (plan tiers × charge point days) and the platform fees on
the ledger. Pure computation plus reads; no writes (the close in billing/services.py writes).

Subscription, pro rata by day. A charge point is billed for every local calendar day of the month
on which it existed, counting the day it was added and the day it was removed (charge points are
deleted outright, so `ChargePointRemoval` remembers the deleted ones). For each day the plan's
graduated tiers split that day's charge points (the first `up_to` at the first tier's price, …);
each tier's line bills its charge point days ÷ days in the month × its monthly price, rounded once
per line, half-up, to the currency's minor unit. A month with the same charge points on every day
is simply charge points × tier prices.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from billing.models import ChargePointRemoval, InvoiceLine, Plan
from charging.ledger import convert
from charging.models import ChargePoint
from operators.models import WalletTransaction
from portal.money import quantize

FOUR = Decimal("0.0001")

FEE_LINE_LABELS = {
    "CHARGE": "Platform fees on charges",
    "PAYOUT": "Payout fees",
}


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(period: date) -> date:
    return (period.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def parse_month(text: str) -> date:
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except (ValueError, TypeError):
        raise ValueError(f"{text!r} is not a month: use YYYY-MM, e.g. 2026-11.") from None


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, timezone.get_current_timezone())


@dataclass
class Tier:
    lower: int  # charge points before this tier
    up_to: int | None
    unit_price: Decimal  # per charge point per month, in the invoice currency

    @property
    def label(self):
        first = self.lower + 1
        if self.up_to is None:
            return f"charge points from {first}"
        return f"charge points {first}–{self.up_to}"


@dataclass
class LineDraft:
    kind: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    net: Decimal
    vat_category: str = ""
    vat_rate: Decimal = Decimal("0.00")
    covers: dict = field(default_factory=dict)


def plan_in_force(*, operator, period: date):
    """(plan, [Tier]) for the month: the operator's own plan beats the default; latest
    `valid_from` not after the month's first day. (None, []) when no plan applies."""
    plans = list(Plan.objects.filter(Q(operator=operator) | Q(operator__isnull=True), valid_from__lte=period)
                 .prefetch_related("tiers").order_by("-valid_from", "-id"))
    own = [p for p in plans if p.operator_id is not None]
    plan = (own or plans or [None])[0]
    if plan is None:
        return None, []
    tiers, lower = [], 0
    for t in sorted(plan.tiers.all(), key=lambda t: (t.up_to is None, t.up_to or 0)):
        price = convert(t.unit_price, plan.currency, operator.currency).quantize(FOUR)
        tiers.append(Tier(lower=lower, up_to=t.up_to, unit_price=price))
        if t.up_to is None:
            break
        lower = t.up_to
    if tiers and tiers[-1].up_to is not None:
        # The last tier is open-ended even if staff gave it an "up to" (the admin refuses that
        # now): charge points beyond it are billed at its price, never for free.
        tiers[-1].up_to = None
    return plan, tiers


def split_by_tier(count: int, tiers: list[Tier]) -> list[int]:
    """How many of `count` charge points fall into each tier (graduated)."""
    out = []
    for tier in tiers:
        top = count if tier.up_to is None else min(count, tier.up_to)
        out.append(max(0, top - tier.lower))
    return out


def monthly_amount(count: int, tiers: list[Tier], currency: str) -> Decimal:
    """What `count` charge points cost for a whole month."""
    return quantize(sum((n * t.unit_price for n, t in zip(split_by_tier(count, tiers), tiers, strict=True)),
                        Decimal("0")), currency)


def charge_point_days(*, operator, period: date, until: date | None = None):
    """[(id, name, evse_id, first_day, last_day, days, removed)] for the charge points that existed in
    the month (up to and including `until`, for a running month), and the days in the month."""
    end = next_month(period)
    last_day = min(end - timedelta(days=1), until) if until else end - timedelta(days=1)
    end_dt = local_midnight(end)
    tz = timezone.get_current_timezone()
    rows = [(cp["id"], cp["name"], cp["evse_id"], cp["created_at"], None, False) for cp in
            ChargePoint.objects.filter(operator=operator, created_at__lt=end_dt)
            .values("id", "name", "evse_id", "created_at").order_by("id")]
    rows += [(r["charge_point_id"], r["name"], r["evse_id"], r["created_at"], r["removed_at"], True) for r in
             ChargePointRemoval.objects.filter(operator=operator, removed_at__gte=local_midnight(period),
                                               created_at__lt=end_dt)
             .values("charge_point_id", "name", "evse_id", "created_at", "removed_at").order_by("charge_point_id")]
    result = []
    for cp_id, name, evse, created, removed, is_removed in rows:
        first = max(created.astimezone(tz).date(), period)
        last = min(removed.astimezone(tz).date(), last_day) if removed else last_day
        if last < first:
            continue
        result.append((cp_id, name, evse, first, last, (last - first).days + 1, is_removed))
    return result, (end - period).days


def subscription_lines(*, operator, period: date, until: date | None = None):
    """The subscription lines and what they cover: ([LineDraft], details dict)."""
    plan, tiers = plan_in_force(operator=operator, period=period)
    points, days_in_month = charge_point_days(operator=operator, period=period, until=until)
    details = {
        "days_in_month": days_in_month,
        "charge_points": [[i, n, e, f.isoformat(), la.isoformat(), d, r] for i, n, e, f, la, d, r in points],
        "plan": None,
    }
    if plan is None or not points:
        return [], details
    details["plan"] = {"name": plan.name, "currency": operator.currency,
                       "tiers": [[t.lower, t.up_to, str(t.unit_price)] for t in tiers]}
    if plan.currency != operator.currency:  # the rate it was converted at, kept with the invoice
        details["plan"].update(priced_in=plan.currency,
                               exchange_rate=str(convert(Decimal(1), plan.currency, operator.currency).normalize()))
    # charge points per day (difference array over the month's days)
    per_day = [0] * (days_in_month + 1)
    for _id, _n, _e, first, last, _d, _r in points:
        per_day[(first - period).days] += 1
        per_day[(last - period).days + 1] -= 1
    tier_days = [0] * len(tiers)
    running = 0
    for d in range(days_in_month):
        running += per_day[d]
        for i, n in enumerate(split_by_tier(running, tiers)):
            tier_days[i] += n
    lines = []
    for tier, cp_days in zip(tiers, tier_days, strict=True):
        if not cp_days:
            continue
        net = quantize(Decimal(cp_days) * tier.unit_price / Decimal(days_in_month), operator.currency)
        lines.append(LineDraft(
            kind=InvoiceLine.Kind.SUBSCRIPTION,
            description=f"Subscription {period:%B %Y}, {tier.label}",
            quantity=(Decimal(cp_days) / Decimal(days_in_month)).quantize(FOUR),
            unit="charge point months", unit_price=tier.unit_price, net=net,
            covers={"charge_point_days": cp_days, "days_in_month": days_in_month,
                    "tier": [tier.lower, tier.up_to]},
        ))
    return lines, details


def fee_lines(fee_groups) -> list[LineDraft]:
    """One line per fee kind (ledger reference type) from aggregated fee entries; refunds on credits
    are netted into the line of their kind."""
    lines = []
    for g in fee_groups:
        total = -(g["total"] or Decimal("0"))
        charges = g["n"] - g["credits"]
        label = FEE_LINE_LABELS.get(g["reference_type"], "Platform fees")
        text = f"{label}: {charges} charge{'s' if charges != 1 else ''}"
        if g["credits"]:
            text += f", {g['credits']} credit{'s' if g['credits'] != 1 else ''} refunded"
        lines.append(LineDraft(
            kind=InvoiceLine.Kind.PLATFORM_FEE, description=text, quantity=Decimal(1), unit="",
            unit_price=total, net=total,
            covers={"reference_type": g["reference_type"], "entries": g["n"], "credits": g["credits"],
                    "sum": str(-total), "first": g["first"].isoformat() if g["first"] else None,
                    "last": g["last"].isoformat() if g["last"] else None},
        ))
    return lines


def _fee_aggregate(qs):
    return list(qs.values("reference_type").order_by("reference_type").annotate(
        n=Count("id"), total=Sum("amount"), credits=Count("id", filter=Q(amount__gt=0)),
        first=Min("created_at"), last=Max("created_at")))


def unbilled_fee_groups(*, operator, before: datetime, since: datetime | None = None):
    """Fee entries on the ledger before `before` (and from `since`) that no invoice bills yet (a
    late-imported charge of an earlier month is billed by the next close)."""
    qs = WalletTransaction.objects.filter(
        operator=operator, kind=WalletTransaction.Kind.PLATFORM_FEE, state=WalletTransaction.State.COMPLETE,
        created_at__lt=before, invoice_entry__isnull=True)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    return _fee_aggregate(qs)


def linked_fee_groups(*, invoice):
    return _fee_aggregate(WalletTransaction.objects.filter(
        operator_id=invoice.operator_id, kind=WalletTransaction.Kind.PLATFORM_FEE, invoice_entry__invoice=invoice))
