from datetime import date
from decimal import Decimal

import pytest

from operators.models import Fee
from tests.billing.conftest import billing_setup, seller, worked_example  # noqa: F401 - fixtures
from tests.factories import BankAccountFactory

PAYOUT_FEE = Decimal("5.00")


def payout_fee(amount="5.00", currency="DKK"):
    return Fee.objects.create(kind=Fee.Kind.PAYOUT_FIXED, amount=Decimal(amount), currency=currency,
                              valid_from=date(2026, 1, 1))


def bank_account(operator, iban="DK5000400440116243", bic="NDEADKKK", **kwargs):
    return BankAccountFactory(operator=operator, iban=iban, bic=bic, is_default=True, **kwargs)


@pytest.fixture
def paying(worked_example):  # noqa: F811 - the imported fixture
    """The billing worked example with a default bank account and a 5.00 DKK payout fee."""
    payout_fee()
    bank_account(worked_example, holder_name="Worked Example ApS")
    return worked_example


def credited(operator, amount, token="t" * 16, bank_reference="R"):
    """A deposit recorded by the operator and confirmed by platform staff (credited)."""
    from payouts import services

    outcome = services.deposit(operator=operator, actor=None, amount=amount, bank_reference=bank_reference,
                               token=token)
    services.confirm_deposit(action=outcome.action, actor=None)
    return outcome.action
