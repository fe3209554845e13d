"""The CDR import's parallel writers (PostgreSQL, outside a transaction: real connections that
commit, so these tests use `transaction=True`)."""
import json
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import OperationalError, connection

from charging import cdr_import as importer
from charging.models import CdrImport, Charge
from operators.models import Fee, WalletTransaction
from operators.selectors import operator_balance
from tests.charging.cdrs import cdr
from tests.factories import ChargePointFactory, OperatorFactory

pytestmark = pytest.mark.django_db(transaction=True)
EVSE = "DK*TST*E00001"


@pytest.fixture
def operator():
    if connection.vendor != "postgresql":
        pytest.skip("parallel writers run on PostgreSQL only")
    operator = OperatorFactory()
    ChargePointFactory(operator=operator, evse_id=EVSE)
    Fee.objects.create(operator=None, kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=Decimal("3.50"),
                       valid_from=date(2010, 1, 1))
    return operator


def run(operator, records, **kw):
    imp = CdrImport.objects.create(operator=operator, filename="t.json")
    return importer.run_import(cdr_import=imp, records=importer.parse_file(json.dumps(records)), **kw)


def start(i):
    return datetime(2026, 3, 2, 8, tzinfo=UTC) + timedelta(hours=i)


def test_batches_written_by_several_threads_add_up(operator, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 3)
    records = [cdr(f"S{i}", EVSE, start=start(i)) for i in range(12)]
    records[1] = cdr("CREDIT", EVSE, credit=True, credit_reference_id="S11",  # its session comes later
                     total_cost={"excl_vat": -8.00, "incl_vat": -10.00}, total_energy=-2)
    records[4] = cdr("UNKNOWN", "DK*TST*NOPE")
    records[7] = "not an object"
    records[10] = cdr("S0", EVSE, start=start(0))  # the same CDR twice in the file, in another batch
    threads = set()
    result = run(operator, records, on_progress=lambda imp: threads.add(threading.current_thread().name))

    assert threads and threads <= {"cdr-import-0", "cdr-import-1", threading.current_thread().name}
    assert threads - {threading.current_thread().name}, "no batch was written by a writer thread"
    assert (result.state, result.total, result.processed) == ("done", 12, 12)
    assert (result.imported, result.skipped, result.error_count) == (9, 1, 2)
    assert [(e["index"], e["id"]) for e in result.errors] == [(4, "UNKNOWN"), (7, "")]
    assert Charge.objects.get(external_id="CREDIT").credit_of == Charge.objects.get(external_id="S11")
    # 8 sessions of 100.00 and a credit of 10.00, each less 3.5 % (the credit gives 0.35 back)
    assert operator_balance(operator=operator) == 8 * Decimal("96.50") - Decimal("9.65")
    assert WalletTransaction.objects.filter(operator=operator).count() == 2 * 9


def test_same_cdrs_in_crossing_order_import_once(operator, monkeypatch):
    """Two batches with the same CDR ids in opposite order, written at the same time, wait on
    each other's unique keys: PostgreSQL breaks the deadlock and the batch it aborted is retried."""
    monkeypatch.setattr(importer, "BATCH_SIZE", 2000)
    ids = [f"X{i}" for i in range(2000)]
    records = [cdr(i, EVSE, start=start(n)) for n, i in enumerate(ids)]
    result = run(operator, records + records[::-1])
    assert (result.state, result.imported, result.skipped, result.error_count) == ("done", 2000, 2000, 0)
    assert Charge.objects.filter(operator=operator).count() == 2000
    assert WalletTransaction.objects.filter(operator=operator).count() == 4000


def test_a_batch_is_retried_after_a_deadlock_and_gives_up_after_four(operator, monkeypatch):
    write = importer._write_batch
    calls = []

    def deadlocking(**kw):
        calls.append(1)
        if len(calls) <= failures:
            error = OperationalError("deadlock detected")
            error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
            raise error
        return write(**kw)

    monkeypatch.setattr(importer, "_write_batch", deadlocking)
    monkeypatch.setattr(importer.time, "sleep", lambda seconds: None)
    failures = 3
    result = run(operator, [cdr("A", EVSE)])
    assert (result.state, result.imported, len(calls)) == ("done", 1, 4)

    calls.clear()
    failures = 4
    result = run(operator, [cdr("B", EVSE)])
    assert (result.state, result.imported, len(calls)) == ("failed", 0, 4)
    assert not Charge.objects.filter(external_id="B").exists()


def test_the_first_failure_stops_the_import(operator, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    write = importer._write_batch

    def failing(**kw):
        if "F4" in kw["parsed"]:
            raise RuntimeError("a defect")
        return write(**kw)

    monkeypatch.setattr(importer, "_write_batch", failing)
    result = run(operator, [cdr(f"F{i}", EVSE, start=start(i)) for i in range(10)])
    assert result.state == "failed" and "unexpected error" in result.message
    # the batches before it may be imported; never the failed one, and not all the batches after it
    assert not Charge.objects.filter(external_id__in=["F4", "F5"]).exists()
    assert Charge.objects.filter(operator=operator).count() < 8
