"""Review findings (exports and site picker): each test failed on the code before its fix ("today:" is what it did)."""
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from charging import exports
from charging.models import Export, Site
from portal import csv
from tests.factories import ChargeFactory, ChargePointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# --- portal/csv.py write(): the fast path must write exactly what cell() writes -------------------
@pytest.mark.parametrize("value", [5, -5, Decimal("-12.50"), True, 3.5])
def test_fast_path_writes_what_cell_writes_for_non_text_values(value):
    slow, fast = io.StringIO(), io.StringIO()
    csv.write(slow, ["a"], [(value,)])
    csv.write(fast, ["a"], [(value,)], text_columns=(0,))  # TypeError: 'int' object is not subscriptable
    assert fast.getvalue() == slow.getvalue()


# --- export_new: the query is cut at 2000 characters, silently dropping filters -------------------
def test_an_over_long_query_is_refused_not_cut_to_every_row(admin_client, operator):
    query = "x=" + "a" * 2000 + "&state=failed"  # the list's address with some junk before the filter
    response = admin_client.post(f"/o/{operator.slug}/exports/new/", {"kind": "charges", "query": query})
    export = Export.objects.first()
    # today: 302, an export of every charge (the state filter was cut off)
    assert response.status_code == 400 or (export is not None and "state=failed" in export.query)


def test_the_stored_query_fits_its_column(admin_client, operator):
    # the stored query is the re-encoded form data, longer than the 2000 characters kept of the input:
    # CharField(max_length=2000) -> DataError (500) on PostgreSQL, an over-long value on SQLite
    query = "a&" * 999  # 1 998 characters; re-encoded by form.data.urlencode() as "a=&a=&…": 2 997
    admin_client.raise_request_exception = False
    response = admin_client.post(f"/o/{operator.slug}/exports/new/", {"kind": "charges", "query": query})
    assert response.status_code in (302, 400)
    assert all(len(e.query) <= 2000 for e in Export.objects.all())


# --- the job: a stale worker must not clobber the worker that took over ---------------------------
def test_a_stale_worker_that_fails_does_not_fail_the_job_another_worker_took_over(operator, media, monkeypatch):
    point = ChargePointFactory(operator=operator)
    for i in range(3):
        ChargeFactory(operator=operator, charge_point=point, external_id=f"S{i}")
    export = Export.objects.create(operator=operator, kind="charges", total=3)
    from tests.charging.test_exports import _break_half_way

    def taken_over():
        # worker A went silent past STALE; Celery delivered the task again and worker B claimed it
        Export.objects.filter(pk=export.pk).update(heartbeat_at=timezone.now() - exports.STALE - timedelta(seconds=1))
        assert exports.claim(export.pk)

    _break_half_way(monkeypatch, then=taken_over)
    with pytest.raises(Exception, match="database went away|division by zero"):
        exports.run(export.pk)  # worker A
    export.refresh_from_db()
    # today: "failed": A's failure overwrote the job B is doing (B's finish then deletes its file)
    assert export.state == "running"


# --- a failure after the file was (partly) written leaves it in storage, never pruned -------------
def test_a_failure_while_saving_the_file_leaves_no_file(operator, media, monkeypatch):
    from django.core.files import File

    point = ChargePointFactory(operator=operator)
    for i in range(3):
        ChargeFactory(operator=operator, charge_point=point, external_id=f"F{i}")
    export = Export.objects.create(operator=operator, kind="charges", total=3)

    def chunks(self, chunk_size=None):
        self.file.seek(0)
        yield self.file.read(10)
        raise OSError("No space left on device")

    monkeypatch.setattr(File, "chunks", chunks)
    with pytest.raises(OSError):
        exports.run(export.pk)
    export.refresh_from_db()
    assert export.state == "failed"
    assert not list(media.rglob("*.csv")), list(media.rglob("*.csv"))  # today: a 10-byte cut-off CSV stays


