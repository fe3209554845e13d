"""Exports in Chromium: a small charges export downloads at once; a large one is offered as a
background job, whose page follows its progress and then downloads the file (a real Celery
worker when Redis is configured)."""
import csv
import io
from contextlib import nullcontext

import pytest
from django.conf import settings
from playwright.sync_api import expect

from portal.permissions import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, ChargeFactory, ChargePointFactory, OperatorFactory, member


def _worker():
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return nullcontext()
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    return start_worker(app, pool="solo", perform_ping_check=False)


def _rows(download):
    text = open(download.path(), encoding="utf-8").read()
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.django_db(transaction=True)
def test_small_export_downloads_and_a_large_one_is_prepared_then_downloaded(page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    operator = OperatorFactory(name="Harbour Charging ApS")
    point = ChargePointFactory(operator=operator, name="Harbour #1", evse_id="DK*HRB*E00001")
    for i in range(5):
        ChargeFactory(operator=operator, charge_point=point, external_id=f"=HRB-{i}")
    user = member(operator, Role.BOOKKEEPER)
    sign_in(page, user.email, PASSWORD)
    page.goto(f"/o/{operator.slug}/charges/")
    with page.expect_download() as info:  # small: the file at once
        page.get_by_test_id("export-csv").click()
    rows = _rows(info.value)
    assert info.value.suggested_filename.startswith("charges-") and len(rows) == 6 and rows[1][1].startswith("'=HRB-")

    settings.CHARGING_EXPORT_INLINE_MAX_ROWS = 2
    with _worker():
        page.get_by_test_id("export-csv").click()
        expect(page.get_by_test_id("export-confirm")).to_contain_text("5 rows")
        page.get_by_test_id("export-prepare").click()
        progress = page.get_by_test_id("export-progress")
        expect(progress).to_have_attribute("data-state", "done", timeout=30_000)
        expect(page.get_by_test_id("progress-text")).to_contain_text("5 rows")
        page.screenshot(path="/tmp/export-e2e.png", full_page=True)
        with page.expect_download() as info:
            page.get_by_test_id("export-download").click()
    assert _rows(info.value) == rows
    page.get_by_role("link", name="← Exports").click()
    expect(page.get_by_test_id("export-list")).to_contain_text(user.email)
