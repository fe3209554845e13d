"""`manage.py monthly_close`, `manage.py credit_note`, the Celery tasks (eager and a real worker)
and the beat entry."""
import io
import os
import time

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command

from billing import tasks
from billing.models import Invoice
from operators.models import WalletTransaction
from portal.celery import app
from tests.billing.conftest import charge_points, deposit, make_plan, make_seller
from tests.factories import OperatorFactory, UserFactory

needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL not set: tasks run eagerly")


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_monthly_close_command_dry_run_then_real_then_again(worked_example, eager,
                                                           django_capture_on_commit_callbacks):
    out = run("monthly_close", "--month", "2026-11", "--operator", "worked", "--dry-run")
    assert "would invoice 766.25 DKK" in out and "nothing written" in out
    assert "Platform fees on charges: 3 charges, 1 credit refunded" in out
    assert not Invoice.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        out = run("monthly_close", "--month", "2026-11", "--operator", "worked")
    assert "settled" in out and "INV-2026-000001: 766.25 DKK, paid" in out
    ledger = WalletTransaction.objects.count()
    out = run("monthly_close", "--month", "2026-11", "--operator", "worked")
    assert "unchanged" in out and WalletTransaction.objects.count() == ledger
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_monthly_close_command_refuses_bad_input(billing_setup):
    with pytest.raises(CommandError, match="not a month"):
        run("monthly_close", "--month", "11/2026")
    with pytest.raises(CommandError, match="No operator"):
        run("monthly_close", "--month", "2026-11", "--operator", "nobody")
    with pytest.raises(CommandError, match="not over yet"):
        run("monthly_close", "--month", "2099-01")


@pytest.mark.django_db
def test_monthly_close_command_reports_failures_and_exits_non_zero(billing_setup, monkeypatch):
    from billing import services

    ok, broken = OperatorFactory(slug="ok"), OperatorFactory(slug="broken")
    charge_points(ok, 1)
    charge_points(broken, 1)
    real = services.invoice_issue
    monkeypatch.setattr(services, "invoice_issue", lambda *, operator, **kw: (
        (_ for _ in ()).throw(RuntimeError("boom")) if operator.slug == "broken" else real(operator=operator, **kw)))
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 operator"):
        call_command("monthly_close", "--month", "2026-11", stdout=out)
    assert "broken" in out.getvalue() and "RuntimeError: boom" in out.getvalue()
    assert Invoice.objects.get().operator == ok


@pytest.mark.django_db
def test_credit_note_command_is_for_staff_only(billing_setup):
    op = OperatorFactory()
    charge_points(op, 1)
    run("monthly_close", "--month", "2026-11")
    number = Invoice.objects.get().number
    member = UserFactory()
    with pytest.raises(CommandError, match="not an active platform staff"):
        run("credit_note", number, "--reason", "x", "--staff", member.email)
    staff = UserFactory(is_staff=True)
    out = run("credit_note", number, "--reason", "Duplicate", "--staff", staff.email)
    assert "CN-2026-000001 credits " + number in out
    assert Invoice.objects.get(number=number).status == "credited"


def test_beat_closes_the_previous_month_on_the_first_at_three():
    entry = settings.CELERY_BEAT_SCHEDULE["billing-monthly-close"]
    assert entry["task"] == "billing.close_month"
    s = entry["schedule"]
    assert s.day_of_month == {1} and s.hour == {3} and s.minute == {0}


@pytest.mark.django_db
def test_close_month_task_defaults_to_the_previous_month(billing_setup, eager, monkeypatch):
    import time_machine

    op = OperatorFactory()
    charge_points(op, 1)
    with time_machine.travel("2026-12-01 03:00 +01:00", tick=False):
        assert tasks.close_month.delay().get() == 1
    assert Invoice.objects.get(operator=op).period.isoformat() == "2026-11-01"


@needs_redis
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_close_through_a_real_worker():
    from celery.contrib.testing.worker import start_worker

    make_seller()
    make_plan()
    ops = [OperatorFactory() for _ in range(3)]
    for op in ops:
        charge_points(op, 2)
        deposit(op, "500.00")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert tasks.close_month.delay("2026-11").get(timeout=30) == 3
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if Invoice.objects.filter(status="paid").count() == 3 and Invoice.objects.filter(
                    emailed_at__isnull=False).count() == 3:
                break
            time.sleep(0.2)
        # a second fan-out changes nothing
        result = tasks.close_operator_month.delay(ops[0].pk, "2026-11").get(timeout=30)
    assert result["outcome"] == "unchanged"
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [f"INV-2026-{n:06d}" for n in (1, 2, 3)]
    assert Invoice.objects.filter(status="paid", emailed_at__isnull=False).count() == 3
    assert WalletTransaction.objects.filter(kind="invoice_settlement").count() == 3