def test_a_crash_after_the_file_was_saved_leaves_no_orphan_after_takeover(operator, media, monkeypatch):
    point = ChargePointFactory(operator=operator)
    ChargeFactory(operator=operator, charge_point=point)
    export = Export.objects.create(operator=operator, kind="charges", total=1)
    real_finish = exports._finish

    def crash(export_id, **values):
        raise SystemExit("worker killed")  # between the file's save and the row's update

    monkeypatch.setattr(exports, "_finish", crash)
    with pytest.raises(SystemExit):
        exports.run(export.pk)
    monkeypatch.setattr(exports, "_finish", real_finish)
    Export.objects.filter(pk=export.pk).update(heartbeat_at=timezone.now() - exports.STALE - timedelta(seconds=1))
    exports.run(export.pk)  # taken over
    export.refresh_from_db()
    assert export.state == "done"
    files = list(media.rglob("*.csv"))
    assert len(files) == 1, files  # today: 2, the first never referenced nor pruned


# --- site picker: two sites offered under one label, the wrong one picked -------------------------
def test_a_dashed_name_and_a_name_with_a_city_are_not_offered_under_one_label(admin_client, operator):
    Site.objects.bulk_create(Site(operator=operator, name=f"Garage {i:03d}", country="DK") for i in range(120))
    dashed = Site.objects.create(operator=operator, name="North — East", city="", country="DK")
    Site.objects.create(operator=operator, name="North", city="East", country="DK")
    mine = ChargeFactory(operator=operator, charge_point=ChargePointFactory(operator=operator, site=dashed),
                         external_id="AT-DASHED")
    html = admin_client.get(f"/o/{operator.slug}/sites/search/?q=North").content.decode()
    import re

    options = re.findall(r'<option value="([^"]*)"', html)
    assert len(set(options)) == len(options), options  # today: ["North — East", "North — East"]
    # whichever the member picks, typing the dashed site's label must give the dashed site (or a 400)
    response = admin_client.get(f"/o/{operator.slug}/charges/", {"site": "North — East"})
    assert response.status_code == 400 or [c.pk for c in response.context["page"]] == [mine.pk]


def test_a_name_that_looks_like_a_twin_label_is_that_site(admin_client, operator):
    sites = Site.objects.bulk_create(Site(operator=operator, name=f"Garage {i:03d}", country="DK") for i in range(120))
    other = sites[0]
    named = Site.objects.create(operator=operator, name=f"Garage 000 (#{other.pk})", city="", country="DK")
    mine = ChargeFactory(operator=operator, charge_point=ChargePointFactory(operator=operator, site=named),
                         external_id="AT-NAMED")
    response = admin_client.get(f"/o/{operator.slug}/charges/", {"site": named.name})
    # today: site `other` ("Garage 000") is picked: an id wins over the name that was typed
    assert [c.pk for c in response.context["page"]] == [mine.pk]


# --- prune deletes the file before marking the row: a download in between is a 500 ----------------
def test_a_done_export_whose_file_is_gone_is_not_a_500(admin_client, operator, media):
    ChargeFactory(operator=operator, charge_point=ChargePointFactory(operator=operator))
    export = Export.objects.create(operator=operator, kind="charges", total=1)
    exports.run(export.pk)
    export.refresh_from_db()
    export.file.delete(save=False)  # what prune() has done, before its update of the row
    admin_client.raise_request_exception = False
    response = admin_client.get(f"/o/{operator.slug}/exports/{export.pk}/download/")
    assert response.status_code in (302, 404, 410)  # today: 500 (FileNotFoundError)


# --- export_new: the limit of three exports in preparation is a check-then-insert race -------------
import os  # noqa: E402


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_four_clicks_at_once_make_no_more_than_three_exports(monkeypatch):
    from django.test import Client

    from charging import tasks
    from portal.permissions import Role
    from tests.concurrency import at_once
    from tests.factories import OperatorFactory, member

    monkeypatch.setattr(tasks.run_export, "delay", lambda *a, **k: None)  # the jobs stay queued
    operator = OperatorFactory()
    user = member(operator, Role.ADMIN)

    def click():
        client = Client()
        client.force_login(user)
        return client.post(f"/o/{operator.slug}/exports/new/", {"kind": "charges", "query": ""}).status_code

    for _ in range(5):
        Export.objects.filter(operator=operator).delete()
        Export.objects.bulk_create(Export(operator=operator, requested_by=user, kind="charges") for _ in range(2))
        at_once(click, times=4)
        assert Export.objects.filter(operator=operator, state="queued").count() <= 3
