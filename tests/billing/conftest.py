from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Plan, PlanTier, PlatformSeller
from charging.ledger import post_charges
from charging.models import ChargePoint
from operators.models import Fee, WalletTransaction
from tests.factories import ChargeFactory, ChargePointFactory, OperatorFactory

NOV = date(2026, 11, 1)
CLOSE_DAY = date(2026, 12, 1)


def at(y, m, d, h=12, minute=0):
    return datetime(y, m, d, h, minute, tzinfo=timezone.get_current_timezone())


def make_seller(**kwargs):
    return PlatformSeller.objects.create(**{
        "name": "CPO Platform ApS", "vat_number": "DK13585628", "street": "Bredgade 1", "postcode": "1260",
        "city": "København K", "country": "DK", "email": "billing@platform.test", "bank_name": "Danske Bank",
        "iban": "DK5000400440116243", "bic": "DABADKKK", "payment_terms_days": 14,
        "invoice_footer": "CPO Platform ApS · CVR 13585628", **kwargs})


def make_plan(operator=None, currency="DKK", tiers=((10, "50"), (50, "40"), (None, "30")), valid_from=date(2026, 1, 1)):
    plan = Plan.objects.create(operator=operator, name="Standard" if operator is None else "Agreement",
                               currency=currency, valid_from=valid_from)
    for up_to, price in tiers:
        PlanTier.objects.create(plan=plan, up_to=up_to, unit_price=Decimal(price))
    return plan


def make_fees(percentage="5", fixed="1.00", currency="DKK"):
    Fee.objects.create(kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=Decimal(percentage), valid_from=date(2026, 1, 1))
    Fee.objects.create(kind=Fee.Kind.TRANSACTION_FIXED, amount=Decimal(fixed), currency=currency,
                       valid_from=date(2026, 1, 1))


def charge_points(operator, n, created=None):
    cps = [ChargePointFactory(operator=operator) for _ in range(n)]
    ChargePoint.objects.filter(pk__in=[c.pk for c in cps]).update(created_at=created or at(2026, 1, 1))
    return list(ChargePoint.objects.filter(pk__in=[c.pk for c in cps]).order_by("id"))


def charge(operator, cp, stopped, price="100.00", credit_of=None):
    price = Decimal(price)
    c = ChargeFactory(operator=operator, charge_point=cp, started_at=stopped - timedelta(hours=1),
                      stopped_at=stopped, price=price, vat_amount=(price / 5).quantize(Decimal("0.01")),
                      credit_of=credit_of)
    post_charges(operator=operator, charges=[c])
    return c


def deposit(operator, amount, when=None, ref=None):
    when = when or at(2026, 11, 2)
    return WalletTransaction.objects.create(
        operator=operator, created_at=when, completed_at=when, group="deposit", kind="adjustment",
        amount=Decimal(amount), currency=operator.currency, reference=ref or f"deposit:{amount}:{when.isoformat()}")


@pytest.fixture
def seller(db):
    return make_seller()


@pytest.fixture
def billing_setup(db, seller):
    make_plan()
    make_fees()


@pytest.fixture
def worked_example(billing_setup):
    """docs/billing.md, "A worked example": 12 charge points all November, one more from 16
    November; three charges of 100.00 DKK and a credit of one of them; 1 000.00 DKK deposited."""
    op = OperatorFactory(slug="worked", name="Worked Example ApS")
    cps = charge_points(op, 12)
    charge_points(op, 1, created=at(2026, 11, 16, 9))
    first = charge(op, cps[0], at(2026, 11, 3))
    charge(op, cps[1], at(2026, 11, 10))
    charge(op, cps[2], at(2026, 11, 20))
    charge(op, cps[0], at(2026, 11, 21), price="-100.00", credit_of=first)
    deposit(op, "1000.00")
    return op


@pytest.fixture
def eager(monkeypatch):
    """Celery tasks run in-process, also when REDIS_URL is set (no worker in these tests)."""
    from portal.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)


def staff_sign_in(client):
    """A superuser signed in through allauth with two-factor, as the admin requires. The code is
    computed from the clock: when the 30 s step turns between computing and checking it (a slow,
    loaded machine), the next step's code is tried once."""
    from tests.factories import UserFactory, enable_totp, sign_in, totp_code

    user = UserFactory(is_staff=True, is_superuser=True)
    secret = enable_totp(user)
    response = sign_in(client, user, secret=secret)
    if response.status_code != 302 and "/accounts/2fa/authenticate/" in response.request["PATH_INFO"]:
        response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert response.status_code == 302, response
    return user
