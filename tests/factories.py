"""Factories for users, operators and members of each role (factory-boy, real database)."""
from datetime import date, timedelta
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import User
from charging.models import CdrImport, Charge, ChargePoint, Site
from credentials import crypto
from credentials.models import Credential
from members.models import Invitation, Membership, new_token
from operators.models import BankAccount, Operator, WalletTransaction
from portal.permissions import Role

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    name = factory.Faker("name")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class OperatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Operator

    name = factory.Sequence(lambda n: f"Operator {n} ApS")
    slug = factory.Sequence(lambda n: f"operator-{n}")
    country = "DK"
    currency = "DKK"
    vat_number = "DK13585628"
    contact_email = "contact@operator.test"
    finance_email = "finance@operator.test"
    street = "Vesterbrogade 10"
    postcode = "1620"
    city = "København V"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    operator = factory.SubFactory(OperatorFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.ADMIN


def member(operator, role=Role.ADMIN, **kwargs) -> User:
    """A user who is a member of `operator` with `role`."""
    return MembershipFactory(operator=operator, role=role, **kwargs).user


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    operator = factory.SubFactory(OperatorFactory)
    name = factory.Sequence(lambda n: f"Site {n}")


class ChargePointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChargePoint

    operator = factory.SubFactory(OperatorFactory)
    name = factory.Sequence(lambda n: f"Charge point {n}")
    evse_id = factory.Sequence(lambda n: f"DK*TST*E{n:06d}")
    max_kw = Decimal("22")


class BankAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BankAccount

    operator = factory.SubFactory(OperatorFactory)
    holder_name = "Operator ApS"
    iban = factory.Sequence(lambda n: f"DK00TEST{n:010d}")  # not checksummed: direct rows only
    bic = "NDEADKKK"
    is_default = False


class WalletTransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WalletTransaction

    operator = factory.SubFactory(OperatorFactory)
    created_at = factory.LazyFunction(timezone.now)
    group = WalletTransaction.Group.OTHER
    kind = WalletTransaction.Kind.ADJUSTMENT
    amount = Decimal("100.00")
    currency = factory.LazyAttribute(lambda o: o.operator.currency)
    reference = factory.Sequence(lambda n: f"test:{n}")


class CredentialFactory(factory.django.DjangoModelFactory):
    """Payter credentials whose API key is encrypted with the configured (test) key."""

    class Meta:
        model = Credential

    operator = factory.SubFactory(OperatorFactory)
    platform = "payter"
    name = factory.Sequence(lambda n: f"Payter {n}")
    values = factory.LazyFunction(lambda: {"terminal_id": "P68T0000001", "environment": "test"})
    secrets = factory.LazyFunction(lambda: {"api_key": crypto.encrypt("factory-api-key-0123456789abcdefWXYZ")})
    secret_hints = factory.LazyFunction(lambda: {"api_key": "••••WXYZ"})


class InvitationFactory(factory.django.DjangoModelFactory):
    """A pending invitation to a new email (the raw link token is not kept: use the services to
    get one)."""

    class Meta:
        model = Invitation

    operator = factory.SubFactory(OperatorFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.test")
    role = Role.SUPPORTER
    token_hash = factory.LazyFunction(lambda: new_token()[1])
    valid_until = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))
class ChargeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Charge

    operator = factory.SubFactory(OperatorFactory)
    charge_point = factory.LazyAttribute(lambda o: ChargePointFactory(operator=o.operator))
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=2))
    stopped_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    consumed_kwh = Decimal("20.000")
    price = Decimal("100.00")
    vat_amount = Decimal("20.00")
    currency = factory.LazyAttribute(lambda o: o.operator.currency)
    external_id = factory.Sequence(lambda n: f"CDR-{n:06d}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Marks the charge's days, as every writer of charges does, so rollups read in tests are exact."""
        from dashboards import rollups

        charge = super()._create(model_class, *args, **kwargs)
        occupies = charge.credit_of_id is None and charge.state != "failed"
        rollups.mark_charges(charge.operator_id, [(charge.started_at, charge.stopped_at) if occupies
                                                  else charge.started_at])
        return charge


class CdrImportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CdrImport

    operator = factory.SubFactory(OperatorFactory)
    filename = "cdrs.json"


_invoice_numbers = iter(range(900_000, 10_000_000))


def issued_invoice(operator, **kwargs):
    """An issued invoice of `operator` with one subscription line, made directly (the close is
    tested in tests/billing; this is for pages that need an invoice to show)."""
    from datetime import date

    from billing.models import Invoice, InvoiceLine

    n = next(_invoice_numbers)
    # One invoice per operator and month: each further one goes a month further back.
    earliest = Invoice.objects.filter(operator=operator, series="INV").order_by("period").first()
    period = date(2026, 10, 1)
    if earliest:
        period = (earliest.period.replace(day=1) - timedelta(days=1)).replace(day=1)
    fields = dict(operator=operator, series="INV", period=period, status="issued",
                  number=f"INV-2026-{n:06d}", sequence=n, issue_date=date(2026, 11, 1), due_date=date(2026, 11, 15),
                  currency=operator.currency, net=Decimal("100.00"), vat=Decimal("25.00"), total=Decimal("125.00"),
                  vat_category="S", vat_rate=Decimal("25.00"),
                  seller={"name": "CPO Platform ApS", "vat_number": "DK13585628", "iban": "DK5000400440116243",
                          "bic": "DABADKKK", "bank_name": "Danske Bank"},
                  buyer={"name": operator.name, "vat_number": operator.vat_number})
    fields.update(kwargs)
    number, status = fields.pop("number"), fields.pop("status")
    invoice = Invoice.objects.create(**fields, status="draft")  # lines first: an issued invoice takes none
    InvoiceLine.objects.create(invoice=invoice, position=1, kind="subscription", description="Subscription",
                               quantity=Decimal("2"), unit="charge point months", unit_price=Decimal("50"),
                               net=Decimal("100.00"), vat_category="S", vat_rate=Decimal("25.00"))
    invoice.number, invoice.status = number, status
    invoice.save()
    return invoice


# --- Two-factor and signing in for real (tests/accounts/test_signin_hardening.py, admin tests) ---

def enable_totp(user) -> str:
    """Give `user` an authenticator app (allauth TOTP); returns the secret to compute codes."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str, offset_periods: int = 0) -> str:
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset_periods))


def sign_in(client, user, *, password=PASSWORD, secret=None, next_url=None, **extra):
    """Sign in through allauth's form (and the two-factor step when `secret` is given), as a
    browser does. `extra` goes to every request (e.g. REMOTE_ADDR). Returns the last response."""
    url = "/accounts/login/" + (f"?next={next_url}" if next_url else "")
    response = client.post(url, {"login": user.email, "password": password}, **extra)
    if secret is not None and response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/":
        response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}, **extra)
    return response


class PayoutFactory(factory.django.DjangoModelFactory):
    """A monthly payout as the close decides it (no ledger entries: direct rows for pages)."""

    class Meta:
        model = "payouts.Payout"

    operator = factory.SubFactory(OperatorFactory)
    kind = "monthly"
    period = factory.Sequence(lambda n: date(2020 + n // 12, n % 12 + 1, 1))
    currency = factory.LazyAttribute(lambda o: o.operator.currency)
    amount = Decimal("1234.50")
    fee = Decimal("5.00")
    state = "pending"
    holder_name = "Operator ApS"
    iban = "DK5000400440116243"
    bic = "NDEADKKK"
    statement = factory.LazyFunction(lambda: {"opening_balance": "0.00", "income": "1500.00", "fees": "-75.00",
                                              "invoice_settled": "-185.50", "other": "0.00", "balance": "1239.50",
                                              "payout_fee": "-5.00", "amount": "-1234.50", "closing_balance": "0.00"})
    created_at = factory.LazyFunction(timezone.now)


class DashboardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dashboards.Dashboard"

    operator = factory.SubFactory(OperatorFactory)
    name = factory.Sequence(lambda n: f"Dashboard {n}")
    kind = "network"


class ExportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "charging.Export"

    operator = factory.SubFactory(OperatorFactory)
    kind = "charges"
    state = "queued"
    total = 150_000


# Path arguments of operator URLs -> an object of that operator, for the permission matrix
# (tests/portal/test_permission_matrix.py reads this too: a new kind of argument goes here).
def _api_key(op):
    from api.services import key_create

    return key_create(operator=op, actor=None, name="Matrix key", scopes=["charge-points:read"]).key.pk


URL_OBJECTS = {
    "export_id": lambda op: ExportFactory(operator=op).pk,
    "key_id": _api_key,
}
