import json
from contextlib import nullcontext
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from playwright.sync_api import expect

from charging import cdr_import as importer
from operators.models import Fee
from portal.permissions import Role
from tests.charging.cdrs import cdr
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, ChargePointFactory, OperatorFactory, member


def _worker():
    """With Redis configured the upload is queued: run a real Celery worker for the test.
    Without, tasks run eagerly inside the request (the progress is already complete)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return nullcontext()
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    return start_worker(app, pool="solo", perform_ping_check=False)


@pytest.mark.django_db(transaction=True)
def test_upload_cdrs_watch_progress_see_charges_and_balance(page, monkeypatch, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)  # several progress steps
    operator = OperatorFactory(name="Harbour Charging ApS")
    ChargePointFactory(operator=operator, name="Harbour #1", evse_id="DK*HRB*E00001")
    Fee.objects.create(operator=None, kind=Fee.Kind.REVENUE_PERCENTAGE, percentage=Decimal("10"),
                       valid_from=date(2020, 1, 1))
    user = member(operator, Role.ADMIN)
    records = [cdr(f"HRB-{i}", "DK*HRB*E00001", incl=100.00, excl=80.00) for i in range(5)]
    records.append(cdr("HRB-X", "DK*HRB*NOPE"))
    path = tmp_path / "cdrs.json"
    path.write_text(json.dumps({"data": records, "status_code": 1000}))

    with _worker():
        sign_in(page, user.email, PASSWORD)
        page.goto(f"/o/{operator.slug}/charges/")
        page.get_by_role("link", name="Import CDRs").click()
        page.get_by_label("CDR file (JSON)").set_input_files(str(path))
        page.get_by_role("button", name="Upload and import").click()
        progress = page.get_by_test_id("import-progress")
        expect(progress).to_have_attribute("data-state", "done", timeout=30_000)
        expect(page.get_by_test_id("progress-text")).to_contain_text("6 / 6 processed (100 %) · 1 error(s)")
        expect(page.locator("progress")).to_have_attribute("value", "6")
        expect(page.get_by_test_id("import-errors")).to_contain_text("Unknown EVSE id DK*HRB*NOPE.")

    page.get_by_role("link", name="See the charges").click()
    table = page.get_by_test_id("charges")
    expect(table.locator("tbody tr")).to_have_count(5)
    expect(table).to_contain_text("HRB-4")
    expect(page.get_by_test_id("charge-totals")).to_contain_text("500.00")

    page.get_by_role("link", name="Operator Overview").click()
    # 5 × (100.00 income − 10.00 fee)
    expect(page.get_by_test_id("balance")).to_contain_text("450.00")
    page.get_by_role("link", name="Wallet transactions").click()
    expect(page.get_by_test_id("wallet-transactions").locator("tbody tr")).to_have_count(10)
