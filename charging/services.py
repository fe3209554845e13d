"""Every write to sites, charge points and charges. One transaction each, an audit event for
each change a member makes, `operator` and `actor` always passed.

Charges and their ledger entries are written in bulk by `charging.cdr_import` and
`charging.ledger` (jobs: actor None = system)."""
import csv
import io
import unicodedata
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models.deletion import ProtectedError
from django.utils import timezone

from charging.forms import ChargePointForm
from charging.models import CdrImport, Charge, ChargePoint, Connector, Site
from portal import audit
from portal.errors import NotAllowed
from portal.validators import evse_id_key


# --- Sites -----------------------------------------------------------------------------------------
@transaction.atomic
def site_create(*, operator, actor, data: dict) -> Site:
    site = Site.objects.create(operator=operator, **data)
    audit.record(operator=operator, actor=actor, action="created", item=site,
                 changes=audit.created_changes(site, Site.AUDIT_FIELDS), verb="site.created")
    return site


@transaction.atomic
def site_update(*, operator, actor, site_id: int, data: dict) -> dict:
    site = Site.objects.select_for_update().filter(operator=operator, pk=site_id).first()
    if site is None:
        raise NotAllowed("This site does not exist.")
    before = audit.snapshot(site, Site.AUDIT_FIELDS)
    for name, value in data.items():
        setattr(site, name, value)
    changes = audit.diff(before, audit.snapshot(site, Site.AUDIT_FIELDS))
    if changes:
        site.save()
        audit.record(operator=operator, actor=actor, action="updated", item=site, changes=changes,
                     verb="site.updated")
    return changes


@transaction.atomic
def site_delete(*, operator, actor, site_id: int) -> None:
    site = Site.objects.select_for_update().filter(operator=operator, pk=site_id).first()
    if site is None:
        raise NotAllowed("This site does not exist.")
    if ChargePoint.objects.filter(operator=operator, site=site).exists():
        raise NotAllowed("This site still has charge points. Move or delete them first.")
    from dashboards.models import Dashboard

    used = list(Dashboard.objects.filter(operator=operator, site=site).values_list("name", flat=True)[:3])
    if used:  # a dashboard (maybe shared) filters on it: deleting it must never widen what it shows
        raise NotAllowed(f"This site is the filter of the dashboard{'s' if len(used) > 1 else ''} "
                         f"{', '.join(f'“{n}”' for n in used)}. Change or delete the dashboard first.")
    audit.record(operator=operator, actor=actor, action="deleted", item=site,
                 changes=audit.deleted_changes(site, Site.AUDIT_FIELDS), verb="site.deleted")
    site.delete()


# --- Charge points ---------------------------------------------------------------------------------
def _connectors_text(charge_point) -> str:
    return ", ".join(str(c) for c in charge_point.connectors.all())


def _save_connectors(operator, charge_point, connectors):
    """`connectors`: list of (identifier, max_kw), replacing the present ones."""
    Connector.objects.filter(charge_point=charge_point).delete()
    Connector.objects.bulk_create(
        Connector(operator=operator, charge_point=charge_point, identifier=ident, max_kw=kw)
        for ident, kw in connectors
    )


@transaction.atomic
def charge_point_create(*, operator, actor, data: dict, connectors=()) -> ChargePoint:
    if data.get("site") is not None and data["site"].operator_id != operator.pk:
        raise NotAllowed("This site does not exist.", field="site")
    cp = ChargePoint.objects.create(operator=operator, **data)
    _save_connectors(operator, cp, connectors)
    changes = audit.created_changes(cp, ChargePoint.AUDIT_FIELDS)
    if connectors:
        changes["connectors"] = {"before": None, "after": _connectors_text(cp)}
    audit.record(operator=operator, actor=actor, action="created", item=cp, parent=cp.site,
                 changes=changes, verb="charge_point.created")
    return cp


@transaction.atomic
def charge_point_update(*, operator, actor, charge_point_id: int, data: dict, connectors=None) -> dict:
    cp = ChargePoint.objects.select_for_update().filter(operator=operator, pk=charge_point_id).first()
    if cp is None:
        raise NotAllowed("This charge point does not exist.")
    if data.get("site") is not None and data["site"].operator_id != operator.pk:
        raise NotAllowed("This site does not exist.", field="site")
    before = audit.snapshot(cp, ChargePoint.AUDIT_FIELDS)
    before_connectors = _connectors_text(cp)
    for name, value in data.items():
        setattr(cp, name, value)
    changes = audit.diff(before, audit.snapshot(cp, ChargePoint.AUDIT_FIELDS))
    if changes:
        cp.save()
    if connectors is not None:
        _save_connectors(operator, cp, connectors)
        after_connectors = _connectors_text(cp)
        if after_connectors != before_connectors:
            changes["connectors"] = {"before": before_connectors, "after": after_connectors}
    if changes:
        audit.record(operator=operator, actor=actor, action="updated", item=cp, parent=cp.site,
                     changes=changes, verb="charge_point.updated")
    return changes


@transaction.atomic
def charge_point_delete(*, operator, actor, charge_point_id: int) -> None:
    cp = ChargePoint.objects.select_for_update().filter(operator=operator, pk=charge_point_id).first()
    if cp is None:
        raise NotAllowed("This charge point does not exist.")
    if Charge.objects.filter(operator=operator, charge_point=cp).exists():
        raise NotAllowed("This charge point has charges, which stay on record: it cannot be deleted. "
                         "Set its state to Passive instead.")
    audit.record(operator=operator, actor=actor, action="deleted", item=cp, parent=cp.site,
                 changes=audit.deleted_changes(cp, ChargePoint.AUDIT_FIELDS), verb="charge_point.deleted")
    try:
        cp.delete()
    except ProtectedError:
        raise NotAllowed("This charge point has charges: it cannot be deleted.") from None


