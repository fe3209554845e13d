"""Billing & Support pages through the test client."""
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import services
from billing.models import InstallerSettings, OperatorSupport, SupportLevel
from portal.models import AuditEvent
from portal.permissions import Role
from tests.billing.conftest import CLOSE_DAY, NOV, at, charge, charge_points, deposit
from tests.factories import OperatorFactory, issued_invoice, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def op(billing_setup):
    op = OperatorFactory(slug="acme", name="Acme Charging ApS")
    cps = charge_points(op, 3)
    charge(op, cps[0], at(2026, 11, 5))
    deposit(op, "1000.00")
    return op


def url(op, name, *args):
    return reverse(f"billing:{name}", args=[op.slug, *args])


def test_bookkeeper_sees_billing_support_and_installer_read_only(op, login):
    level = SupportLevel.objects.create(name="Premium", channels="Email, phone", response_time="4 hours",
                                        success_manager=True)
    OperatorSupport.objects.create(operator=op, level=level)
    client = login(member(op, Role.BOOKKEEPER))
    page = client.get(url(op, "index")).content.decode()
    assert "Billing &amp; Support" in page and 'data-testid="billed-charge-points">3<' in page
    assert "150.00 DKK" in page  # 3 × 50.00
    assert "Premium" in page and "4 hours" in page and "Success manager" in page
    assert 'data-testid="installer-form"' not in page  # read-only for the Bookkeeper
    assert reverse("billing:invoice_list", args=[op.slug]) in page


def test_supporter_has_no_billing_tab(op, login):
    client = login(member(op, Role.SUPPORTER))
    assert "Billing &amp; Support" not in client.get(reverse("operators:overview", args=[op.slug])).content.decode()
    assert client.get(url(op, "index")).status_code == 403


def test_invoice_list_detail_and_pdf(op, login):
    invoice = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY).invoice
    client = login(member(op, Role.BOOKKEEPER))
    page = client.get(url(op, "invoice_list")).content.decode()
    assert invoice.number in page and "195.00 DKK" in page  # (3 × 50.00 + 6.00 fee) + 25 % VAT
    detail = client.get(url(op, "invoice_detail", invoice.pk)).content.decode()
    assert "Charge points counted" in detail and "Platform fees on charges: 1 charge" in detail
    assert "charges/?date_from=2026-11-05&amp;date_to=2026-11-05" in detail
    assert "Invoice settlement" in detail and "how-to-pay" not in detail
    response = client.get(url(op, "invoice_pdf", invoice.pk))
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    assert f'filename="{invoice.number}.pdf"' in response["Content-Disposition"]


def test_due_invoice_says_how_to_pay(billing_setup, login):
    op = OperatorFactory()
    charge_points(op, 1)
    invoice = services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY).invoice
    page = login(member(op, Role.ADMIN)).get(url(op, "invoice_detail", invoice.pk)).content.decode()
    assert 'data-testid="how-to-pay"' in page and "DK5000400440116243" in page and invoice.number in page


def test_invoice_filters_and_bad_filter(op, login):
    services.close_operator_month(operator=op, period=NOV, today=CLOSE_DAY)
    client = login(member(op, Role.ADMIN))
    assert "INV-2026-000001" in client.get(url(op, "invoice_list") + "?period=2026-11&status=paid").content.decode()
    assert "No invoices match" in client.get(url(op, "invoice_list") + "?period=2026-10").content.decode()
    bad = client.get(url(op, "invoice_list") + "?period=november")
    assert bad.status_code == 400 and "Enter a month as YYYY-MM" in bad.content.decode()


def test_other_operators_invoice_is_404(op, login):
    other = OperatorFactory()
    invoice = issued_invoice(other)
    client = login(member(op, Role.ADMIN))
    assert client.get(url(op, "invoice_detail", invoice.pk)).status_code == 404
    assert client.get(url(op, "invoice_pdf", invoice.pk)).status_code == 404


def test_invoice_list_query_count_is_constant(op, login):
    client = login(member(op, Role.BOOKKEEPER))
    issued_invoice(op, period=date(2020, 1, 1))

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url(op, "invoice_list") + "?status=issued").status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(30):
        issued_invoice(op, period=date(2021 + i // 12, i % 12 + 1, 1))
    assert count() == few


def test_admin_saves_installer_settings_bad_phone_then_good(op, login):
    client = login(member(op, Role.MANAGER))
    data = {"company": "Elektriker Jensen ApS", "contact_name": "Jens Jensen", "email": "jens@elektriker.test",
            "phone": "12 34", "street": "Nørregade 1", "postcode": "8000", "city": "Aarhus", "country": "DK",
            "notes": "Service contract 2026"}
    bad = client.post(url(op, "installer"), data)
    assert bad.status_code == 400 and "Enter a valid phone number" in bad.content.decode()
    assert not InstallerSettings.objects.filter(operator=op).exists()
    good = client.post(url(op, "installer"), {**data, "phone": "+45 20 30 40 50"})
    assert good.status_code == 302 and good["Location"].endswith("/billing/#installer")
    saved = InstallerSettings.objects.get(operator=op)
    assert saved.phone.as_e164 == "+4520304050" and saved.company == "Elektriker Jensen ApS"
    event = AuditEvent.objects.get(operator=op, verb="installer_settings.updated")
    assert event.changes["phone"]["after"].replace(" ", "") == "+4520304050"
    again = client.post(url(op, "installer"), {**data, "phone": "+45 20 30 40 50"}, follow=True)
    assert "Nothing changed." in again.content.decode()


def test_installer_needs_a_way_to_reach_them(op, login):
    client = login(member(op, Role.ADMIN))
    response = client.post(url(op, "installer"), {"company": "X ApS"})
    assert response.status_code == 400 and "email address or a phone number" in response.content.decode()


def test_running_preview_on_the_billing_page(op, login):
    import time_machine

    with time_machine.travel("2026-11-20 12:00 +01:00", tick=False):
        page = login(member(op, Role.ADMIN)).get(url(op, "index")).content.decode()
    assert "Running preview for November 2026" in page
    assert "Platform fees on charges: 1 charge" in page


def test_installer_phone_without_country_code_is_read_in_the_operators_country(billing_setup, login):
    op = OperatorFactory(country="NO", currency="NOK", vat_number="NO995525828MVA")
    client = login(member(op, Role.ADMIN))
    page = client.get(url(op, "index")).content.decode()
    assert "read as Norway numbers" in page
    response = client.post(url(op, "installer"), {"company": "Oslo Lading AS", "phone": "21 23 45 67"})
    assert response.status_code == 302
    assert InstallerSettings.objects.get(operator=op).phone.as_e164 == "+4721234567"
