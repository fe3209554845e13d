"""Import of OCPI 2.2.1 CDRs (Charge Detail Records) into charges, posted to the ledger.

Input: a JSON list of CDR objects, an OCPI response envelope `{"data": [...], "status_code": ...}`,
or one CDR object. Numbers are parsed as Decimal (never float).

Per CDR: matched to the operator's charge point by `cdr_location.evse_id` (case and the optional
"*" separators ignored); refused with a reason when malformed, when the EVSE id is unknown, or when its currency is not the wallet's. The CDR `id`
becomes the charge's `external_id` (unique per operator; upper case, as OCPI ids are compared without
case), so a CDR imported before is skipped and
re-importing a file changes nothing. A credit CDR (`credit: true`, `credit_reference_id`) becomes a
negative charge correcting the referenced session.

Work happens in batches; each batch (charges, ledger entries, progress counters) is one
transaction, so the progress shown is what is committed. On PostgreSQL two threads write batches
at the same time, each on its own connection. Credit CDRs, and CDRs whose id occurs more than once
in the file, are written last, one batch at a time in file order: a credit finds its session
wherever it is in the file, and of repeated CDRs the first valid one wins.
"""
import gc
import json
import logging
import threading
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from charging.bulk import insert_ignore, is_postgresql
from charging.ledger import LEDGER_COLUMNS, FeeSchedule, FxMissing, convert, entry_rows, insert_and_post_sql
from charging.models import CdrImport, Charge, ChargePoint
from dashboards import rollups
from operators.models import WalletTransaction
from portal import audit
from portal.money import minor_unit, quantize
from portal.validators import bounded_decimal, describe_character, evse_id_key, refused_character

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000
# On PostgreSQL, batches are written by this many threads, each with its own connection: the
# database works on one batch while Python checks the next (measured: 2 writers ≈ 1.35× one).
WRITERS = 2
DEADLOCK_RETRIES = 4
MAX_REPORTED_ERRORS = 1000

CHARGE_FIELDS = ["operator_id", "charge_point_id", "type", "state", "started_at", "stopped_at", "consumed_kwh",
                 "price", "vat_amount", "currency", "external_id", "credit_of_id", "cdr_import_id", "created_at",
                 "failure_reason"]


class FileError(Exception):
    """The file as a whole cannot be read as CDRs."""


