"""pain.001 files, and the bank's pain.002 / camt.054 answers."""
from decimal import Decimal as D

import pytest
from django.utils import timezone
from lxml import etree
from sepaxml.validation import try_valid_xml

from payouts import bank_reports, export, services
from payouts.models import Payout
from tests.factories import OperatorFactory
from tests.payouts.conftest import bank_account

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}


def pending(op, amount, currency=None, **account):
    """A pending withdrawal-style payout with its debit, as the close or Withdraw make them."""
    acct = bank_account(op, **account)
    payout = Payout.objects.create(operator=op, kind="withdrawal", currency=currency or op.currency, amount=D(amount),
                                   fee=D("0.00"), state="pending", holder_name=acct.holder_name, iban=acct.iban,
                                   bic=acct.bic, created_at=timezone.now())
    services._post_payout(payout, payout.created_at)
    return payout


@pytest.fixture
def eur_and_dkk(seller):
    de = OperatorFactory(country="DE", currency="EUR", name="Ladepunkt GmbH")
    dk = OperatorFactory(currency="DKK", name="Ladeklar ApS")
    nl = OperatorFactory(country="NL", currency="EUR", name="Laadpaal B.V.")
    return {
        "eur1": pending(de, "1234.56", iban="DE89370400440532013000", bic="COBADEFFXXX"),
        "eur2": pending(nl, "0.01", iban="NL91ABNA0417164300", bic="ABNANL2A"),
        "dkk": pending(dk, "7500.00"),
    }


@pytest.mark.django_db
def test_one_file_per_currency_valid_amounts_to_the_cent(eur_and_dkk):
    batches = {b.currency: b for b in export.export_all()}
    assert set(batches) == {"EUR", "DKK"}
    for currency, batch in batches.items():
        data = bytes(batch.xml)
        try_valid_xml(data, "pain.001.001.09")  # raises on an invalid file
        root = etree.fromstring(data)
        assert root.findtext(".//p:GrpHdr/p:MsgId", namespaces=NS) == batch.msg_id
        amounts = {n.findtext("p:PmtId/p:EndToEndId", namespaces=NS): D(n.findtext("p:Amt/p:InstdAmt", namespaces=NS))
                   for n in root.iterfind(".//p:CdtTrfTxInf", NS)}
        expected = {p.reference: p.amount for p in Payout.objects.filter(currency=currency)}
        assert amounts == expected
        assert D(root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS)) == sum(expected.values())
        has_sepa = root.find(".//p:PmtTpInf/p:SvcLvl/p:Cd", NS) is not None
        assert has_sepa == (currency == "EUR")
    assert all(p.state == Payout.State.EXPORTED for p in Payout.objects.all())


@pytest.mark.django_db
def test_re_export_serves_the_same_bytes_and_a_payout_is_in_one_batch(eur_and_dkk):
    [dkk] = export.export_all(payout_ids=[eur_and_dkk["dkk"].pk])
    first = bytes(dkk.xml)
    assert export.export_all(payout_ids=[eur_and_dkk["dkk"].pk]) == []  # nothing pending any more
    dkk.refresh_from_db()
    assert bytes(dkk.xml) == first
    again = export.build_xml(dkk, list(dkk.payouts.order_by("id")), _seller())
    assert again == first  # the file is a function of the batch alone


def _seller():
    from billing.models import PlatformSeller

    return PlatformSeller.objects.get()


@pytest.mark.django_db
def test_an_account_that_no_longer_validates_is_not_exported_and_is_returned(seller):
    op = OperatorFactory()
    bad = pending(op, "100.00", iban="DK00TEST0000000001")
    assert export.export_all() == []
    bad.refresh_from_db()
    assert bad.state == Payout.State.RETURNED and bad.reason_code == "AC01" and bad.batch is None
    assert services.balance_at(op) == D("0.00")


def pain002(rows, group=None):
    txs = "".join(f"<TxInfAndSts><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>{sts}</TxSts>"
                  + (f"<StsRsnInf><Rsn><Cd>{code}</Cd></Rsn><AddtlInf>{text}</AddtlInf></StsRsnInf>" if code else "")
                  + "</TxInfAndSts>" for e2e, sts, code, text in rows)
    grp = (f"<OrgnlGrpInfAndSts><OrgnlMsgId>{group[0]}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>"
           f"<GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>{group[1]}</Cd></Rsn></StsRsnInf></OrgnlGrpInfAndSts>"
           if group else "")
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">'
            f"<CstmrPmtStsRpt><GrpHdr><MsgId>BANK-1</MsgId></GrpHdr>{grp}<OrgnlPmtInfAndSts>{txs}</OrgnlPmtInfAndSts>"
            f"</CstmrPmtStsRpt></Document>").encode()


