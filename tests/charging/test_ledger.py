import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from charging import cdr_import as importer
from charging.ledger import post_charges
from charging.models import CdrImport, Charge
from operators.models import WalletTransaction
from operators.selectors import operator_balance
from tests.charging.cdrs import cdr
from tests.factories import ChargeFactory, ChargePointFactory, OperatorFactory, WalletTransactionFactory


@pytest.mark.django_db
def test_balance_is_the_sum_of_entries_and_a_charge_posts_once(operator):
    charges = [ChargeFactory(operator=operator, price=Decimal("10.00")) for _ in range(3)]
    ChargeFactory(operator=operator, state="failed", price=Decimal("0"))  # failed: posts nothing
    WalletTransactionFactory(operator=operator, amount=Decimal("-4.50"))
    for _ in range(3):
        post_charges(operator=operator, charges=Charge.objects.filter(operator=operator))
    assert WalletTransaction.objects.filter(operator=operator, reference__startswith="charge:").count() == 3
    assert operator_balance(operator=operator) == sum(
        WalletTransaction.objects.filter(operator=operator).values_list("amount", flat=True), Decimal("0"))
    assert operator_balance(operator=operator) == Decimal("25.50")
    assert {c.pk for c in charges} == {int(r.split(":")[1]) for r in WalletTransaction.objects.filter(
        reference__startswith="charge:").values_list("reference", flat=True)}


@pytest.mark.django_db
def test_overview_balance_moves_with_charging(admin_client, operator):
    ChargeFactory(operator=operator, price=Decimal("120.00"))
    post_charges(operator=operator, charges=Charge.objects.filter(operator=operator))
    page = admin_client.get(f"/o/{operator.slug}/").content.decode()
    assert "120.00\u00a0DKK" in page or "120.00 DKK" in page


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_imports_post_each_charge_exactly_once():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises the whole database)")
    operator = OperatorFactory()
    ChargePointFactory(operator=operator, evse_id="DK*TST*E00001")
    records = importer.parse_file(json.dumps([
        cdr(f"C{i}", "DK*TST*E00001", start=timezone.now() - timedelta(days=1, minutes=i)) for i in range(3000)]))
    barrier = threading.Barrier(2)
    results, failures = [], []

    def worker():
        try:
            imp = CdrImport.objects.create(operator=operator, filename="same.json")
            barrier.wait()
            results.append(importer.run_import(cdr_import=imp, records=records))
        except Exception as exc:  # reported below, in the main thread
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert sum(r.imported for r in results) == 3000
    assert sum(r.skipped for r in results) == 3000
    assert Charge.objects.filter(operator=operator).count() == 3000
    assert WalletTransaction.objects.filter(operator=operator, kind="charge_income").count() == 3000
    assert operator_balance(operator=operator) == Decimal("300000.00")


@pytest.mark.django_db
def test_wallet_page_filters_running_balance_and_csv(admin_client, operator):
    now = timezone.now()
    for i, (kind, amount) in enumerate([("adjustment", "100.00"), ("charge_income", "50.00"),
                                        ("platform_fee", "-2.00"), ("charge_income", "30.00")]):
        WalletTransactionFactory(operator=operator, kind=kind, amount=Decimal(amount),
                                 created_at=now - timedelta(days=10 - i), note=f"entry {i}")
    page = admin_client.get(f"/o/{operator.slug}/wallet/")
    rows = [(e.note, e.balance_after) for e in page.context["page"]]
    assert rows == [("entry 3", Decimal("178.00")), ("entry 2", Decimal("148.00")),
                    ("entry 1", Decimal("150.00")), ("entry 0", Decimal("100.00"))]
    filtered = admin_client.get(f"/o/{operator.slug}/wallet/?kind=charge_income")
    assert [(e.note, e.balance_after) for e in filtered.context["page"]] == [
        ("entry 3", Decimal("178.00")), ("entry 1", Decimal("150.00"))]
    date_from = timezone.localdate(now - timedelta(days=8)).isoformat()  # the filter is in local days
    csv_response = admin_client.get(f"/o/{operator.slug}/wallet/?format=csv&kind=charge_income&date_from={date_from}")
    lines = b"".join(csv_response.streaming_content).decode().splitlines()
    assert lines[0].lstrip("\ufeff").startswith("created_at,kind,group,state,amount")
    assert [line.split(",")[7] for line in lines[1:]] == ["178.00"]
    bad = admin_client.get(f"/o/{operator.slug}/wallet/?date_from=2026-05-01&date_to=2026-04-01")
    assert bad.status_code == 400 and "The end date is before the start date." in bad.content.decode()


