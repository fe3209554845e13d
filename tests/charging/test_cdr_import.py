import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from charging import cdr_import as importer
from charging.models import CdrImport, Charge
from operators.models import Fee, WalletTransaction
from operators.selectors import operator_balance
from portal.permissions import Role
from tests.charging.cdrs import cdr
from tests.factories import ChargePointFactory, OperatorFactory, member

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"


def _json(records):
    # numbers as JSON numbers, like a real OCPI feed
    return json.dumps(records)


@pytest.fixture
def fees(db):
    Fee.objects.create(operator=None, kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=Decimal("3.50"),
                       valid_from=date(2010, 1, 1))
    Fee.objects.create(operator=None, kind=Fee.Kind.TRANSACTION_FIXED, amount=Decimal("0.25"), currency="EUR",
                       valid_from=date(2010, 1, 1))


@pytest.fixture
def point(operator):
    return ChargePointFactory(operator=operator, evse_id="DK*TST*E00001")


def run(operator, records, **kw):
    imp = CdrImport.objects.create(operator=operator, filename="t.json")
    return importer.run_import(cdr_import=imp, records=importer.parse_file(_json(records)), **kw)


def test_valid_file_imports_charges_and_posts_income_and_fee(operator, point, fees):
    result = run(operator, [cdr("A1", "DK*TST*E00001"), cdr("A2", "dk*tst*e00001", incl=50.00, excl=40.00)])
    assert (result.state, result.total, result.imported, result.skipped, result.error_count) == ("done", 2, 2, 0, 0)
    charge = Charge.objects.get(external_id="A1")
    assert (charge.charge_point, charge.price, charge.vat_amount, charge.consumed_kwh, charge.type) == (
        point, Decimal("100.00"), Decimal("20.00"), Decimal("20.500"), "roaming")
    entries = {e.reference: e for e in WalletTransaction.objects.filter(operator=operator)}
    assert entries[f"charge:{charge.pk}:income"].amount == Decimal("100.00")
    # 3.5 % of 100.00 + 0.25 EUR × 7.46 = 3.50 + 1.865 = 5.365 -> 5.37 (half-up, once)
    assert entries[f"charge:{charge.pk}:fee"].amount == Decimal("-5.37")
    assert entries[f"charge:{charge.pk}:fee"].kind == "platform_fee"
    assert operator_balance(operator=operator) == sum(e.amount for e in entries.values())
    assert operator_balance(operator=operator) == Decimal("100.00") - Decimal("5.37") + Decimal("50.00") - Decimal("3.62")


def test_reimport_is_a_no_op(operator, point, fees):
    records = [cdr("A1", "DK*TST*E00001"), cdr("A2", "DK*TST*E00001")]
    run(operator, records)
    before = (Charge.objects.count(), WalletTransaction.objects.count(), operator_balance(operator=operator))
    again = run(operator, records + records)
    assert (again.imported, again.skipped, again.error_count) == (0, 4, 0)
    assert (Charge.objects.count(), WalletTransaction.objects.count(), operator_balance(operator=operator)) == before


def test_each_error_kind_is_reported_per_record(operator, point, fees):
    records = [
        cdr("OK", "DK*TST*E00001"),
        cdr("UNKNOWN", "DK*TST*NOPE"),
        cdr("EUR", "DK*TST*E00001", currency="EUR"),
        {k: v for k, v in cdr("NOEND", "DK*TST*E00001").items() if k != "end_date_time"},
        cdr("BADCOST", "DK*TST*E00001", total_cost={"incl_vat": "x"}),
        "not an object",
        cdr("ORPHAN", "DK*TST*E00001", credit=True, credit_reference_id="NEVER"),
    ]
    result = run(operator, records)
    assert (result.imported, result.error_count) == (1, 6)
    reasons = {e["id"]: e["reason"] for e in result.errors}
    assert reasons["UNKNOWN"] == "Unknown EVSE id DK*TST*NOPE."
    assert reasons["EUR"] == "Wrong currency: EUR, the wallet is in DKK."
    assert reasons["NOEND"] == "Malformed record: end_date_time is missing."
    assert reasons["BADCOST"] == "Malformed record: total_cost.excl_vat is missing or not a number."
    assert reasons[""] == "Malformed record: not a JSON object."
    assert reasons["ORPHAN"] == "Credit CDR refers to session NEVER, which is not imported."
    assert [e["index"] for e in result.errors] == [1, 2, 3, 4, 5, 6]


