"""The CSV exports of charges and wallet transactions, at database speed, and the job of a large one.

Charges on PostgreSQL: the database writes the file (COPY … TO STDOUT WITH CSV), every column
already text and the formula escaping in SQL (portal.csv.cell_sql). Elsewhere, and for the
wallet (its running balance), rows are plain tuples from one query written by portal/csv.py,
only the columns that may hold text typed by someone else escaped. The same file is a download
made in the request (small exports) or the background job of a large one (`Export`).
"""
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.db.models import F, Func, Q, TextField
from django.http import QueryDict
from django.utils import timezone

from charging import selectors
from portal import audit, csv
from portal.errors import DomainError
from portal.pagination import CURSOR_PARAMS

CHUNK = 5000

CHARGE_HEADER = ["id", "external_id", "charge_point_id", "evse_id", "charge_point", "site", "type", "state",
                 "started_at", "stopped_at", "consumed_kwh", "price", "vat_amount", "currency", "credit_of",
                 "failure_reason"]
_CHARGE_FIELDS = ("pk", "external_id", "charge_point_id", "charge_point__evse_id", "charge_point__name",
                  "charge_point__site__name", "type", "state", "started_at", "stopped_at", "consumed_kwh",
                  "price", "vat_amount", "currency", "credit_of_id", "failure_reason")
CHARGE_TEXT_COLUMNS = (1, 3, 4, 5, 15)  # external id, EVSE id, names, failure reason


def _utc(moment):
    """An instant as the export writes it: ISO 8601 in UTC, to the second (as PostgreSQL's
    to_char below): 2026-11-03T07:15:00+00:00."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat() if moment else None


def charge_rows(qs):
    """The rows of the charges export for a queryset of `selectors.charges` (its order kept), in
    Python: SQLite, and the reference the PostgreSQL COPY is tested against."""
    for (pk, ext, cp_id, evse, cp_name, site, kind, state, started, stopped, kwh, price, vat, currency,
         credit_of, reason) in qs.values_list(*_CHARGE_FIELDS).iterator(chunk_size=CHUNK):
        yield (pk, ext, cp_id, evse, cp_name, site, kind, state, _utc(started), _utc(stopped), kwh, price, vat,
               currency, credit_of, reason)


class _Text(Func):
    template = "(%(expressions)s)::text"  # numbers keep their scale (12.500), as str(Decimal)
    output_field = TextField()


class _Utc(Func):
    template = "to_char((%(expressions)s) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')"
    output_field = TextField()


class _Cell(Func):
    """portal.csv.cell() of a text column, in SQL."""
    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        if params:
            raise ValueError("only plain columns are escaped in SQL")
        return csv.cell_sql(sql), []


def _copy_select(qs):
    """The export's SELECT for PostgreSQL: every column already the text the file holds."""
    text = ("pk", "charge_point_id", "consumed_kwh", "price", "vat_amount", "credit_of_id")
    cells = ("external_id", "charge_point__evse_id", "charge_point__name", "charge_point__site__name",
             "failure_reason")
    names = {f: f"x_{i}" for i, f in enumerate(_CHARGE_FIELDS)}
    annotations = {names[f]: _Text(f) for f in text}
    annotations |= {names[f]: _Cell(f) for f in cells}
    annotations |= {names[f]: _Utc(f) for f in ("started_at", "stopped_at")}
    vq = qs.annotate(**annotations).values_list(*(names[f] if names[f] in annotations else f for f in _CHARGE_FIELDS))
    return vq.query.sql_with_params()


def charges_to_file(qs, *, progress=None, every=20_000):
    """The charges export as a temporary file, read from its start, and its number of rows. On
    PostgreSQL the database writes the rows itself (COPY … TO STDOUT, CSV) with the escaping of
    portal.csv.cell_sql(), at its own speed, streamed to the file chunk by chunk (memory stays
    flat); elsewhere charge_rows() in Python. `every` is for the Python rows only."""
    if connection.vendor != "postgresql":
        return csv.to_file(CHARGE_HEADER, charge_rows(qs), text_columns=CHARGE_TEXT_COLUMNS, progress=progress,
                           every=every)
    import tempfile

    sql, params = _copy_select(qs)
    binary = tempfile.TemporaryFile()
    try:
        binary.write(csv.header_line(CHARGE_HEADER))
        # (in a transaction of its own, or a savepoint in an outer one: a failed COPY leaves the
        # connection usable for saying so)
        with transaction.atomic(), connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f"COPY ({connection.ops.compose_sql(sql, params)}) TO STDOUT WITH (FORMAT csv)") as copy:
                for data in copy:
                    binary.write(data)
            count = raw.rowcount
        # Progress only now: the connection is busy with the COPY until its end (a million rows
        # take a few seconds, far from the job's silence limit).
        if progress is not None:
            progress(count)
    except BaseException:
        binary.close()
        raise
    binary.seek(0)
    return binary, count