@pytest.mark.django_db
def test_charges_list_filters_totals_and_csv(admin_client, operator):
    from tests.factories import SiteFactory

    site = SiteFactory(operator=operator)
    here = ChargePointFactory(operator=operator, site=site)
    now = timezone.now()
    ChargeFactory(operator=operator, charge_point=here, price=Decimal("10.00"), vat_amount=Decimal("2.00"),
                  started_at=now - timedelta(days=1), external_id="IN")
    ChargeFactory(operator=operator, price=Decimal("99.00"), started_at=now - timedelta(days=40), external_id="OLD")
    response = admin_client.get(f"/o/{operator.slug}/charges/?site={site.pk}")
    assert [c.external_id for c in response.context["page"]] == ["IN"]
    assert response.context["totals"]["price"] == Decimal("10.00")
    since = (now - timedelta(days=5)).date().isoformat()
    response = admin_client.get(f"/o/{operator.slug}/charges/?date_from={since}")
    assert [c.external_id for c in response.context["page"]] == ["IN"]
    response = admin_client.get(f"/o/{operator.slug}/charges/?charge_point={here.pk}&format=csv")
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv") and ",IN," in body and "OLD" not in body
    other = ChargePointFactory()  # another operator's charge point is not a valid choice
    response = admin_client.get(f"/o/{operator.slug}/charges/?charge_point={other.pk}")
    assert response.status_code == 400 and "No such charge point." in response.content.decode()


@pytest.mark.django_db
def test_fee_schedule_matches_fees_in_force(operator):
    from datetime import date, datetime, time

    from charging.ledger import FeeSchedule
    from operators.models import Fee
    from operators.selectors import fees_in_force

    Fee.objects.create(operator=None, kind="revenue_percentage", percentage=Decimal("4"), valid_from=date(2025, 1, 1))
    Fee.objects.create(operator=None, kind="revenue_percentage", percentage=Decimal("3.5"), valid_from=date(2026, 1, 1))
    Fee.objects.create(operator=operator, kind="revenue_percentage", percentage=Decimal("2"),
                       valid_from=date(2026, 6, 1))
    Fee.objects.create(operator=None, kind="transaction_fixed", amount=Decimal("0.25"), currency="EUR",
                       valid_from=date(2025, 6, 1))
    Fee.objects.create(operator=OperatorFactory(), kind="revenue_percentage", percentage=Decimal("1"),
                       valid_from=date(2020, 1, 1))  # someone else's agreement
    schedule = FeeSchedule(operator)
    tz = timezone.get_current_timezone()
    for day in [date(2024, 12, 31), date(2025, 1, 1), date(2025, 7, 1), date(2026, 1, 1), date(2026, 6, 1)]:
        at = datetime.combine(day, time(12), tz)
        assert sorted(f.pk for f in schedule.in_force(day)) == sorted(f.pk for f in fees_in_force(operator=operator,
                                                                                                 at=at))
    assert schedule.at(datetime.combine(date(2026, 7, 1), time(12), tz))[:3] == (
        Decimal("0.02"), Decimal("0.25") / Decimal("1") * Decimal("7.46"), "2 % + 0.25 EUR")