def test_credit_cdr_is_a_negative_correction_of_the_session(operator, point, fees):
    run(operator, [cdr("S1", "DK*TST*E00001")])
    result = run(operator, [cdr("S1-CREDIT", "DK*TST*E00001", credit=True, credit_reference_id="S1",
                                total_cost={"excl_vat": -80.00, "incl_vat": -100.00}, total_energy=-20.5)])
    assert result.imported == 1
    session, credit = Charge.objects.get(external_id="S1"), Charge.objects.get(external_id="S1-CREDIT")
    assert credit.credit_of == session
    assert (credit.price, credit.vat_amount, credit.consumed_kwh) == (Decimal("-100.00"), Decimal("-20.00"),
                                                                      Decimal("-20.500"))
    entries = dict(WalletTransaction.objects.filter(reference__startswith=f"charge:{credit.pk}:")
                   .values_list("reference", "amount"))
    assert entries == {f"charge:{credit.pk}:income": Decimal("-100.00"), f"charge:{credit.pk}:fee": Decimal("3.50")}
    # what remains of the session: the fixed fee per transaction
    assert operator_balance(operator=operator) == Decimal("-1.87")


def test_progress_is_reported_per_batch(operator, point, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 3)
    seen = []
    records = [cdr(f"P{i}", "DK*TST*E00001" if i != 4 else "NOPE") for i in range(7)]
    run(operator, records, on_progress=lambda imp: seen.append((imp.processed, imp.total, imp.error_count)))
    assert seen == [(3, 7, 0), (6, 7, 1), (7, 7, 1)]


def test_real_ocpi_2_2_1_example_imports(fees):
    operator = OperatorFactory(currency="EUR", country="BE")
    point = ChargePointFactory(operator=operator, evse_id="BE*BEC*E041503003")
    imp = CdrImport.objects.create(operator=operator, filename="cdr_example.json")
    result = importer.run_import(cdr_import=imp, records=importer.parse_file(
        (FIXTURES / "ocpi_2_2_1_cdr_example.json").read_bytes()))
    assert (result.imported, result.error_count) == (1, 0)
    charge = Charge.objects.get(operator=operator, external_id="12345")
    assert charge.charge_point == point
    assert (charge.price, charge.vat_amount, charge.consumed_kwh, charge.currency) == (
        Decimal("4.40"), Decimal("0.40"), Decimal("15.342"), "EUR")
    assert charge.started_at.isoformat() == "2015-06-29T21:39:09+00:00"
    assert charge.stopped_at.isoformat() == "2015-06-29T23:37:32+00:00"
    # fee: 3.5 % of 4.40 = 0.154, + 0.25 EUR = 0.404 -> 0.40
    assert operator_balance(operator=operator) == Decimal("4.40") - Decimal("0.40")


