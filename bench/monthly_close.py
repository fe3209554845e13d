"""Benchmark: the monthly close on PostgreSQL (not a test; prints figures).

    DATABASE_URL=postgres://… .venv/bin/python bench/monthly_close.py [--operators 1000] [--charges 1000]
        [--workers 2] [--keep]

Creates throw-away operators (5 charge points each, created before the month) with `--charges`
charges each in November 2026 and their ledger entries (income and platform fee, as the CDR import
posts them), written with COPY (set-up, not timed). Then times the real close
(`billing.services.close_operator_month`) for every operator: invoice with subscription and fee
lines, link of every fee entry, numbering from the locked counter row, settlement entry, the
payout to the default bank account with its debits, audit events. `--workers` processes share the operators, as Celery workers share the per-operator tasks
of the fan-out. Mail and PDF are not part of the close (they run in their own task after commit):
the PDF rendering time is measured separately. The data is removed at the end unless --keep.
Target: 1 000 operators × 1 000 charges in under 60 s on two cores.
"""
import argparse
import multiprocessing
import os
import resource
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db import connection, connections, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from billing import services  # noqa: E402
from billing.models import Invoice, InvoiceSeries, Plan, PlanTier, PlatformSeller  # noqa: E402
from charging.bulk import copy_rows  # noqa: E402
from charging.models import Charge, ChargePoint  # noqa: E402
from operators.models import BankAccount, Operator, WalletTransaction  # noqa: E402

PERIOD, CLOSE_DAY = date(2026, 11, 1), date(2026, 12, 1)
CP_FIELDS = ["operator_id", "name", "serial_number", "evse_id", "brand_name", "model_name", "type", "max_kw",
             "visibility", "state", "note", "created_at", "updated_at"]
CHARGE_FIELDS = ["operator_id", "charge_point_id", "type", "state", "started_at", "stopped_at", "consumed_kwh",
                 "price", "vat_amount", "currency", "external_id", "failure_reason", "created_at"]
LEDGER_FIELDS = ["operator_id", "created_at", "completed_at", "group", "kind", "state", "amount", "vat_amount",
                 "currency", "reference_type", "reference_id", "reference", "note"]