# --- CSV import of charge points -------------------------------------------------------------------
CSV_COLUMNS = ["name", "evse_id", "serial_number", "site", "brand_name", "model_name", "type", "max_kw",
               "visibility", "state"]
MAX_CSV_ROWS = 5000


@dataclass
class CsvReport:
    rows: int = 0
    errors: list = field(default_factory=list)  # (line number, "field: message")
    created: list = field(default_factory=list)
    header_error: str = ""

    @property
    def valid_rows(self):
        return self.rows - len({line for line, _ in self.errors})


def _csv_rows(text):
    reader = csv.DictReader(io.StringIO(text), strict=True)  # strict: an unclosed quote is an error
    if not reader.fieldnames:
        return None, "The file is empty."
    names = [(n or "").strip().lower() for n in reader.fieldnames]
    missing = [c for c in ("name", "evse_id") if c not in names]
    if missing:
        return None, f"Missing column(s): {', '.join(missing)}. Expected: {', '.join(CSV_COLUMNS)}."
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:
        return None, f"Column(s) appear more than once: {', '.join(twice)}."
    unknown = [n for n in names if n and n not in CSV_COLUMNS]
    if unknown:
        return None, f"Unknown column(s): {', '.join(unknown)}. Expected: {', '.join(CSV_COLUMNS)}."
    reader.fieldnames = names
    return reader, ""


def charge_points_import_csv(*, operator, actor, text: str, import_valid_rows: bool) -> CsvReport:
    """Validate every row like the charge point form does; create all rows, or none when any row is
    invalid (unless `import_valid_rows`). Returns the per-row report."""
    report = CsvReport()
    try:
        return _import_csv(operator, actor, text, import_valid_rows, report)
    except csv.Error as exc:
        report.header_error = f"The file is not a readable CSV file ({exc})."
        report.errors.clear()
        report.created.clear()
        return report


def _site_key(name: str) -> str:
    """A site name as the CSV import's `site` column is matched: without case, in one Unicode
    normal form (an "é" typed as e + combining accent is the same name)."""
    return unicodedata.normalize("NFC", name.strip()).casefold()


def _import_csv(operator, actor, text, import_valid_rows, report):
    reader, problem = _csv_rows(text)
    if reader is None:
        report.header_error = problem
        return report
    sites = {}  # by `_site_key`; a list, as names are not unique
    for site in Site.objects.filter(operator=operator):
        sites.setdefault(_site_key(site.name), []).append(site)
    seen_evse = {}
    valid = []
    for line, row in enumerate(reader, start=2):
        report.rows += 1
        if report.rows > MAX_CSV_ROWS:
            report.header_error = f"The file has more than {MAX_CSV_ROWS} rows: split it."
            report.errors.clear()
            return report
        extra = row.pop(None, None)  # cells beyond the header line
        row = {k: (v or "").strip() for k, v in row.items() if k}
        if extra and any(cell.strip() for cell in extra):
            report.errors.append((line, f"this line has {len(extra)} more cell(s) than the header"))
            continue
        site_name = row.pop("site", "")
        data = {
            **row,
            "type": row.get("type", "").lower() or "ac",
            "visibility": row.get("visibility", "").lower() or "public",
            "state": row.get("state", "").lower() or "available",
        }
        row_errors = []
        if site_name:
            found = sites.get(_site_key(site_name), [])
            if not found:
                row_errors.append(f"site: no site named “{site_name}”")
            elif len(found) > 1:
                row_errors.append(f"site: {len(found)} sites are named “{site_name}”; rename one of them first")
            else:
                data["site"] = found[0].pk
        form = ChargePointForm(data, operator=operator)
        if not form.is_valid():
            for name, messages in form.errors.items():
                row_errors.extend(f"{name}: {m}" for m in messages)
        evse = evse_id_key(data.get("evse_id", ""))  # one EVSE however its '*' separators are written
        if evse and evse in seen_evse:
            row_errors.append(f"evse_id: same EVSE id as line {seen_evse[evse]}")
        seen_evse.setdefault(evse, line)
        if row_errors:
            report.errors.extend((line, e) for e in row_errors)
        else:
            valid.append(form.cleaned_data)
    if report.errors and not import_valid_rows:
        return report
    if report.rows == 0:
        report.header_error = "The file has no rows."
        return report
    with transaction.atomic():
        for data in valid:
            report.created.append(charge_point_create(operator=operator, actor=actor, data=data))
    return report


# --- CDR import --------------------------------------------------------------------------------------
@transaction.atomic
def cdr_import_create(*, operator, actor, upload) -> CdrImport:
    """Store the uploaded file and queue its import (after commit, so the task finds the row)."""
    from charging import tasks

    cdr_import = CdrImport(operator=operator, created_by=actor, filename=upload.name[:255])
    cdr_import.file.save(f"{operator.slug}-{timezone.now():%Y%m%d%H%M%S}.json", upload, save=False)
    cdr_import.save()
    transaction.on_commit(lambda: tasks.import_cdrs.delay(cdr_import.pk))
    return cdr_import