def test_ocpi_envelope_and_bad_files(operator, point):
    envelope = {"data": [cdr("E1", "DK*TST*E00001")], "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}
    assert len(importer.parse_file(json.dumps(envelope))) == 1
    with pytest.raises(importer.FileError, match="not valid JSON"):
        importer.parse_file(b"{nope")
    with pytest.raises(importer.FileError, match="holds no CDRs"):
        importer.parse_file(b'"hello"')


def test_fees_in_force_at_the_stop_time(operator, point):
    Fee.objects.create(operator=None, kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=Decimal("5"),
                       valid_from=date(2026, 1, 1))
    Fee.objects.create(operator=operator, kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=Decimal("2"),
                       valid_from=date(2026, 6, 1))
    from datetime import datetime
    run(operator, [cdr("MAR", "DK*TST*E00001", start=datetime(2026, 3, 1, 12, tzinfo=UTC)),
                   cdr("JUL", "DK*TST*E00001", start=datetime(2026, 7, 1, 12, tzinfo=UTC))])
    fees = dict(WalletTransaction.objects.filter(kind="platform_fee").values_list("note", "amount"))
    assert fees == {"Platform fee 5 % for MAR": Decimal("-5.00"), "Platform fee 2 % for JUL": Decimal("-2.00")}


def test_fee_change_applies_from_local_midnight(operator, point):
    """Fees change on a day in the portal's time zone (Europe/Copenhagen, UTC+2 in summer): a
    session stopping at 23:30 local time on 31 May pays May's fee, one stopping at 00:30 on 1 June
    pays June's, whichever database posts them."""
    from datetime import datetime, timedelta

    Fee.objects.create(operator=None, kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=Decimal("5"),
                       valid_from=date(2026, 1, 1))
    Fee.objects.create(operator=operator, kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=Decimal("2"),
                       valid_from=date(2026, 6, 1))
    stop_may = datetime(2026, 5, 31, 21, 30, tzinfo=UTC)  # 23:30 local
    stop_june = datetime(2026, 5, 31, 22, 30, tzinfo=UTC)  # 00:30 local
    run(operator, [cdr("MAY", "DK*TST*E00001", start=stop_may - timedelta(minutes=90)),
                   cdr("JUNE", "DK*TST*E00001", start=stop_june - timedelta(minutes=90)),
                   cdr("EARLY", "DK*TST*E00001", start=datetime(2025, 12, 1, tzinfo=UTC))])
    fees = dict(WalletTransaction.objects.filter(kind="platform_fee").values_list("note", "amount"))
    # before any fee was valid there is no fee entry at all
    assert fees == {"Platform fee 5 % for MAY": Decimal("-5.00"), "Platform fee 2 % for JUNE": Decimal("-2.00")}
    assert WalletTransaction.objects.filter(kind="charge_income").count() == 3


def test_a_repeated_cdr_the_first_valid_one_wins(operator, point, fees):
    result = run(operator, [cdr("TWICE", "DK*TST*NOPE"), cdr("TWICE", "DK*TST*E00001", incl=50.00, excl=40.00),
                            cdr("TWICE", "DK*TST*E00001", incl=70.00, excl=56.00)])
    assert (result.processed, result.imported, result.skipped, result.error_count) == (3, 1, 1, 1)
    assert Charge.objects.get(external_id="TWICE").price == Decimal("50.00")


def credit(cdr_id, session_id, amount, **kw):
    return cdr(cdr_id, "DK*TST*E00001", credit=True, credit_reference_id=session_id,
               total_cost={"excl_vat": -amount * 0.8, "incl_vat": -amount}, total_energy=-1, **kw)


def test_a_repeated_credit_refused_once_is_imported_from_its_next_copy(operator, point, fees):
    result = run(operator, [cdr("S", "DK*TST*E00001"), credit("C", "S", 500.00), credit("C", "S", 10.00)])
    assert (result.processed, result.imported, result.skipped, result.error_count) == (3, 2, 0, 1)
    assert "exceeds what is left" in result.errors[0]["reason"] and result.errors[0]["index"] == 1
    assert Charge.objects.get(external_id="C").price == Decimal("-10.00")


def test_an_id_used_by_a_session_and_a_credit_goes_to_the_session(operator, point, fees):
    result = run(operator, [cdr("S", "DK*TST*E00001"), credit("X", "S", 10.00), cdr("X", "DK*TST*E00001")])
    assert (result.processed, result.imported, result.skipped, result.error_count) == (3, 2, 1, 0)
    assert Charge.objects.get(external_id="X").credit_of is None


def test_reimporting_credits_does_not_count_them_twice(operator, point, fees):
    run(operator, [cdr("S", "DK*TST*E00001"), credit("C1", "S", 40.00)])
    result = run(operator, [cdr("S", "DK*TST*E00001"), credit("C1", "S", 40.00), credit("C2", "S", 50.00)])
    assert (result.imported, result.skipped, result.error_count) == (1, 2, 0)
    assert sorted(Charge.objects.filter(credit_of__external_id="S").values_list("price", flat=True)) == [
        Decimal("-50.00"), Decimal("-40.00")]
    again = run(operator, [cdr("S", "DK*TST*E00001"), credit("C1", "S", 40.00), credit("C2", "S", 50.00)])
    assert (again.imported, again.skipped, again.error_count) == (0, 3, 0)


def test_text_that_is_not_valid_unicode_is_a_malformed_record(operator, point, fees):
    result = run(operator, [cdr("BAD\ud800", "DK*TST*E00001"), cdr("OK", "DK*TST*E00001"),
                            cdr("ALSO-BAD", "DK*TST*E0000\udfff")])
    assert (result.state, result.imported, result.error_count) == ("done", 1, 2)
    assert [(e["id"], e["reason"]) for e in result.errors] == [
        ("BAD?", "Malformed record: id is not valid Unicode text."),
        ("ALSO-BAD", "Malformed record: cdr_location.evse_id is not valid Unicode text.")]


def test_fees_no_charge_falls_under_are_not_looked_at(operator, point):
    """An old fixed fee in a currency without an exchange rate, superseded long before the CDRs,
    and a fee "valid from" year 1 (the admin accepts it) do not stop an import."""
    Fee.objects.create(operator=None, kind=Fee.Kind.TRANSACTION_FIXED, amount=Decimal("0.30"), currency="USD",
                       valid_from=date(2015, 1, 1))
    Fee.objects.create(operator=None, kind=Fee.Kind.TRANSACTION_FIXED, amount=Decimal("0.25"), currency="EUR",
                       valid_from=date(2020, 1, 1))
    Fee.objects.create(operator=None, kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=Decimal("1"),
                       valid_from=date(1, 1, 1))
    Fee.objects.create(operator=None, kind=Fee.Kind.TRANSACTION_FIXED, amount=Decimal("9"), currency="USD",
                       valid_from=date(9999, 12, 31))
    result = run(operator, [cdr("NOW", "DK*TST*E00001")])
    assert (result.state, result.imported) == ("done", 1)
    # 1 % of 100.00 + 0.25 EUR × 7.46 = 1.00 + 1.865 -> 2.87
    assert WalletTransaction.objects.get(kind="platform_fee").amount == Decimal("-2.87")
    result = run(operator, [cdr("OLD", "DK*TST*E00001", start=datetime(2016, 3, 1, tzinfo=UTC))])
    assert (result.state, result.message) == ("failed", "No exchange rate from USD to DKK.")


def test_an_interrupted_import_is_marked_failed(operator, point, fees, monkeypatch):
    def interrupted(**kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(importer, "_write_batch", interrupted)
    imp = CdrImport.objects.create(operator=operator, filename="t.json")
    with pytest.raises(KeyboardInterrupt):
        importer.run_import(cdr_import=imp, records=importer.parse_file(_json([cdr("A", "DK*TST*E00001")])))
    imp.refresh_from_db()
    assert imp.state == "failed" and "interrupted" in imp.message


def test_command(operator, point, tmp_path, capsys):
    path = tmp_path / "cdrs.json"
    path.write_text(_json([cdr("C1", "DK*TST*E00001"), cdr("C2", "DK*TST*NOPE")]))
    call_command("import_cdrs", str(path), "--operator", operator.slug)
    out = capsys.readouterr().out
    assert "record 1 (id C2): Unknown EVSE id DK*TST*NOPE." in out
    assert "2 CDR(s): 1 imported, 0 already imported, 1 with errors" in out
    with pytest.raises(CommandError, match="No operator"):
        call_command("import_cdrs", str(path), "--operator", "nobody")


def test_upload_in_the_portal_shows_progress_and_report(admin_client, operator, point, fees, settings, tmp_path,
                                                         django_capture_on_commit_callbacks, monkeypatch):
    from portal.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)  # also when REDIS_URL is set: no worker here
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("march.json", _json([cdr("U1", "DK*TST*E00001"), cdr("U2", "X")]).encode())
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/o/{operator.slug}/charges/import/", {"file": upload})
    assert response.status_code == 302
    page = admin_client.get(response["Location"]).content.decode()  # eager Celery: already finished
    assert "2 / 2</strong> processed (100 %) · 1 error(s) so far" in page
    assert "Unknown EVSE id X." in page
    partial = admin_client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<section class="card" id="import-progress"')
    assert "hx-trigger" not in partial  # finished: polling stops
    imp = CdrImport.objects.get()
    assert imp.created_by is not None and imp.state == "done"


def test_progress_partial_polls_while_running(admin_client, operator):
    imp = CdrImport.objects.create(operator=operator, filename="big.json", state="running", total=10_000,
                                   processed=4000, error_count=3)
    partial = admin_client.get(f"/o/{operator.slug}/charges/import/{imp.pk}/", HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert 'hx-trigger="every 1s"' in html and "4000 / 10000</strong> processed (40 %) · 3 error(s)" in html


def test_bookkeeper_cannot_upload(login, operator):
    client = login(member(operator, Role.BOOKKEEPER))
    assert client.post(f"/o/{operator.slug}/charges/import/", {}).status_code == 403


def test_unreadable_upload_fails_with_a_message(admin_client, operator, settings, tmp_path, monkeypatch,
                                               django_capture_on_commit_callbacks):
    from portal.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/o/{operator.slug}/charges/import/",
                                     {"file": SimpleUploadedFile("notes.json", b"hello, world")})
    page = admin_client.get(response["Location"]).content.decode()
    assert "Failed" in page and "The file is not valid JSON" in page
    assert CdrImport.objects.get().state == "failed"


def test_upload_without_a_file_is_a_400(admin_client, operator):
    response = admin_client.post(f"/o/{operator.slug}/charges/import/", {})
    assert response.status_code == 400 and "This field is required." in response.content.decode()


@pytest.mark.parametrize("change,reason", [
    ({"total_cost": {"excl_vat": 1e30, "incl_vat": 1e30}}, "total_cost.excl_vat is out of range"),
    ({"total_cost": {"excl_vat": 10**40, "incl_vat": 10**40}}, "total_cost.excl_vat is out of range"),
    ({"total_energy": 10**12}, "total_energy is out of range"),
    ({"end_date_time": "9999-12-31T23:30:00Z"}, "end_date_time is outside the years 2000–2099"),
    ({"start_date_time": "0001-01-01T00:00:00+05:00"}, "start_date_time is outside the years 2000–2099"),
    ({"id": "BAD\x00ID"}, "id contains a NUL character"),
])
def test_out_of_range_values_are_reported_per_record_not_a_crash(operator, point, fees, change, reason):
    records = [cdr("GOOD-1", point.evse_id), {**cdr("BAD-1", point.evse_id), **change}]
    result = run(operator, records)
    assert result.state == CdrImport.State.DONE
    assert result.imported == 1 and result.error_count == 1
    assert reason in result.errors[0]["reason"]


def test_timestamps_without_offset_are_utc(operator, point, fees):
    record = cdr("NAIVE-1", point.evse_id)
    record["start_date_time"], record["end_date_time"] = "2026-03-02T08:00:00", "2026-03-02T09:30:00"
    result = run(operator, [record])
    assert result.imported == 1
    assert Charge.objects.get(external_id="NAIVE-1").started_at.isoformat() == "2026-03-02T08:00:00+00:00"


def test_deeply_nested_file_is_refused_as_a_file_error():
    with pytest.raises(importer.FileError, match="nested too deeply"):
        importer.parse_file("[" * 100_000 + "]" * 100_000)


def test_an_unexpected_error_ends_the_import_as_failed(operator, point, fees, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("simulated defect")

    monkeypatch.setattr(importer, "_import_batch", broken)
    result = run(operator, [cdr("X-1", point.evse_id)])
    assert result.state == CdrImport.State.FAILED
    assert "unexpected error" in result.message and result.finished_at is not None


def test_credits_cannot_exceed_the_session_or_come_from_another_charge_point(operator, point, fees):
    other = ChargePointFactory(operator=operator, evse_id="DK*TST*E00002")
    run(operator, [cdr("S2", point.evse_id, incl=100.00, excl=80.00)])

    def credit(cdr_id, amount, evse=point.evse_id):
        return cdr(cdr_id, evse, credit=True, credit_reference_id="S2",
                   total_cost={"excl_vat": -amount * 0.8, "incl_vat": -amount}, total_energy=-1)

    result = run(operator, [credit("C1", 60.00), credit("C2", 50.00), credit("C3", 40.00),
                            credit("C4", 10.00, evse=other.evse_id)])
    assert result.imported == 2  # 60 + 40 = the whole 100; the 50 would have gone beyond it
    reasons = {e["id"]: e["reason"] for e in result.errors}
    assert "exceeds what is left to credit on session S2 (40.00 DKK)" in reasons["C2"]
    assert "was on another charge point" in reasons["C4"]
    result = run(operator, [credit("C5", 0.01)])
    assert result.imported == 0 and "(0.00 DKK)" in result.errors[0]["reason"]


def _raw(records, **numbers):
    """JSON text with numbers Python's json.dumps cannot write (1e999999999, 5 000-digit ints):
    each placeholder string "<name>" is replaced by the raw number text."""
    text = _json(records)
    for name, raw in numbers.items():
        text = text.replace(f'"<{name}>"', raw)
    return text


@pytest.mark.parametrize("field,raw,reason", [
    ("total_energy", "1e999999999", "total_energy is out of range"),
    ("total_energy", "-1e999999999", "total_energy is out of range"),
    ("total_energy", "1" * 5000, "total_energy is out of range"),
    ("total_energy", "NaN", "total_energy is missing or not a number"),
    ("total_energy", "Infinity", "total_energy is missing or not a number"),
    ("excl_vat", "1e999999999", "total_cost.excl_vat is out of range"),
    ("excl_vat", "9" * 5000, "total_cost.excl_vat is out of range"),
    ("incl_vat", "-1E+999999999", "total_cost.incl_vat is out of range"),
], ids=["1e999999999", "-1e999999999", "int-5000-digits", "NaN", "Infinity", "excl-1e999999999", "excl-int-5000-digits",
        "incl--1E+999999999"])
def test_huge_numbers_are_one_malformed_record_not_a_failed_import(operator, point, fees, field, raw, reason):
    bad = cdr("HUGE", point.evse_id)
    if field == "total_energy":
        bad["total_energy"] = f"<{field}>"
    else:
        bad["total_cost"] = {"excl_vat": 80, "incl_vat": 100, field: f"<{field}>"}
    imp = CdrImport.objects.create(operator=operator, filename="t.json")
    result = importer.run_import(cdr_import=imp, records=importer.parse_file(
        _raw([cdr("GOOD", point.evse_id), bad], **{field: raw})))
    assert (result.state, result.imported, result.error_count) == ("done", 1, 1)
    assert result.errors == [{"index": 1, "id": "HUGE", "reason": f"Malformed record: {reason}."}]


def test_tiny_numbers_round_to_zero(operator, point, fees):
    record = cdr("TINY", point.evse_id, excl=0, incl=0)
    record["total_energy"] = "<kwh>"
    imp = CdrImport.objects.create(operator=operator, filename="t.json")
    result = importer.run_import(cdr_import=imp, records=importer.parse_file(_raw([record], kwh="1e-999999999")))
    assert (result.state, result.imported) == ("done", 1)
    assert Charge.objects.get(external_id="TINY").consumed_kwh == 0


@pytest.mark.parametrize("text,what", [
    ("A\u202eB", "a text-direction control character (U+202E)"),
    ("A\u200bB", "an invisible character (U+200B)"),
    ("A\nB", "a line break (LF)"),
    ("A\tB", "a tab"),
])
def test_control_bidi_and_invisible_characters_in_ids_are_malformed(operator, point, fees, text, what):
    result = run(operator, [cdr(text, point.evse_id), cdr("OK", point.evse_id + "\u2066")])
    assert result.imported == 0
    assert [e["reason"] for e in result.errors] == [
        f"Malformed record: id contains {what}.",
        "Malformed record: cdr_location.evse_id contains a text-direction control character (U+2066)."]


def test_implausible_money_does_not_credit_the_wallet(operator, point, fees):
    result = run(operator, [cdr("BILLIONS", point.evse_id, excl=7999999999.20, incl=9999999999.00, kwh=20.5),
                            cdr("OK", point.evse_id)])
    assert (result.state, result.imported, result.error_count) == ("done", 1, 1)
    assert result.errors[0]["reason"] == (
        "Implausible charge: 9999999999.00 DKK for 20.500 kWh is more than 74.60 DKK per kWh.")
    assert not Charge.objects.filter(external_id="BILLIONS").exists()
    assert operator_balance(operator=operator) < Decimal("100")


@pytest.mark.parametrize("record,reason", [
    (dict(kwh=1500), "Implausible charge: 1500.000 kWh is more than the 1000 kWh one charge can deliver."),
    (dict(minutes=73 * 60), "Implausible charge: the session lasted 73.0 hours, more than the 72 hours one "
                            "charge can last."),
    (dict(kwh=0, excl=60, incl=75), "Implausible charge: 75.00 DKK for 0.000 kWh is more than 74.60 DKK per "
                                    "kWh (counting at least 1 kWh)."),
])
def test_plausibility_bounds_per_charge(operator, point, fees, record, reason):
    result = run(operator, [cdr("X", point.evse_id, **record)])
    assert [e["reason"] for e in result.errors] == [reason]
    assert result.imported == 0


def test_plausibility_bounds_are_settings(operator, point, fees, settings):
    settings.CHARGING_MAX_KWH_PER_CHARGE = Decimal("10")
    settings.CHARGING_MAX_CHARGE_HOURS = Decimal("1")
    settings.CHARGING_MAX_PRICE_PER_KWH_EUR = Decimal("0.5")  # 3.73 DKK
    result = run(operator, [cdr("KWH", point.evse_id, kwh=10.5, minutes=30),
                            cdr("LONG", point.evse_id, kwh=5, minutes=61, excl=10, incl=12),
                            cdr("DEAR", point.evse_id, kwh=5, minutes=30, excl=16, incl=20),
                            cdr("FINE", point.evse_id, kwh=5, minutes=30, excl=14, incl=18.65),
                            cdr("FEE", point.evse_id, kwh=0.2, minutes=5, excl=2, incl=2.5)])
    assert [(e["id"], e["reason"].split(":")[0]) for e in result.errors] == [
        ("KWH", "Implausible charge"), ("LONG", "Implausible charge"), ("DEAR", "Implausible charge")]
    assert result.imported == 2  # at the limit, and a session fee on almost no energy