def setup(prefix, n_ops, n_charges):
    tz = timezone.get_current_timezone()
    start = datetime(2026, 11, 1, tzinfo=tz)
    with transaction.atomic():
        if not PlatformSeller.objects.exists():
            PlatformSeller.objects.create(name="Bench Seller ApS", vat_number="DK13585628", street="Bredgade 1",
                                          postcode="1260", city="København K", iban="DK5000400440116243",
                                          bic="DABADKKK")
        ops = Operator.objects.bulk_create(
            Operator(name=f"{prefix} {i}", slug=f"{prefix}-{i}", country="DK", currency="DKK",
                     vat_number="DK13585628", finance_email=f"finance@{prefix}-{i}.example") for i in range(n_ops))
        # A default bank account each, so the close's last step makes a real payout.
        BankAccount.objects.bulk_create(BankAccount(operator=op, holder_name=op.name, iban="DK5000400440116243",
                                                    bic="NDEADKKK", is_default=True) for op in ops)
        plan = Plan.objects.create(name=f"{prefix} plan", currency="DKK", valid_from=date(2026, 1, 1))
        for up_to, price in ((10, "59"), (None, "49")):
            PlanTier.objects.create(plan=plan, up_to=up_to, unit_price=Decimal(price))
        created = datetime(2026, 1, 1, tzinfo=tz)
        copy_rows(ChargePoint, CP_FIELDS, ((op.pk, f"CP {j}", "", f"DK*BEN*{op.pk}*{j}", "", "", "ac",
                                            Decimal("22"), "public", "available", "", created, created)
                                           for op in ops for j in range(5)))
        cps = {}
        for cp_id, op_id in ChargePoint.objects.filter(operator__in=ops).values_list("id", "operator_id"):
            cps.setdefault(op_id, []).append(cp_id)
        seconds = 30 * 86400 - 7200
        price, vat, fee = Decimal("100.00"), Decimal("20.00"), Decimal("-3.50")
        copy_rows(Charge, CHARGE_FIELDS, (
            (op.pk, cps[op.pk][i % 5], "public", "completed", start + timedelta(seconds=i * seconds // n_charges),
             start + timedelta(seconds=i * seconds // n_charges + 3600), Decimal("20.000"), price, vat, "DKK",
             f"B-{op.pk}-{i}", "", start) for op in ops for i in range(n_charges)))

        def ledger():
            for op in ops:
                for i in range(n_charges):
                    at = start + timedelta(seconds=i * seconds // n_charges + 3600)
                    yield (op.pk, at, at, "charge", "charge_income", "complete", price, vat, "DKK", "CHARGE", "",
                           f"bench:{op.pk}:{i}:income", "")
                    yield (op.pk, at, at, "charge", "platform_fee", "complete", fee, Decimal("0"), "DKK", "CHARGE",
                           "", f"bench:{op.pk}:{i}:fee", "")
        copy_rows(WalletTransaction, LEDGER_FIELDS, ledger())
    with connection.cursor() as cursor:
        for table in ("charging_charge", "operators_wallettransaction", "billing_invoiceentry", "billing_invoice"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return [op.pk for op in ops], plan


def close_some(ids):
    connections.close_all()  # a forked child opens its own connection
    failed = 0
    for op in Operator.objects.filter(pk__in=ids).order_by("id"):
        result = services.close_month(period=PERIOD, operators=[op], today=CLOSE_DAY, send=False)[0]
        failed += result.outcome == "failed"
    connections.close_all()
    return failed


def remove(ids, plan, counter):
    """Benchmark clean-up only: issued invoices and ledger entries are never deleted by the app
    (models and triggers refuse), so the throw-away rows are removed with the triggers off."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE billing_invoice DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE billing_invoiceline DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE billing_invoiceentry DISABLE TRIGGER USER")
        inv = "SELECT id FROM billing_invoice WHERE operator_id = ANY(%s)"
        cursor.execute(f"DELETE FROM billing_invoiceentry WHERE invoice_id IN ({inv})", [ids])
        cursor.execute(f"DELETE FROM billing_invoiceline WHERE invoice_id IN ({inv})", [ids])
        cursor.execute("DELETE FROM payouts_payout WHERE operator_id = ANY(%s)", [ids])
        for table in ("billing_invoice", "billing_closerun", "operators_bankaccount", "operators_wallettransaction", "portal_auditevent",
                      "charging_charge", "charging_chargepoint"):
            cursor.execute(f"DELETE FROM {table} WHERE operator_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM billing_plantier WHERE plan_id = %s", [plan.pk])
        cursor.execute("DELETE FROM billing_plan WHERE id = %s", [plan.pk])
        cursor.execute("DELETE FROM operators_operator WHERE id = ANY(%s)", [ids])
        cursor.execute("UPDATE billing_invoiceseries SET last_number = %s WHERE code = 'INV'", [counter])
        for table in ("billing_invoice", "billing_invoiceline", "billing_invoiceentry"):
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operators", type=int, default=1000)
    parser.add_argument("--charges", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database: this benchmark measures PostgreSQL.")
    counter = InvoiceSeries.objects.get_or_create(code="INV")[0].last_number
    prefix = f"bench{datetime.now():%H%M%S}"
    t = time.perf_counter()
    ids, plan = setup(prefix, args.operators, args.charges)
    t_setup = time.perf_counter() - t
    try:
        # queries for one operator's close, at this size
        first = Operator.objects.get(pk=ids[0])
        with CaptureQueriesContext(connection) as ctx:
            services.close_operator_month(operator=first, period=PERIOD, today=CLOSE_DAY, send=False)
        queries = len(ctx.captured_queries)
        rest = ids[1:]
        chunks = [rest[i::args.workers] for i in range(args.workers)]
        connections.close_all()
        t = time.perf_counter()
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if args.workers == 1:
            failed = close_some(rest)
        else:
            with multiprocessing.get_context("fork").Pool(args.workers) as pool:
                failed = sum(pool.map(close_some, chunks))
        t_close = time.perf_counter() - t
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_per_op = ((cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)) / max(1, len(rest))
        invoices = Invoice.objects.filter(operator_id__in=ids)
        n_invoices, n_paid = invoices.count(), invoices.filter(status="paid").count()
        numbers = sorted(invoices.values_list("sequence", flat=True))
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "gap in the numbers"
        t = time.perf_counter()
        again = sum(services.close_operator_month(operator=op, period=PERIOD, today=CLOSE_DAY, send=False).outcome
                    == "unchanged"
                    for op in Operator.objects.filter(pk__in=ids[:100]))
        t_again = time.perf_counter() - t
        sample = list(invoices.order_by("id")[:20])
        t = time.perf_counter()
        for inv in sample:
            services.invoice_pdf(inv)
        t_pdf = (time.perf_counter() - t) / len(sample)
    finally:
        if not args.keep:
            remove(ids, plan, counter)
    print(f"PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} CPU(s), {args.workers} worker process(es)")
    print(f"set-up (COPY, not timed): {args.operators} operators × {args.charges} charges, "
          f"{args.operators * args.charges * 2:,} ledger entries in {t_setup:.1f} s")
    print(f"close: {n_invoices} invoices ({n_paid} settled, {failed} failed) in {t_close + 0:.1f} s "
          f"= {n_invoices / t_close:,.0f} operators/s (target: 1 000 in < 60 s)")
    if args.workers > 1:
        print(f"CPU of the worker processes (Python, without PostgreSQL): {cpu_per_op * 1000:.0f} ms per operator")
    with open("/proc/loadavg") as f:
        print(f"load average during the run: {f.read().split()[0]}")
    print(f"queries per operator's close: {queries} (the same at 10 charges: tests/billing/test_query_counts.py)")
    print(f"re-run for 100 closed operators: {again} unchanged in {t_again:.2f} s")
    print(f"PDF rendering (WeasyPrint, in the mail task, once per invoice): {t_pdf * 1000:.0f} ms per invoice")


if __name__ == "__main__":
    main()