WALLET_HEADER = ["created_at", "kind", "group", "state", "amount", "vat_amount", "currency", "balance_after",
                 "reference", "note"]
WALLET_TEXT_COLUMNS = (8, 9)  # reference, note


def wallet_rows(*, operator, filters):
    from operators.models import WalletTransaction

    kinds = dict(WalletTransaction.Kind.choices)
    for e, balance in selectors.wallet_rows_for_export(operator=operator, filters=filters):
        yield (e.created_at.isoformat(), kinds.get(e.kind, e.kind), e.group, e.state, e.amount, e.vat_amount,
               e.currency, balance, e.reference, e.note)


# --- Kinds of export, and the job that prepares a large one ---------------------------------------
log = logging.getLogger(__name__)
STALE = timedelta(minutes=10)  # a running job silent for this long has died: it may be taken over


@dataclass(frozen=True)
class Kind:
    name: str
    permission: str
    header: list
    text_columns: tuple

    def form(self, operator, query):
        from charging.forms import ChargeFilterForm, WalletFilterForm

        form_class = ChargeFilterForm if self.name == "charges" else WalletFilterForm
        data = QueryDict(query, mutable=True)
        for name in (*CURSOR_PARAMS, "format"):
            data.pop(name, None)
        return form_class(data or None, operator=operator)

    def to_file(self, operator, filters, **options):
        """(temporary file, rows) of this export."""
        if self.name == "charges":
            return charges_to_file(selectors.charges(operator=operator, filters=filters), **options)
        return csv.to_file(self.header, wallet_rows(operator=operator, filters=filters),
                           text_columns=self.text_columns, **options)

    def count(self, operator, filters):
        if self.name == "charges":
            return selectors.charge_totals(operator=operator, filters=filters,
                                           charges=selectors.charges(operator=operator, filters=filters))["count"]
        return selectors.wallet_transactions(operator=operator, filters=filters).count()

    def filename(self, operator):
        return f"{self.name}-{operator.slug}-{timezone.localdate():%Y-%m-%d}.csv"


KINDS = {
    "charges": Kind("charges", "charging:read", CHARGE_HEADER, CHARGE_TEXT_COLUMNS),
    "wallet": Kind("wallet", "wallet:read", WALLET_HEADER, WALLET_TEXT_COLUMNS),
}


def inline_limit() -> int:
    return settings.CHARGING_EXPORT_INLINE_MAX_ROWS


def canonical_query(form) -> str:
    """The filters an export keeps: only the form's own fields, as typed (what the job reads again)."""
    if not form.is_bound:
        return ""
    data = QueryDict(mutable=True)
    for name in form.fields:
        for value in form.data.getlist(name):
            if value != "":
                data.appendlist(name, value)
    return data.urlencode()


def label(form, name) -> str:
    field = form.fields.get(name)
    return (field.label if field is not None and field.label else name.replace("_", " ")).capitalize()


def describe(form) -> str:
    """The filters of an export in words ("Site: Harbour · From 2026-01-01"), for its page."""
    parts = []
    for name, value in (form.cleaned_data or {}).items():
        if value in (None, "") or name not in form.fields:
            continue
        field = form.fields[name]
        if hasattr(field, "choices") and not hasattr(value, "pk"):
            value = dict(field.choices).get(value, value)
        parts.append(f"{label(form, name)}: {value}")
    return " · ".join(parts)[:255]


MAX_IN_PREPARATION = 3  # a member's exports waiting or being prepared at a time


def ask_for(*, operator, membership, kind: Kind, query: str):
    """A large export asked for by a member: validated, recorded, audited, and queued after commit.
    Refused (DomainError) for filters that are not valid or too long, or when the member already
    has MAX_IN_PREPARATION exports in preparation (counted under a lock on the membership row,
    so clicks at once are counted one after the other)."""
    from charging import tasks
    from charging.models import Export
    from members.models import Membership

    form = kind.form(operator, query)
    if form.is_bound and not form.is_valid():
        raise DomainError("The filters of this export are not valid: " + "; ".join(
            f"{label(form, n)}: {' '.join(e)}" for n, e in form.errors.items()))
    kept = canonical_query(form)
    if len(kept) > Export._meta.get_field("query").max_length:
        raise DomainError("The filters of this export are too long: go back to the list and ask again.")
    filters = form.cleaned_data if form.is_bound else {}
    user = membership.user
    with transaction.atomic():
        Membership.objects.select_for_update().filter(pk=membership.pk).first()
        busy = Export.objects.filter(operator=operator, requested_by=user,
                                     state__in=[Export.State.QUEUED, Export.State.RUNNING]).count()
        if busy >= MAX_IN_PREPARATION:
            raise DomainError(f"You already have {busy} exports being prepared: wait until one is ready.")
        export = Export.objects.create(operator=operator, requested_by=user, kind=kind.name, query=kept,
                                       description=describe(form) if form.is_bound else "",
                                       total=kind.count(operator, filters))
        audit.record(operator=operator, actor=user, action="created", item=export, item_type="export",
                     changes={"kind": {"before": None, "after": kind.name},
                              "filters": {"before": None, "after": export.description}})
        transaction.on_commit(lambda: tasks.run_export.delay(export.pk))
    return export


