"""Billing & Support in Chromium: the Bookkeeper opens an invoice and downloads its PDF (whose
text is checked) and its e-invoice (whose number is checked); the Admin saves installer settings after a bad phone number."""
import io
import re

import pytest
from django.core.management import call_command
from lxml import etree
from playwright.sync_api import expect
from pypdf import PdfReader

from billing import einvoice
from billing.models import InstallerSettings, Invoice
from operators.models import Operator
from portal.money import format_money
from tests.e2e.conftest import sign_in

PASSWORD = "e2e-demo-password"
NS = {"cbc": einvoice.CBC, "cac": einvoice.CAC}


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", password=PASSWORD, stdout=open("/dev/null", "w"))
    return Operator.objects.get(slug="demo")


def test_bookkeeper_opens_an_invoice_and_downloads_its_pdf(page, demo):
    invoice = Invoice.objects.filter(operator=demo, series="INV", status="paid").order_by("-period").first()
    sign_in(page, "bookkeeper@demo.example", PASSWORD)
    page.get_by_role("link", name="Billing & Support").click()
    expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()
    expect(page.get_by_test_id("billed-charge-points")).to_have_text("25")
    expect(page.get_by_role("heading", name="Support settings")).to_be_visible()
    expect(page.get_by_test_id("support-level")).to_contain_text("Premium")
    expect(page.get_by_test_id("installer-form")).to_have_count(0)  # read-only for the Bookkeeper
    page.get_by_role("link", name="Invoices", exact=True).click()
    expect(page.get_by_test_id("invoices")).to_contain_text("CN-2026-000001")
    page.get_by_role("link", name=invoice.number, exact=True).click()
    expect(page.get_by_role("heading", name=f"Invoice {invoice.number}")).to_be_visible()
    expect(page.get_by_test_id("invoice-lines")).to_contain_text("charge points 1–10")
    expect(page.get_by_test_id("charge-points-counted")).to_contain_text("Vesterbro Parking #1")
    expect(page.get_by_test_id("settlement")).to_contain_text("Invoice settlement")
    with page.expect_download() as info:
        page.get_by_test_id("download-pdf").click()
    download = info.value
    assert download.suggested_filename == f"{invoice.number}.pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(open(download.path(), "rb").read())).pages)
    text = re.sub(r"\s+", " ", text.replace("\u202f", " "))
    assert f"Invoice {invoice.number}" in text
    assert "Demo Charging ApS" in text and "CPO Platform ApS" in text
    assert format_money(invoice.total, "DKK").replace("\u202f", " ") in text  # e.g. "13 823.45 DKK"
    # the e-invoice beside it: Peppol BIS 3.0 XML carrying the same number and total
    with page.expect_download() as info:
        page.get_by_test_id("download-einvoice").click()
    download = info.value
    assert download.suggested_filename == f"{invoice.number}.xml"
    root = etree.parse(download.path()).getroot()
    assert root.findtext("cbc:ID", namespaces=NS) == invoice.number
    assert root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == str(invoice.total)
    assert einvoice.validate(etree.tostring(root)) == []


def test_admin_saves_installer_settings_after_a_bad_phone(page, demo):
    sign_in(page, "admin@demo.example", PASSWORD)
    page.goto(f"/o/{demo.slug}/billing/")
    form = page.get_by_test_id("installer-form")
    form.get_by_label("Installer company").fill("Nordic EV Service ApS")
    form.get_by_label("Phone").fill("12 34")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Enter a valid phone number, e.g. +45 32 12 34 56.")).to_be_visible()
    assert InstallerSettings.objects.get(operator=demo).company == "Elektriker Hansen ApS"
    page.get_by_label("Phone").fill("+45 33 12 34 56")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Installer settings saved.")).to_be_visible()
    expect(page.get_by_test_id("installer-last-changed")).to_contain_text("by Alma Admin")
    saved = InstallerSettings.objects.get(operator=demo)
    assert saved.company == "Nordic EV Service ApS" and saved.phone.as_e164 == "+4533123456"