def parse_file(data: bytes | str) -> list:
    try:
        with _gc_paused():
            try:
                payload = json.loads(data, parse_float=Decimal)
            except ValueError as exc:
                if "integer string conversion" not in str(exc):
                    raise
                # An integer of more than 4 300 digits, which int() refuses (CVE-2020-10735): read
                # the file again with integers as Decimal, so that record alone is out of range.
                payload = json.loads(data, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FileError(f"The file is not valid JSON ({exc}).") from None
    except RecursionError:
        raise FileError("The file is not valid CDR JSON (nested too deeply).") from None
    if isinstance(payload, dict) and "data" in payload:
        payload = payload["data"]
    elif isinstance(payload, dict) and "id" in payload:
        payload = [payload]
    if not isinstance(payload, list):
        raise FileError("The file holds no CDRs: expected a JSON list of CDRs or an OCPI response with "
                        "\"data\".")
    return payload


@dataclass
class Parsed:
    id: str
    evse_id: str
    started_at: datetime
    stopped_at: datetime
    kwh: Decimal
    price: Decimal
    vat: Decimal
    currency: str
    credit_reference_id: str = ""
    evse_key: str = ""  # what the charge point is looked up by (`portal.validators.evse_id_key`)


class Malformed(Exception):
    pass


# Sessions outside these years are data errors (and beyond what datetimes and the database can
# hold once converted to local time).
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
# Larger than any real session, small enough for Decimal's 28 digits and the database columns:
# amounts below 1e10, energy below 1e9 kWh (digits of the integer part). What is *plausible* for
# one charge is much less, and configurable: `Plausibility`.
AMOUNT_DIGITS, KWH_DIGITS = 10, 9


def _text(value, name, max_length=None):
    if not isinstance(value, str) or not value.strip():
        raise Malformed(f"{name} is missing")
    # The portal's single-line text rule (`portal.validators.refused_character`); plain printable
    # text, nearly every CDR, passes its first test, done here inline (one C call per value).
    if not value.isprintable() and (char := refused_character(value)) is not None:
        if char == "\x00":
            raise Malformed(f"{name} contains a NUL character")
        if unicodedata.category(char) == "Cs":  # a lone surrogate escape ("\ud800"): no database stores it
            raise Malformed(f"{name} is not valid Unicode text")
        raise Malformed(f"{name} contains {describe_character(char)}")
    value = value.strip()
    if max_length and len(value) > max_length:
        raise Malformed(f"{name} is longer than {max_length} characters")
    return value


def _ci_string(value, name):
    """An OCPI CiString id (CDR.id, credit_reference_id): printable ASCII compared without case,
    stored upper case, so "3f2a-b1" sent again as "3F2A-B1" is the same CDR, skipped, not paid twice."""
    text = _text(value, name, max_length=39)
    if not text.isascii():
        raise Malformed(f"{name} has characters other than printable ASCII (OCPI CiString)")
    return text.upper()


def _datetime(value, name):
    if not isinstance(value, str):
        raise Malformed(f"{name} is missing")
    try:
        parsed = datetime.fromisoformat(value)  # Python 3.11+: accepts "Z" and other ISO 8601 forms
    except ValueError:
        raise Malformed(f"{name} is not a date-time: {value[:40]!r}") from None
    if timezone.is_naive(parsed):  # OCPI: UTC when no offset is given
        parsed = parsed.replace(tzinfo=UTC)
    try:
        in_range = EARLIEST <= parsed < LATEST
    except OverflowError:  # e.g. year 1 with a positive offset
        in_range = False
    if not in_range:
        raise Malformed(f"{name} is outside the years 2000–2099: {value[:40]!r}")
    return parsed


def _number(value, name):
    limit = KWH_DIGITS if name == "total_energy" else AMOUNT_DIGITS
    # Fast path for the usual case, same rule as `portal.validators.bounded_decimal` (size read
    # from the exponent before any arithmetic: 1e999999999 would overflow abs()).
    if type(value) is Decimal and value.is_finite() and (not value or value.adjusted() < limit):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise Malformed(f"{name} is missing or not a number")
    try:
        return bounded_decimal(value, limit_digits=limit)
    except ValidationError as exc:
        raise Malformed(f"{name} is out of range" if exc.code == "range" else f"{name} is not a number") from None


def parse_cdr(cdr) -> Parsed:
    if not isinstance(cdr, dict):
        raise Malformed("not a JSON object")
    cdr_id = _ci_string(cdr.get("id"), "id")
    location = cdr.get("cdr_location")
    if not isinstance(location, dict):
        raise Malformed("cdr_location is missing")
    evse_id = _text(location.get("evse_id"), "cdr_location.evse_id", max_length=48)
    if not evse_id.isascii():  # OCPI CiString; str.upper() would fold e.g. "ı" onto "I"
        raise Malformed("cdr_location.evse_id has characters other than A-Z, 0-9 and '*'")
    evse_id = evse_id.upper()
    started = _datetime(cdr.get("start_date_time"), "start_date_time")
    stopped = _datetime(cdr.get("end_date_time"), "end_date_time")
    if stopped < started:
        raise Malformed("end_date_time is before start_date_time")
    currency = _text(cdr.get("currency"), "currency")
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise Malformed(f"currency {currency[:10]!r} is not an ISO 4217 code")
    currency = currency.upper()
    cost = cdr.get("total_cost")
    if not isinstance(cost, dict):
        raise Malformed("total_cost is missing")
    excl = _number(cost.get("excl_vat"), "total_cost.excl_vat")
    incl = _number(cost["incl_vat"], "total_cost.incl_vat") if cost.get("incl_vat") is not None else excl
    kwh = _number(cdr.get("total_energy"), "total_energy")
    credit = cdr.get("credit") is True
    reference = ""
    if credit:
        reference = _ci_string(cdr.get("credit_reference_id"), "credit_reference_id")
    else:
        if excl < 0 or incl < 0 or kwh < 0:
            raise Malformed("negative amounts are only allowed in a credit CDR")
        if incl < excl:
            raise Malformed("total_cost.incl_vat is less than excl_vat")
    price = quantize(incl, currency)
    vat = price - quantize(excl, currency)
    if credit:  # a correction: negative, whatever sign the sender used
        price, vat, kwh = -abs(price), -abs(vat), -abs(kwh)
    return Parsed(id=cdr_id, evse_id=evse_id, started_at=started, stopped_at=stopped,
                  kwh=kwh.quantize(Decimal("0.001")), price=price, vat=vat, currency=currency,
                  credit_reference_id=reference, evse_key=evse_id.replace("*", ""))


@dataclass(frozen=True)
class Plausibility:
    """What one charge can plausibly be; a CDR beyond it is refused with a reason (it would
    otherwise credit the wallet, e.g. 9 999 999 999 DKK for a 20 kWh session). Settings:
    CHARGING_MAX_KWH_PER_CHARGE, CHARGING_MAX_CHARGE_HOURS, CHARGING_MAX_PRICE_PER_KWH_EUR
    (converted to the wallet's currency with the reference rates, `ledger.convert`) and
    CHARGING_MAX_VAT_RATE (the VAT, incl_vat − excl_vat, as a share of excl_vat; also for credits). The price
    limit is per kWh delivered, counting at least 1 kWh, so a session fee on a charge that
    delivered almost nothing is not refused. Credits are checked on their absolute energy and on
    their duration; their amount is bounded by what the session earned."""

    currency: str
    max_kwh: Decimal
    max_duration: timedelta
    max_hours: Decimal
    max_price_per_kwh: Decimal  # in `currency`
    max_vat_rate: Decimal = Decimal("0.30")

    @classmethod
    def for_currency(cls, currency: str) -> "Plausibility":
        hours = Decimal(str(settings.CHARGING_MAX_CHARGE_HOURS))
        per_kwh = convert(Decimal(str(settings.CHARGING_MAX_PRICE_PER_KWH_EUR)), "EUR", currency)
        return cls(currency=currency, max_kwh=Decimal(str(settings.CHARGING_MAX_KWH_PER_CHARGE)),
                   max_duration=timedelta(hours=float(hours)), max_hours=hours,
                   max_price_per_kwh=quantize(per_kwh, currency),
                   max_vat_rate=Decimal(str(settings.CHARGING_MAX_VAT_RATE)))

    def problem(self, p: Parsed) -> str | None:
        kwh = -p.kwh if p.kwh < 0 else p.kwh
        if kwh > self.max_kwh:
            return f"Implausible charge: {kwh} kWh is more than the {self.max_kwh} kWh one charge can deliver."
        if p.stopped_at - p.started_at > self.max_duration:
            hours = (p.stopped_at - p.started_at).total_seconds() / 3600
            return (f"Implausible charge: the session lasted {hours:,.1f} hours, more than the {self.max_hours} "
                    "hours one charge can last.")
        # (a credit is bounded by its session's price instead: it may correct the price alone)
        if not p.credit_reference_id and p.price > self.max_price_per_kwh * (kwh if kwh > 1 else 1):
            return (f"Implausible charge: {p.price} {self.currency} for {kwh} kWh is more than "
                    f"{self.max_price_per_kwh} {self.currency} per kWh"
                    + (" (counting at least 1 kWh)." if kwh < 1 else "."))
        # VAT above any country's rate (excl_vat 0, or 1e-999999, made the whole price VAT); one
        # minor unit of rounding allowed (25 % of 0.01 is 0.00 or 0.01)
        vat, excl = abs(p.vat), abs(p.price - p.vat)
        if vat > self.max_vat_rate * excl + minor_unit(self.currency):
            rate = f"{(self.max_vat_rate * 100).normalize():f}"
            return (f"Implausible VAT: {vat} {self.currency} on {excl} {self.currency} excluding VAT is more than "
                    f"{rate} % of it.")
        return None


def _record_id(cdr):
    if not isinstance(cdr, dict) or cdr.get("id") is None:
        return ""
    # shown in the report: jsonb refuses NUL and lone surrogates
    return str(cdr.get("id")).replace("\x00", "").encode(errors="replace").decode()[:39]


def _check_batch(batch, offset, evses, wallet_currency, bounds: Plausibility):
    """Parse and check one batch (pure Python, no database): ([(index, Parsed)], errors). CDRs
    repeated in the file are all in the list; which one is imported is decided when writing."""
    errors, valid = [], []
    for i, cdr in enumerate(batch, start=offset):
        try:
            p = parse_cdr(cdr)
        except Malformed as exc:
            errors.append({"index": i, "id": _record_id(cdr), "reason": f"Malformed record: {exc}."})
            continue
        if p.evse_key not in evses:
            errors.append({"index": i, "id": p.id, "reason": f"Unknown EVSE id {p.evse_id}."})
        elif p.currency != wallet_currency:
            errors.append({"index": i, "id": p.id,
                           "reason": f"Wrong currency: {p.currency}, the wallet is in {wallet_currency}."})
        else:
            problem = bounds.problem(p)
            if problem is None:
                valid.append((i, p))
            else:
                errors.append({"index": i, "id": p.id, "reason": problem})
    return valid, errors


def _import_batch(*, operator, cdr_import, processed, checked, evses, schedule):
    """Write one checked batch in one transaction, retried when PostgreSQL breaks a deadlock (two
    imports inserting the same CDR ids in crossing order at the same time; within one import,
    repeated ids are held back and written by one writer)."""
    sessions, credits, errors, duplicates = checked
    for attempt in range(1, DEADLOCK_RETRIES + 1):
        try:
            return _write_batch(operator=operator, cdr_import=cdr_import, processed=processed,
                                sessions=dict(sessions), credits=credits, errors=list(errors), duplicates=duplicates,
                                evses=evses, schedule=schedule)
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != "40P01" or attempt == DEADLOCK_RETRIES:
                raise
            logger.info("CDR import %s: batch retried after a deadlock", cdr_import.pk)
            time.sleep(0.2 * attempt)  # let the other transaction finish first


def _write_batch(*, operator, cdr_import, processed, sessions, credits, errors, duplicates, evses, schedule):
    """`sessions`: {CDR id: (index, Parsed)}; `credits`: [(index, Parsed)] in file order, where
    an id may repeat: the first copy that passes the checks is imported, the others are skipped."""
    now = timezone.now()
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if is_postgresql():
            # A crash may lose the last batches' commit (never corrupt them); the import is then
            # run again, which skips what was kept. Worth it: the WAL flush per batch is not waited on.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        else:  # PostgreSQL reports what it inserted (RETURNING); SQLite does not
            existing = set(Charge.objects.filter(operator=operator, external_id__in=list(sessions))
                           .values_list("external_id", flat=True))
            for cdr_id in existing:
                del sessions[cdr_id]
            duplicates += len(existing)
        attempted = len(sessions)
        new = _insert(operator, cdr_import, sessions.values(), {}, now, evses, schedule)
        inserted = {cdr_id: p for cdr_id, (_, p) in sessions.items()}
        if credits:
            # Imported before, a session of this batch, or an earlier copy: skipped (a re-import
            # must not count a credit twice against its session).
            taken = set(Charge.objects.filter(operator=operator, external_id__in={p.id for _, p in credits})
                        .values_list("external_id", flat=True))
            sessions_by_id = {
                row["external_id"]: row for row in
                Charge.objects.filter(operator=operator, credit_of__isnull=True,
                                      external_id__in={p.credit_reference_id for _, p in credits})
                .annotate(credited=Coalesce(Sum("credits__price"), Decimal("0")))
                .values("id", "external_id", "charge_point_id", "price", "credited")
            }
            refs = {cdr_id: row["id"] for cdr_id, row in sessions_by_id.items()}
            ok = []
            for i, p in credits:
                session = sessions_by_id.get(p.credit_reference_id)
                if p.id in taken:
                    duplicates += 1
                    continue
                if session is None:
                    reason = f"Credit CDR refers to session {p.credit_reference_id}, which is not imported."
                elif evses[p.evse_key] != session["charge_point_id"]:
                    reason = (f"Credit CDR is for EVSE {p.evse_id}, but session {p.credit_reference_id} "
                              "was on another charge point.")
                elif session["credited"] + p.price < -session["price"]:  # credits are negative
                    remaining = session["price"] + session["credited"]
                    reason = (f"Credit CDR of {-p.price} {p.currency} exceeds what is left to credit on session "
                              f"{p.credit_reference_id} ({remaining} {p.currency}).")
                else:
                    session["credited"] += p.price  # several credits in one batch add up
                    ok.append((i, p))
                    taken.add(p.id)
                    inserted[p.id] = p
                    continue
                errors.append({"index": i, "id": p.id, "reason": reason})
            attempted += len(ok)
            new += _insert(operator, cdr_import, ok, refs, now, evses, schedule)
        if not is_postgresql():  # (PostgreSQL posts in the INSERT statement itself)
            rows = []
            for charge_id, cdr_id in new:
                p = inserted[cdr_id]
                if p.price:
                    rows.extend(entry_rows(operator=operator, schedule=schedule, charge_id=charge_id, name=cdr_id,
                                           price=p.price, vat=p.vat, at=p.stopped_at,
                                           is_credit=bool(p.credit_reference_id)))
            insert_ignore(WalletTransaction, LEDGER_COLUMNS, rows)
        imported = len(new)
        # The days of what this batch inserted are dirty, in its transaction (before the import's
        # row is locked below: every writer takes the locks in that order). One refresh is
        # enqueued when the import ends (`_finish`), not one per batch.
        rollups.mark_charges(operator.pk, [
            inserted[cdr_id].started_at if inserted[cdr_id].credit_reference_id
            else (inserted[cdr_id].started_at, inserted[cdr_id].stopped_at) for _, cdr_id in new],
            enqueue_refresh=False)
        # skipped: twice in this file, imported before, or inserted meanwhile by a concurrent import
        skipped = duplicates + (attempted - imported)
        errors.sort(key=lambda e: e["index"])
        if is_postgresql() and own_transaction:
            # Check the deferred foreign keys now rather than at COMMIT, so that the import's row,
            # locked by the UPDATE below, is held for a moment only (other writers update it too).
            # (Not inside a caller's transaction: the setting would outlast this batch there.)
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        CdrImport.objects.filter(pk=cdr_import.pk).update(
            processed=F("processed") + processed, imported=F("imported") + imported,
            skipped=F("skipped") + skipped, error_count=F("error_count") + len(errors))
        if errors:
            # the first reasons in file order, whatever order the batches finish in
            current = CdrImport.objects.select_for_update().only("errors").get(pk=cdr_import.pk).errors
            kept = sorted(current + errors, key=lambda e: e["index"])[:MAX_REPORTED_ERRORS]
            if kept != current:
                CdrImport.objects.filter(pk=cdr_import.pk).update(errors=kept)
    return imported, skipped, errors


def _insert(operator, cdr_import, items, refs, now, evses, schedule) -> list[tuple[int, str]]:
    """Insert charges for parsed CDRs, skipping CDR ids imported before; returns (id, CDR id) of
    the rows this call inserted. On PostgreSQL the same statement posts them to the ledger."""
    rows = [(operator.pk, evses[p.evse_key], "roaming", "completed", p.started_at, p.stopped_at, p.kwh, p.price,
             p.vat, p.currency, p.id, refs.get(p.credit_reference_id), cdr_import.pk, now, "")
            for _, p in items]
    if not rows:
        return []
    if is_postgresql():
        return insert_and_post_sql(operator=operator, model=Charge, fields=CHARGE_FIELDS, rows=rows,
                                   schedule=schedule)
    insert_ignore(Charge, CHARGE_FIELDS, rows)
    return list(Charge.objects.filter(operator=operator, cdr_import=cdr_import,
                                      external_id__in=[p.id for _, p in items]).values_list("id", "external_id"))


def run_import(*, cdr_import: CdrImport, records: list | None = None, actor=None, on_progress=None) -> CdrImport:
    """Import the CDRs of `cdr_import` (from `records`, else from its stored file). Idempotent:
    running it again imports nothing new."""
    operator = cdr_import.operator
    CdrImport.objects.filter(pk=cdr_import.pk).update(state=CdrImport.State.RUNNING, processed=0, imported=0,
                                                      skipped=0, error_count=0, errors=[], message="")
    try:
        if records is None:
            with cdr_import.file.open("rb") as fh:
                records = parse_file(fh.read())
    except (FileError, OSError) as exc:
        return _finish(cdr_import, actor, CdrImport.State.FAILED, str(exc))
    CdrImport.objects.filter(pk=cdr_import.pk).update(total=len(records))
    # by `evse_id_key`: "DK*ABC*E1" in a CDR is the charge point "DKABCE1" (the '*' are optional)
    evses = {evse_id_key(evse): pk for evse, pk in
             ChargePoint.objects.filter(operator=operator).exclude(evse_id="").values_list("evse_id", "id")}
    if is_postgresql():
        _analyze_if_never(ChargePoint)
    schedule = FeeSchedule(operator)
    try:
        bounds = Plausibility.for_currency(operator.currency)
    except FxMissing as exc:
        return _finish(cdr_import, actor, CdrImport.State.FAILED, f"{exc} It is needed for the price limit per "
                       "kWh (CHARGING_MAX_PRICE_PER_KWH_EUR): set CHARGING_FX_RATES.")
    repeated = _repeated_ids(records)
    # Held back from the parallel writers, and written afterwards one batch at a time in file
    # order, sessions first: credit CDRs (they refer to sessions, wherever those are in the file)
    # and CDRs whose id occurs more than once in the file. Of those, the first copy that is
    # accepted is imported and the others skipped, however the file falls into batches; an id
    # used by a session and by a credit goes to the session.
    held_back = []  # (index, Parsed)
    progress = _Progress(on_progress, cdr_import.pk)

    def import_batch(offset):
        batch = records[offset:offset + BATCH_SIZE]
        valid, errors = _check_batch(batch, offset, evses, operator.currency, bounds)
        direct = {}
        for i, p in valid:
            if p.credit_reference_id or p.id in repeated:
                held_back.append((i, p))
            else:
                direct[p.id] = (i, p)
        _import_batch(operator=operator, cdr_import=cdr_import, processed=len(batch) - (len(valid) - len(direct)),
                      checked=(direct, [], errors, 0), evses=evses, schedule=schedule)
        progress.report()

    def import_held_back_sessions(start):
        chunk = held_back_sessions[start:start + BATCH_SIZE]
        sessions, duplicates = {}, 0
        for i, p in chunk:  # a session is never refused here: of repeated ones the first wins
            if p.id in sessions:
                duplicates += 1
            else:
                sessions[p.id] = (i, p)
        _import_batch(operator=operator, cdr_import=cdr_import, processed=len(chunk),
                      checked=(sessions, [], [], duplicates), evses=evses, schedule=schedule)
        progress.report()

    def import_held_back_credits(start):
        chunk = held_back_credits[start:start + BATCH_SIZE]
        _import_batch(operator=operator, cdr_import=cdr_import, processed=len(chunk),
                      checked=({}, chunk, [], 0), evses=evses, schedule=schedule)
        progress.report()

    # Several writers only on PostgreSQL, and only when not inside a transaction of the caller's
    # (their own connections could not see its uncommitted rows).
    writers = WRITERS if is_postgresql() and not connection.in_atomic_block else 1
    with _records_frozen():
        try:
            _run_batches(import_batch, range(0, len(records), BATCH_SIZE), writers)
            held_back.sort(key=lambda item: item[0])  # file order
            held_back_sessions = [item for item in held_back if not item[1].credit_reference_id]
            held_back_credits = [item for item in held_back if item[1].credit_reference_id]
            _run_batches(import_held_back_sessions, range(0, len(held_back_sessions), BATCH_SIZE), 1)
            _run_batches(import_held_back_credits, range(0, len(held_back_credits), BATCH_SIZE), 1)
        except FxMissing as exc:
            return _finish(cdr_import, actor, CdrImport.State.FAILED, str(exc))
        except Exception:
            # A defect, not a bad record (those are reported one by one): log it, and end the
            # import as failed rather than leaving it "running" with a progress bar that never ends.
            logger.exception("CDR import %s failed", cdr_import.pk)
            return _finish(cdr_import, actor, CdrImport.State.FAILED,
                           "The import stopped because of an unexpected error; batches before it were "
                           "imported. Our team has been notified. Importing the file again continues "
                           "where it stopped.")
        except BaseException:  # interrupted (Ctrl-C, the worker shutting down): say so, then go on stopping
            _finish(cdr_import, actor, CdrImport.State.FAILED,
                    "The import was interrupted; batches before it were imported. Importing the file "
                    "again continues where it stopped.")
            raise
    return _finish(cdr_import, actor, CdrImport.State.DONE, "")


def _analyze_if_never(model) -> None:
    """Every inserted charge's foreign key is checked with a lookup of its charge point by
    (id, operator), planned from the statistics of the charge point table. A table autovacuum
    has not visited yet (a new database, charge points created a moment ago) has none, and the
    planner then picks an index by operator, scanning all of the operator's charge points for
    every charge (measured: 30 % slower import). Such a table is analysed first; this is quick,
    and happens once (a table of someone else's is skipped with a warning by PostgreSQL)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples < 0 FROM pg_class WHERE oid = %s::regclass", [table])
        if cursor.fetchone()[0]:
            cursor.execute(f'ANALYZE "{table}"')


def _repeated_ids(records) -> set[str]:
    """CDR ids that occur more than once in the file (read as `parse_cdr` reads them)."""
    seen, repeated = set(), set()
    for cdr in records:
        cdr_id = cdr.get("id") if isinstance(cdr, dict) else None
        if isinstance(cdr_id, str):
            cdr_id = cdr_id.strip().upper()
            (repeated if cdr_id in seen else seen).add(cdr_id)
    return repeated


class _Progress:
    """Calls `on_progress` with the import as committed, from whichever writer finished a batch:
    one call at a time, and never with less progress than the call before."""

    def __init__(self, callback, pk):
        self.callback, self.pk, self.lock, self.last = callback, pk, threading.Lock(), -1

    def report(self):
        if not self.callback:
            return
        with self.lock:
            current = CdrImport.objects.get(pk=self.pk)
            if current.processed > self.last:
                self.last = current.processed
                self.callback(current)


def _run_batches(work, offsets, writers: int) -> None:
    """Call `work(offset)` for each offset: in this thread, or spread over `writers` threads, each
    with its own database connection (closed when it ends). The first failure stops the others
    from starting new batches and is raised here."""
    if writers == 1 or len(offsets) < 2:
        for offset in offsets:
            work(offset)
        return
    pending, lock, failures = iter(offsets), threading.Lock(), []

    def writer():
        try:
            while not failures:
                with lock:
                    offset = next(pending, None)
                if offset is None:
                    return
                work(offset)
        except BaseException as exc:  # re-raised in the calling thread below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, name=f"cdr-import-{n}") for n in range(min(writers, len(offsets)))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException as exc:  # e.g. Ctrl-C while waiting: the writers finish their batch, then stop
        failures.append(exc)
        while any(thread.is_alive() for thread in threads):  # (a second Ctrl-C waits for them too)
            try:
                for thread in threads:
                    thread.join()
            except BaseException:
                continue
        raise
    if failures:
        raise failures[0]


@contextmanager
def _gc_paused():
    """JSON decoding makes a tree of new objects without a single reference cycle, so the cyclic
    garbage collector has nothing to find in it, yet it would walk the growing tree again and
    again (half of the parse time of 100 000 CDRs)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _records_frozen():
    """A parsed file is millions of long-lived objects (a dict per CDR and per nested object).
    Python's cyclic garbage collector would walk all of them again and again while the batches
    allocate; freezing what exists now (`gc.freeze`) exempts them until the import ends (about
    15 % faster on 100 000 CDRs)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@transaction.atomic
def _finish(cdr_import, actor, state, message):
    CdrImport.objects.filter(pk=cdr_import.pk).update(state=state, message=message[:255],
                                                      finished_at=timezone.now())
    cdr_import.refresh_from_db()
    rollups.enqueue(cdr_import.operator_id)  # after commit: the days its batches marked
    audit.record(operator=cdr_import.operator, actor=actor, action="created", item=cdr_import,
                 verb="charges.cdr_import_finished" if state == CdrImport.State.DONE else "charges.cdr_import_failed",
                 changes={k: {"before": None, "after": getattr(cdr_import, k)}
                          for k in ("total", "imported", "skipped", "error_count")} | (
                     {"message": {"before": None, "after": message}} if message else {}))
    return cdr_import
