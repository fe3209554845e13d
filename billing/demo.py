"""Demo data for Billing & Support: the platform seller, support levels, a plan, installer
settings, and a year of invoices made by running the real monthly close for each past month (one
of them credited). Idempotent: a second run resumes the close (nothing changes) and credits no
second invoice. Demo invoices are not mailed."""
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Min
from django.utils import timezone

from billing import pricing, services
from billing.models import InstallerSettings, Invoice, OperatorSupport, Plan, PlanTier, PlatformSeller, SupportLevel
from charging.models import Charge, ChargePoint
from payouts import demo as payouts_demo

SUPPORT_LEVELS = [
    # name, channels, response time, success manager, default, description
    ("Standard", "Email, help centre", "Next business day", False, True, "Help with the portal and your account."),
    ("Premium", "Email, phone", "4 business hours", False, False, "Priority handling, phone support on weekdays."),
    ("Enterprise", "Email, phone, shared Slack channel", "1 hour, 24/7 for outages", True, False,
     "A named success manager and quarterly business reviews."),
]
PLAN_TIERS = [(10, "59.00"), (50, "49.00"), (None, "39.00")]


def seed(ctx):
    operators = ctx["operators"]
    if not PlatformSeller.objects.exists():
        PlatformSeller.objects.create(
            name="CPO Platform ApS", vat_number="DK13585628", street="Bredgade 1", postcode="1260",
            city="København K", country="DK", email="billing@platform.example", bank_name="Nordea Danmark",
            iban="DK5000400440116243", bic="NDEADKKK", payment_terms_days=14,
            invoice_footer="CPO Platform ApS · Bredgade 1 · 1260 København K · CVR 13585628 · billing@platform.example")
    levels = {}
    for order, (name, channels, response, manager, default, text) in enumerate(SUPPORT_LEVELS):
        levels[name], _ = SupportLevel.objects.get_or_create(name=name, defaults=dict(
            channels=channels, response_time=response, success_manager=manager, is_default=default,
            description=text, order=order))
    OperatorSupport.objects.get_or_create(operator=operators["demo"], defaults={"level": levels["Premium"]})
    if not Plan.objects.filter(operator=None).exists():
        plan = Plan.objects.create(name="Standard", currency="DKK", valid_from=pricing.parse_month("2024-01"),
                                   note="Per charge point per month, graduated")
        for up_to, price in PLAN_TIERS:
            PlanTier.objects.create(plan=plan, up_to=up_to, unit_price=Decimal(price))
    InstallerSettings.objects.get_or_create(operator=operators["demo"], defaults=dict(
        company="Elektriker Hansen ApS", contact_name="Henrik Hansen", email="service@hansen-el.example",
        phone="+4570121314", street="Industrivej 12", postcode="2600", city="Glostrup", country="DK",
        notes="Service agreement: yearly inspection in March."))
    for slug in ("demo", "nordlys"):
        _year_of_invoices(operators[slug], ctx)


def _year_of_invoices(operator, ctx):
    # The demo charge points were created today but have a year of charges: date them back to
    # their operator's first charge, so the past months bill them.
    first = Charge.objects.filter(operator=operator).aggregate(m=Min("started_at"))["m"]
    if first is not None:
        ChargePoint.objects.filter(operator=operator, created_at__gt=first).update(created_at=first)
    today = timezone.localdate()
    period = pricing.previous_month(today)
    months = []
    for _ in range(12):
        months.append(period)
        period = pricing.previous_month(period)
    tz = timezone.get_current_timezone()
    for period in reversed(months):
        close_day = pricing.next_month(period)
        services.close_operator_month(operator=operator, period=period, today=close_day, send=False,
                                      settle_at=datetime.combine(close_day, time(3, 0), tz))
        payouts_demo.after_close(operator, period, close_day, last=period == months[0])
    if operator.slug == "demo" and not Invoice.objects.filter(operator=operator, series="CN").exists():
        target = (Invoice.objects.filter(operator=operator, series="INV", status="paid").order_by("period")[2:3]
                  .first())
        if target is not None:
            services.credit_note_issue(invoice=target, actor=None, reason="Charge points billed twice after a "
                                       "migration; replaced by a corrected invoice", send=False,
                                       today=target.issue_date + timedelta(days=9))
    ctx["log"](f"  billing: {Invoice.objects.filter(operator=operator).count()} invoices for {operator.name}")
