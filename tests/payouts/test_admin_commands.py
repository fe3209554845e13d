"""Staff: export from the Django admin or `manage.py export_payouts`, download the file, mark a
payout failed, upload the bank's report."""
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from payouts import export, services
from payouts.models import Payout, PayoutBatch
from portal.models import AuditEvent
from tests.billing.conftest import staff_sign_in
from tests.factories import OperatorFactory
from tests.payouts.test_export_and_returns import pain002, pending


@pytest.fixture
def staff(client, seller):
    staff_sign_in(client)
    return client


@pytest.mark.django_db
def test_admin_export_download_and_bank_report(staff):
    op, op2 = OperatorFactory(), OperatorFactory()
    a, b = pending(op, "100.00"), pending(op2, "200.00")
    response = staff.post("/admin/payouts/payout/", {"action": "export_selected", "_selected_action": [a.pk, b.pk]},
                          follow=True)
    assert response.status_code == 200
    batch = PayoutBatch.objects.get()
    assert f"{batch.msg_id}: 2 payouts, 300.00 DKK" in response.content.decode()
    download = staff.get(f"/admin/payouts/payoutbatch/{batch.pk}/download/")
    assert download.content == bytes(batch.xml) and "attachment" in download["Content-Disposition"]
    assert AuditEvent.objects.filter(verb="payout.exported").count() == 2
    report = SimpleUploadedFile("status.xml", pain002([(a.reference, "ACSC", "", ""),
                                                       (b.reference, "RJCT", "AC04", "Closed account")]))
    done = staff.post("/admin/payouts/payout/bank-report/", {"file": report}, follow=True)
    assert "1 paid, 1 returned" in done.content.decode()
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.state, b.state, b.reason_code) == ("paid", "returned", "AC04")
    assert services.balance_at(op) == D("-100.00") and services.balance_at(op2) == D("0.00")  # the rejected came back


@pytest.mark.django_db
def test_admin_bank_report_refuses_a_bad_file(staff):
    response = staff.post("/admin/payouts/payout/bank-report/",
                          {"file": SimpleUploadedFile("x.xml", b"<html>nope")})
    assert response.status_code == 400 and "not an XML file" in response.content.decode()


@pytest.mark.django_db
def test_admin_mark_failed_asks_for_the_reason_code(staff):
    op = OperatorFactory()
    p = pending(op, "100.00")
    export.export_all()
    ask = staff.post("/admin/payouts/payout/", {"action": "mark_failed", "_selected_action": [p.pk]})
    assert ask.status_code == 200 and "reason_code" in ask.content.decode()
    staff.post("/admin/payouts/payout/", {"action": "mark_failed", "_selected_action": [p.pk], "reason_code": "AC06",
                                          "reason_text": ""})
    p.refresh_from_db()
    assert p.state == "returned" and p.reason_text == "Blocked account"
    assert services.balance_at(op) == D("0.00")  # the debit and its return net out


@pytest.mark.django_db
def test_export_command_writes_one_file_per_currency_and_rewrites_the_same_bytes(seller, tmp_path):
    pending(OperatorFactory(), "10.00")
    pending(OperatorFactory(country="DE", currency="EUR"), "20.00", iban="DE89370400440532013000", bic="COBADEFFXXX")
    call_command("export_payouts", out=str(tmp_path))
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and all(f.startswith("CPO-PAYOUTS-") for f in files)
    batch = PayoutBatch.objects.get(currency="EUR")
    first = (tmp_path / batch.filename).read_bytes()
    (tmp_path / batch.filename).unlink()
    call_command("export_payouts", out=str(tmp_path), batch=batch.pk)
    assert (tmp_path / batch.filename).read_bytes() == first
    call_command("export_payouts", out=str(tmp_path))  # nothing pending: no new batch
    assert PayoutBatch.objects.count() == 2 and not Payout.objects.filter(state="pending").exists()
    with pytest.raises(CommandError, match="No payout batch"):
        call_command("export_payouts", out=str(tmp_path), batch=999)


@pytest.mark.django_db
def test_import_bank_report_command(seller, tmp_path, capsys):
    p = pending(OperatorFactory(), "10.00")
    call_command("export_payouts", out=str(tmp_path))
    report = tmp_path / "pain002.xml"
    report.write_bytes(pain002([(p.reference, "RJCT", "AC06", "")]))
    call_command("import_bank_report", str(report))
    assert "1 returned" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_bank_report", str(tmp_path / "missing.xml"))


@pytest.mark.django_db
def test_a_payout_hold_set_in_the_admin_is_audited(staff):
    op = OperatorFactory()
    page = staff.get(f"/admin/operators/operator/{op.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(payout_hold="on", payout_hold_note="KYC documents missing")
    response = staff.post(f"/admin/operators/operator/{op.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    event = AuditEvent.objects.get(operator=op, verb="admin.operator_changed")
    assert event.changes["payout_hold"] == {"before": False, "after": True}
