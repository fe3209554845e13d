from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from operators.models import Fee, WalletTransaction
from operators.selectors import fees_in_force, operator_balance
from portal.permissions import Role
from tests.factories import BankAccountFactory, ChargePointFactory, WalletTransactionFactory, member


@pytest.mark.django_db
class TestBalance:
    def test_balance_is_the_sum_of_completed_ledger_entries(self, operator):
        WalletTransactionFactory(operator=operator, amount=Decimal("100.10"))
        WalletTransactionFactory(operator=operator, amount=Decimal("-40.05"))
        WalletTransactionFactory(operator=operator, amount=Decimal("999.00"), state="pending")
        assert operator_balance(operator=operator) == Decimal("60.05")

    def test_other_operators_entries_do_not_count(self, operator, other_operator):
        WalletTransactionFactory(operator=other_operator, amount=Decimal("500.00"))
        assert operator_balance(operator=operator) == Decimal("0.00")

    def test_ledger_is_append_only(self, operator):
        entry = WalletTransactionFactory(operator=operator)
        entry.amount = Decimal("1.00")
        with pytest.raises(PermissionError):
            entry.save()
        with pytest.raises(PermissionError):
            entry.delete()
        with pytest.raises(PermissionError):
            WalletTransaction.objects.filter(pk=entry.pk).update(amount=0)

    def test_a_reference_posts_once(self, operator):
        WalletTransactionFactory(operator=operator, reference="charge:1:income")
        with pytest.raises(IntegrityError):
            WalletTransactionFactory(operator=operator, reference="charge:1:income")

    def test_overview_shows_count_balance_and_fees(self, login, operator):
        ChargePointFactory.create_batch(3, operator=operator)
        WalletTransactionFactory(operator=operator, amount=Decimal("1234.50"))
        Fee.objects.create(kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=Decimal("3.50"), valid_from=date(2024, 1, 1))
        html = login(member(operator, Role.SUPPORTER)).get(f"/o/{operator.slug}/").content.decode()
        assert 'data-testid="charge-point-count">3<' in html
        assert "1\u202f234.50 DKK" in html
        assert "Percentage of charging revenue" in html and "3.5 %" in html


@pytest.mark.django_db
class TestFees:
    def test_latest_fee_not_after_the_day_and_operator_override(self, operator, other_operator):
        Fee.objects.create(kind="revenue_percentage", percentage=Decimal("4.00"), valid_from=date(2024, 1, 1))
        Fee.objects.create(kind="revenue_percentage", percentage=Decimal("3.50"), valid_from=date(2025, 1, 1))
        Fee.objects.create(kind="revenue_percentage", percentage=Decimal("9.99"), valid_from=date.today() + timedelta(days=30))
        Fee.objects.create(operator=other_operator, kind="revenue_percentage", percentage=Decimal("2.00"),
                           valid_from=date(2024, 6, 1))
        assert [f.percentage for f in fees_in_force(operator=operator)] == [Decimal("3.50")]
        assert [f.percentage for f in fees_in_force(operator=other_operator)] == [Decimal("2.00")]

    def test_fee_without_a_value_is_refused_by_the_database(self):
        with pytest.raises(IntegrityError):
            Fee.objects.create(kind="payout_fixed", valid_from=date(2024, 1, 1))


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["", "bank-accounts/"])
def test_query_count_does_not_grow_with_data(login, operator, path):
    client = login(member(operator, Role.ADMIN))
    url = f"/o/{operator.slug}/{path}"
    ChargePointFactory.create_batch(10, operator=operator)
    BankAccountFactory.create_batch(10, operator=operator)
    small = _queries(client, url)
    ChargePointFactory.create_batch(490, operator=operator)
    BankAccountFactory.create_batch(490, operator=operator)
    large = _queries(client, url)
    assert small == large