def download(kind: Kind, operator, filters):
    """A small export made now: written to a temporary file first, then sent with its length, so
    a failure is an error page, never a cut-off file with status 200; memory stays flat."""
    binary, _ = kind.to_file(operator, filters)
    return csv.file_response(binary, kind.filename(operator))


def claim(export_id: int) -> str | None:
    """Take the job of an export: a waiting one, or a running one whose worker went silent (a
    crash: Celery delivers the task again). Exactly one worker wins; it gets a token that its
    progress and its finish name, so a silent worker that wakes up again changes nothing."""
    from charging.models import Export

    now, token = timezone.now(), secrets.token_hex(8)
    claimed = Export.objects.filter(pk=export_id).filter(
        Q(state=Export.State.QUEUED) | Q(state=Export.State.RUNNING, heartbeat_at__lt=now - STALE),
    ).update(state=Export.State.RUNNING, heartbeat_at=now, processed=0, worker=token, attempts=F("attempts") + 1)
    return token if claimed else None


def run(export_id: int) -> None:
    """Prepare one export (the Celery task's body). Safe to run twice, at once, or after a crash:
    only the claimant works; the file is written under a name of its own attempt, recorded on
    the row first, so a worker that takes over deletes what a crashed one left, and a failure
    deletes its own part-written file."""
    from charging.models import Export

    token = claim(export_id)
    if token is None:
        return
    export = Export.objects.select_related("operator").get(pk=export_id)
    mine = Export.objects.filter(pk=export_id, worker=token, state=Export.State.RUNNING)
    if export.file:  # a crashed attempt's file (complete or not): never referenced as done
        export.file.storage.delete(export.file.name)
    name = f"exports/{export.operator_id}/{export.pk}-{token}.csv"
    mine.update(file=name)
    kind = KINDS[export.kind]
    form = kind.form(export.operator, export.query)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    if form.is_bound and form.errors:
        mine.update(state=Export.State.FAILED, file="", finished_at=timezone.now(),
                    message="The filters are no longer valid (a site was deleted?).")
        return

    def progress(rows):
        mine.update(processed=rows, heartbeat_at=timezone.now())

    storage = export.file.storage
    try:
        binary, rows = kind.to_file(export.operator, filters, progress=progress, every=20_000)
        with binary:
            size = binary.seek(0, 2)
            binary.seek(0)
            saved = storage.save(name, File(binary))
            if saved != name:  # (the storage picked another name: keep ours recorded)
                mine.update(file=saved)
                name = saved
    except BaseException:
        log.exception("export %s failed", export_id)
        storage.delete(name)
        mine.update(state=Export.State.FAILED, file="", finished_at=timezone.now(),
                    message="The export failed: please ask for it again.")
        raise
    if not _finish(mine, processed=rows, total=rows, size=size,
                   expires_at=timezone.now() + timedelta(days=settings.CHARGING_EXPORT_KEEP_DAYS)):
        storage.delete(name)  # another worker took over meanwhile: its file counts


def _finish(mine, **values) -> bool:
    from charging.models import Export

    return bool(mine.update(state=Export.State.DONE, finished_at=timezone.now(), heartbeat_at=timezone.now(),
                            **values))


def prune() -> int:
    """Upkeep (beat, every 15 minutes): exports past their keeping time become Expired (the row
    first, then the file, so a download in between finds no file rather than half of one);
    exports whose task never arrived, or whose worker died, are delivered again."""
    from charging import tasks
    from charging.models import Export

    count = 0
    for export in Export.objects.filter(state=Export.State.DONE, expires_at__lte=timezone.now()):
        if Export.objects.filter(pk=export.pk, state=Export.State.DONE).update(state=Export.State.EXPIRED, file=""):
            if export.file:
                export.file.storage.delete(export.file.name)
            count += 1
    silent = timezone.now() - STALE
    for pk in Export.objects.filter(Q(state=Export.State.QUEUED, created_at__lt=silent)
                                    | Q(state=Export.State.RUNNING, heartbeat_at__lt=silent)).values_list("pk", flat=True):
        tasks.run_export.delay(pk)
    return count
