"""Demo data for Payouts: the billing demo runs the real monthly close for a year; after each
month's close this exports that operator's payout in a pain.001 batch and marks it paid two days
later — except one month, which the bank returns (AC06, blocked account) so its money goes back
on the wallet and the next close pays it out again, and the latest month, still exported. Then a
Bookkeeper's deposit confirmed by staff, one awaiting confirmation, and a partial refund. Idempotent: a second run finds every payout decided
and every action by its token."""
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from payouts import export, services
from payouts.models import Payout, WalletAction

RETURNED_MONTHS_AGO = 4  # the payout the bank returns: four closes before the latest


def after_close(operator, period, close_day, *, last: bool):
    tz = timezone.get_current_timezone()
    exported_at = datetime.combine(close_day, time(9, 0), tz)
    payout = Payout.objects.filter(operator=operator, kind="monthly", period=period).first()
    if payout is None or payout.state != Payout.State.PENDING:
        return
    export.export_batch(currency=payout.currency, payout_ids=[payout.pk], at=exported_at)
    if last:
        return
    today = timezone.localdate()
    months_ago = (today.year - period.year) * 12 + today.month - period.month - 1
    if months_ago == RETURNED_MONTHS_AGO and operator.slug == "demo":
        services.mark_failed(payout=payout, code="AC06", text="Blocked account", at=exported_at + timedelta(days=3))
    else:
        services.mark_paid(payout=payout, at=exported_at + timedelta(days=2))


def seed(ctx):
    operator = ctx["operators"]["demo"]
    from charging.models import Charge

    bookkeeper = ctx.get("users", {}).get("bookkeeper@demo.example")
    staff = ctx.get("users", {}).get("staff@platform.example")
    if not WalletAction.objects.filter(operator=operator, token="demo-deposit-0001").exists():
        outcome = services.deposit(operator=operator, actor=bookkeeper, amount=Decimal("2500.00"),
                                   bank_reference="NDEA-2611-004417", note="Float for driver refunds",
                                   token="demo-deposit-0001")
        services.confirm_deposit(action=outcome.action, actor=staff, note="Seen on the platform account")
    if not WalletAction.objects.filter(operator=operator, token="demo-deposit-0002").exists():
        services.deposit(operator=operator, actor=bookkeeper, amount=Decimal("1200.00"),
                         bank_reference="NDEA-2612-000981", token="demo-deposit-0002")  # awaiting confirmation
    charge = (Charge.objects.filter(operator=operator, state="completed", credit_of__isnull=True, price__gt=20)
              .order_by("-stopped_at").first())
    if charge is not None and not WalletAction.objects.filter(operator=operator, token="demo-refund-0001").exists():
        services.refund(operator=operator, actor=bookkeeper, charge_id=charge.pk,
                        amount=(charge.price / 2).quantize(Decimal("0.01")), reason="Charging stopped early (cable fault)",
                        token="demo-refund-0001")
    count = Payout.objects.filter(operator=operator).count()
    ctx["log"](f"  payouts: {count} payouts for {operator.name}, "
               f"{Payout.objects.filter(operator=operator, state='returned').count()} returned")