@pytest.mark.django_db
def test_pain002_one_rejected_one_accepted(eur_and_dkk):
    export.export_all()
    eur1, eur2 = eur_and_dkk["eur1"], eur_and_dkk["eur2"]
    op = eur1.operator
    before = services.balance_at(op)
    result = bank_reports.apply(pain002([(eur1.reference, "RJCT", "AC06", "Blocked account"),
                                         (eur2.reference, "ACSC", "", ""), ("PAYOUT-999999", "ACSC", "", "")]))
    eur1.refresh_from_db()
    eur2.refresh_from_db()
    assert eur2.state == Payout.State.PAID
    assert eur1.state == Payout.State.RETURNED and eur1.reason_code == "AC06" and eur1.failed_at and eur1.returned_at
    assert services.balance_at(op) == before + D("1234.56")  # restored exactly
    assert result.paid == [eur2.reference] and result.returned == [eur1.reference]
    assert result.unknown == ["PAYOUT-999999"]
    # the same file again changes nothing
    again = bank_reports.apply(pain002([(eur1.reference, "RJCT", "AC06", ""), (eur2.reference, "ACSC", "", "")]))
    assert again.unchanged == [eur1.reference, eur2.reference] and services.balance_at(op) == before + D("1234.56")


@pytest.mark.django_db
def test_pain002_file_rejected_fails_every_payout_of_the_batch(eur_and_dkk):
    [eur] = export.export_all(payout_ids=[eur_and_dkk["eur1"].pk, eur_and_dkk["eur2"].pk])
    result = bank_reports.apply(pain002([], group=(eur.msg_id, "FF01")))
    assert sorted(result.returned) == sorted(p.reference for p in eur.payouts.all())
    assert set(eur.payouts.values_list("reason_code", flat=True)) == {"FF01"}


def camt054(rows):
    entries = "".join(
        f"<Ntry><Amt Ccy='EUR'>{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><NtryDtls><TxDtls>"
        f"<Refs><EndToEndId>{e2e}</EndToEndId></Refs>"
        + (f"<RtrInf><Rsn><Cd>{code}</Cd></Rsn><AddtlInf>Account closed</AddtlInf></RtrInf>" if code else "")
        + "</TxDtls></NtryDtls></Ntry>" for e2e, amount, direction, code in rows)
    return (f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>'
            f"<GrpHdr><MsgId>N1</MsgId></GrpHdr><Ntfctn><Id>1</Id>{entries}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
            ).encode()


@pytest.mark.django_db
def test_camt054_booked_debit_pays_and_a_return_restores_the_balance(eur_and_dkk):
    export.export_all()
    eur1, eur2 = eur_and_dkk["eur1"], eur_and_dkk["eur2"]
    bank_reports.apply(camt054([(eur1.reference, "1234.56", "DBIT", ""), (eur2.reference, "0.01", "DBIT", "")]))
    eur1.refresh_from_db()
    assert eur1.state == Payout.State.PAID
    before = services.balance_at(eur1.operator)
    result = bank_reports.apply(camt054([(eur1.reference, "1234.56", "CRDT", "AC04")]))
    eur1.refresh_from_db()
    assert result.returned == [eur1.reference]
    assert eur1.state == Payout.State.RETURNED and eur1.reason_code == "AC04"
    assert services.balance_at(eur1.operator) == before + D("1234.56")


@pytest.mark.django_db
@pytest.mark.parametrize("data,message", [
    (b"not xml at all", "not an XML file"),
    (b"<Document><Other/></Document>", "neither a pain.002"),
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document><CstmrPmtStsRpt>'
     b"<OrgnlPmtInfAndSts><TxInfAndSts><OrgnlEndToEndId>&x;</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts>"
     b"</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>", None),
])
def test_bad_reports_are_refused_clearly_and_entities_are_not_read(data, message):
    if message:
        with pytest.raises(bank_reports.BankReportError, match=message):
            bank_reports.apply(data)
    else:
        result = bank_reports.apply(data)
        assert "root:" not in " ".join(result.unknown)  # /etc/passwd was not read into the id


@pytest.mark.django_db
def test_a_failed_payout_is_never_exported_again(eur_and_dkk):
    dkk = eur_and_dkk["dkk"]
    with pytest.raises(services.NotAllowed, match="only an exported or paid payout can fail"):
        services.mark_failed(payout=dkk, code="AC04")  # pending: it was never sent
    [first] = export.export_all(payout_ids=[dkk.pk])
    services.mark_failed(payout=dkk, code="AC04")  # the bank rejects it
    batches = export.export_all()
    assert {b.currency for b in batches} == {"EUR"}
    dkk.refresh_from_db()
    assert dkk.state == Payout.State.RETURNED and dkk.batch == first
    assert export.export_all() == [] and export.export_all(payout_ids=[dkk.pk]) == []
    with pytest.raises(services.NotAllowed):
        services.mark_paid(payout=dkk)
