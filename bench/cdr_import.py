"""Benchmark: OCPI CDR import throughput into PostgreSQL (not a test; prints figures).

    DATABASE_URL=postgres://… .venv/bin/python bench/cdr_import.py [--charges 100000] [--points 1000] [--keep]

Creates a throw-away operator with charge points, generates a JSON file of OCPI 2.2.1 CDRs
(timed: the generator), then imports it with the same code as the portal and `import_cdrs`
(timed: parse, and import = charges + ledger entries + progress, batch by batch, committed per
batch, as the Celery task does). The data is removed at the end unless --keep. Target: ≥ 20 000 charges per second.
"""
import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from charging import cdr_import as importer  # noqa: E402
from charging.bulk import copy_rows  # noqa: E402
from charging.models import CdrImport, Charge, ChargePoint  # noqa: E402
from operators.models import Fee, Operator, WalletTransaction  # noqa: E402


def generate(n, evses, seed=1) -> bytes:
    """n OCPI 2.2.1 CDRs as JSON bytes (an OCPI response envelope)."""
    rng = random.Random(seed)
    start0 = datetime.now(UTC) - timedelta(days=365)
    cdrs = []
    for i in range(n):
        evse = evses[rng.randrange(len(evses))]
        start = start0 + timedelta(seconds=rng.randrange(365 * 86400))
        minutes = rng.randint(15, 400)
        kwh = round(rng.uniform(3, 80), 3)
        excl = round(kwh * 2.8, 2)
        cdrs.append({
            "country_code": "DK", "party_id": "BEN", "id": f"BENCH-{seed}-{i}",
            "start_date_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_date_time": (start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cdr_token": {"country_code": "DE", "party_id": "TNM", "uid": f"{i:09d}", "type": "RFID",
                          "contract_id": "DE8ACC12E46L89"},
            "auth_method": "WHITELIST",
            "cdr_location": {"id": "LOC1", "address": "Benchvej 1", "city": "Aarhus", "country": "DNK",
                             "coordinates": {"latitude": "56.153900", "longitude": "10.214500"},
                             "evse_uid": evse, "evse_id": evse, "connector_id": "1",
                             "connector_standard": "IEC_62196_T2_COMBO", "connector_format": "CABLE",
                             "connector_power_type": "DC"},
            "currency": "DKK",
            "total_cost": {"excl_vat": excl, "incl_vat": round(excl * 1.25, 2)},
            "total_energy": kwh, "total_time": round(minutes / 60, 3),
            "last_updated": (start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        })
    return json.dumps({"data": cdrs, "status_code": 1000, "status_message": "Success"}).encode()


def _remove(operator):
    """Benchmark clean-up only: the app never deletes ledger entries or audit events (their
    managers refuse), so the throw-away operator's rows are removed with SQL."""
    tables = ["operators_wallettransaction", "portal_auditevent", "charging_charge", "charging_cdrimport",
              "charging_connector", "charging_chargepoint", "operators_fee"]
    with transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {table} WHERE operator_id = %s", [operator.pk])
        cursor.execute("DELETE FROM operators_operator WHERE id = %s", [operator.pk])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, default=100_000)
    parser.add_argument("--points", type=int, default=1_000)
    parser.add_argument("--keep", action="store_true", help="Commit the data instead of rolling it back.")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database: this benchmark measures PostgreSQL.")

    # Set-up is committed, and the imports run outside any transaction, as the Celery task does
    # (each batch commits on its own). The data is removed again at the end unless --keep.
    with transaction.atomic():
        stamp = datetime.now().strftime("%Y%m%d%H%M%S%f")
        operator = Operator.objects.create(name=f"Bench {stamp}", slug=f"bench-{stamp}", country="DK",
                                           currency="DKK")
        Fee.objects.create(operator=operator, kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=Decimal("3.5"),
                           valid_from=datetime(2000, 1, 1).date())
        Fee.objects.create(operator=operator, kind=Fee.Kind.TRANSACTION_FIXED, amount=Decimal("0.25"),
                           currency="EUR", valid_from=datetime(2000, 1, 1).date())
        evses = [f"DK*BEN*E{i:06d}" for i in range(args.points)]
        now = datetime.now(UTC)
        copy_rows(ChargePoint, ["operator_id", "name", "serial_number", "evse_id", "brand_name", "model_name",
                                "type", "max_kw", "visibility", "state", "note", "created_at", "updated_at"],
                  ((operator.pk, f"Bench {e}", "", e, "", "", "dc", Decimal("150"), "public", "available", "",
                    now, now) for e in evses))
    # As autovacuum keeps them in a running database: tables without the dead rows that earlier
    # runs' clean-up leaves behind (inserting among them measures the clean-up, not the import).
    with connection.cursor() as cursor:
        for table in ("charging_charge", "operators_wallettransaction", "charging_cdrimport"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    try:
        t = time.perf_counter()
        data = generate(args.charges, evses)
        t_generate = time.perf_counter() - t

        t = time.perf_counter()
        records = importer.parse_file(data)
        t_parse = time.perf_counter() - t

        imp = CdrImport.objects.create(operator=operator, filename="bench.json")
        t = time.perf_counter()
        result = importer.run_import(cdr_import=imp, records=records)
        t_import = time.perf_counter() - t

        t = time.perf_counter()
        again = importer.run_import(cdr_import=CdrImport.objects.create(operator=operator, filename="again.json"),
                                    records=records)
        t_again = time.perf_counter() - t

        charges = Charge.objects.filter(operator=operator).count()
        entries = WalletTransaction.objects.filter(operator=operator).count()
        assert result.imported == args.charges == charges, (result.imported, charges, result.errors[:3])
        assert again.imported == 0 and again.skipped == args.charges
    finally:
        if not args.keep:
            _remove(operator)

    mb = len(data) / 1e6
    print(f"PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} CPU(s), batch size {importer.BATCH_SIZE}")
    print(f"generator:  {args.charges} CDRs, {mb:.1f} MB of JSON in {t_generate:.2f} s "
          f"({args.charges / t_generate:,.0f} CDRs/s)")
    print(f"parse:      {t_parse:.2f} s ({args.charges / t_parse:,.0f} CDRs/s)")
    print(f"import:     {charges} charges + {entries} ledger entries in {t_import:.2f} s "
          f"= {charges / t_import:,.0f} charges/s")
    print(f"parse + import: {charges / (t_parse + t_import):,.0f} charges/s (target ≥ 20,000)")
    print(f"re-import (all skipped): {t_again:.2f} s = {args.charges / t_again:,.0f} CDRs/s")


if __name__ == "__main__":
    main()
