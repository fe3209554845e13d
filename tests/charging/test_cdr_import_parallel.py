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


def test_two_imports_of_the_same_cdrs_in_crossing_order_import_them_once(operator):
    """Two imports of the same CDRs in opposite order, at the same time, wait on each other's
    unique keys: PostgreSQL breaks the deadlock and the batch it aborted is retried."""
    records = [cdr(f"X{n}", EVSE, start=start(n)) for n in range(2000)]
    barrier, results, failures = threading.Barrier(2), [], []

    def worker(file):
        try:
            imp = CdrImport.objects.create(operator=operator, filename="x.json")
            barrier.wait()
            results.append(importer.run_import(cdr_import=imp, records=importer.parse_file(json.dumps(file))))
        except Exception as exc:  # reported below, in the main thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(file,)) for file in (records, records[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert sorted((r.state, r.imported, r.skipped, r.error_count) for r in results) == sorted(
        [("done", r.imported, 2000 - r.imported, 0) for r in results])
    assert sum(r.imported for r in results) == 2000
    assert Charge.objects.filter(operator=operator).count() == 2000
    assert WalletTransaction.objects.filter(operator=operator).count() == 4000


def test_of_a_cdr_repeated_in_other_batches_the_first_valid_one_wins(operator, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 3)
    records = [cdr(f"R{i}", EVSE, start=start(i)) for i in range(12)]
    records[2] = cdr("TWICE", "DK*TST*NOPE")  # the first one is not valid (unknown EVSE)
    records[5] = cdr("TWICE", EVSE, incl=50.00, excl=40.00)
    records[9] = cdr("TWICE", EVSE, incl=70.00, excl=56.00)
    records[3] = cdr("CR", EVSE, credit=True, credit_reference_id="R0",
                     total_cost={"excl_vat": -8.00, "incl_vat": -10.00}, total_energy=-2)
    records[10] = cdr("CR", EVSE, credit=True, credit_reference_id="R0",
                      total_cost={"excl_vat": -40.00, "incl_vat": -50.00}, total_energy=-2)
    result = run(operator, records)
    assert (result.state, result.total, result.processed) == ("done", 12, 12)
    # R0, R1, R4, R6, R7, R8, R11 + TWICE + CR; skipped: TWICE and CR once each; error: TWICE (index 2)
    assert (result.imported, result.skipped, result.error_count) == (9, 2, 1)
    assert Charge.objects.get(external_id="TWICE").price == Decimal("50.00")
    assert Charge.objects.get(external_id="CR").price == Decimal("-10.00")


def test_only_the_first_reasons_in_file_order_are_kept(operator, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 3)
    monkeypatch.setattr(importer, "MAX_REPORTED_ERRORS", 2)
    records = [cdr(f"E{i}", EVSE, start=start(i)) for i in range(12)]
    records[0] = cdr("ORPHAN", EVSE, credit=True, credit_reference_id="NEVER")  # reported last (credit phase)
    for i in (7, 8, 11):
        records[i] = "not an object"
    result = run(operator, records)
    assert result.error_count == 4
    assert [e["index"] for e in result.errors] == [0, 7]


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
