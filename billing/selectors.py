"""Billing reads. Every function takes the operator, so no read runs unscoped."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from billing import pricing, services
from billing.models import InstallerSettings, Invoice, OperatorSupport, SupportLevel
from charging.ledger import FxMissing


@dataclass
class BillingSummary:
    plan: object
    tiers: list
    currency: str
    charge_points_now: int
    charge_point_days: int
    monthly_amount: Decimal
    preview: object
    today: date
    pricing_error: str = ""


def billing_summary(*, operator, today: date | None = None) -> BillingSummary:
    today = today or timezone.localdate()
    period = today.replace(day=1)
    points, _days = pricing.charge_point_days(operator=operator, period=period)
    now_count = sum(1 for p in points if not p[6])
    try:
        plan, tiers = pricing.plan_in_force(operator=operator, period=period)
    except FxMissing as exc:
        # The plan is priced in a currency the wallet's cannot be converted from: the page says so
        # instead of answering 500; the close reports the same for this operator.
        return BillingSummary(plan=None, tiers=[], currency=operator.currency, charge_points_now=now_count,
                              charge_point_days=sum(p[5] for p in points), monthly_amount=None, preview=None,
                              today=today, pricing_error=str(exc))
    return BillingSummary(
        plan=plan, tiers=tiers, currency=operator.currency, charge_points_now=now_count,
        charge_point_days=sum(p[5] for p in points),
        monthly_amount=pricing.monthly_amount(now_count, tiers, operator.currency),
        preview=services.running_preview(operator=operator, today=today), today=today,
    )


def support_level(*, operator):
    assigned = OperatorSupport.objects.filter(operator=operator).select_related("level").first()
    if assigned is not None:
        return assigned.level, assigned.since
    return SupportLevel.objects.filter(is_default=True).first(), None


def installer_settings(*, operator) -> InstallerSettings:
    return (InstallerSettings.objects.filter(operator=operator).select_related("updated_by").first()
            or InstallerSettings(operator=operator))


LIST_FIELDS = ("id", "operator_id", "series", "period", "status", "number", "issue_date", "due_date", "currency",
               "net", "vat", "total", "credit_of_id")


def invoices(*, operator, filters: dict):
    qs = Invoice.objects.filter(operator=operator).exclude(status=Invoice.Status.DRAFT).only(*LIST_FIELDS)
    if filters.get("period"):
        qs = qs.filter(period=filters["period"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    return qs.order_by("-period", "-sequence", "-id")


def invoice(*, operator, invoice_id: int):
    return (Invoice.objects.filter(operator=operator, pk=invoice_id).exclude(status=Invoice.Status.DRAFT)
            .defer("pdf", "einvoice").select_related("credit_of").first())


def last_issued(*, operator):
    """The operator's most recently issued invoice or credit note: its last e-invoice."""
    return (Invoice.objects.filter(operator=operator, number__isnull=False).only(*LIST_FIELDS, "issued_at")
            .order_by("-issued_at", "-id").first())


def invoice_entries_summary(*, invoice):
    """How the invoice was settled: its linked ledger entries per kind (count, sum)."""
    from operators.models import WalletTransaction

    return list(WalletTransaction.objects.filter(invoice_entry__invoice=invoice).values("kind")
                .order_by("kind").annotate(n=Count("id"), total=Sum("amount")))


def settlement_entry(*, invoice):
    from operators.models import WalletTransaction

    return WalletTransaction.objects.filter(operator_id=invoice.operator_id,
                                            reference=f"invoice-settlement:{invoice.pk}").first()
