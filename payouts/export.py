"""Export pending payouts as one ISO 20022 pain.001.001.09 credit-transfer file per currency.

sepaxml builds the document (EUR as SEPA; any other currency in the generic variant, without the
SEPA service level) and validates it against its bundled XSD. Its header carries a random MsgId,
PmtInfId and the current time; we set them to the batch's own id and time and validate again, so
the file is a function of the batch alone. The bytes are stored with the batch: a re-export
serves exactly the same file, and a payout is in at most one batch (its `batch` foreign key).
"""
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from lxml import etree
from sepaxml import SepaTransfer
from sepaxml.validation import ValidationError as XsdError
from sepaxml.validation import try_valid_xml

from billing.models import PlatformSeller
from operators.models import Operator
from payouts.models import Payout, PayoutBatch
from payouts.services import account_problem, mark_failed
from portal import audit
from portal.errors import DomainError

SCHEMA = "pain.001.001.09"
NS = {"p": f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"}


class ExportError(DomainError):
    pass


def _cents(amount: Decimal) -> int:
    """sepaxml takes amounts as integer hundredths whatever the currency (ISK 150 → 15000 → 150.00)."""
    return int((amount * 100).to_integral_value())


def build_xml(batch: PayoutBatch, payouts: list[Payout], seller: PlatformSeller) -> bytes:
    scheme_sepa = batch.scheme == PayoutBatch.Scheme.SEPA
    sepa = SepaTransfer({"name": seller.name, "IBAN": seller.iban, "BIC": seller.bic, "batch": True,
                         "currency": batch.currency, "domestic": not scheme_sepa}, schema=SCHEMA, clean=True)
    execution = timezone.localdate(batch.created_at)
    for payout in payouts:
        sepa.add_payment({
            "name": payout.holder_name, "IBAN": payout.iban, "BIC": payout.bic, "amount": _cents(payout.amount),
            "currency": batch.currency, "execution_date": execution, "endtoend_id": payout.reference,
            "description": _description(payout),
        })
    raw = sepa.export(validate=False)
    root = etree.fromstring(raw, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    created = batch.created_at.astimezone(timezone.get_current_timezone()).replace(microsecond=0)
    root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", NS).text = batch.msg_id
    root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:CreDtTm", NS).text = created.isoformat()
    for n, node in enumerate(root.iterfind("p:CstmrCdtTrfInitn/p:PmtInf/p:PmtInfId", NS), start=1):
        node.text = f"{batch.msg_id}-{n}"
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    try:
        try_valid_xml(data, SCHEMA)
    except XsdError as exc:
        cause = exc.__cause__
        raise ExportError(f"The pain.001 file does not validate against its XSD: {getattr(cause, 'reason', cause)}"
                          ) from None
    in_file = sum((Decimal(n.text) for n in root.iterfind(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", NS)), Decimal(0))
    if in_file != batch.total:  # the file must pay exactly what the payouts say, to the cent
        raise ExportError(f"The file's amounts ({in_file}) differ from the payouts' ({batch.total}).")
    return data


def _description(payout: Payout) -> str:
    what = f"{payout.period:%B %Y}" if payout.period else "withdrawal"
    return f"{payout.reference} {payout.operator.name} payout {what}"


@transaction.atomic
def _name_problem(payout) -> str:
    from text_unidecode import unidecode  # what sepaxml writes: the SEPA (Latin) character set

    if not unidecode(payout.holder_name or "").strip(" ?[]"):
        return (f"{payout.reference}: the account holder's name “{payout.holder_name}” has no letters the bank "
                f"file can carry; not exported (ask the operator to add the account again with the name as "
                f"the bank has it).")
    return ""


def export_batch(*, currency: str, actor=None, payout_ids=None, at=None, problems=None) -> PayoutBatch | None:
    """One batch of the pending payouts in `currency` (or those of `payout_ids`): None when there
    is none. A payout whose IBAN or BIC no longer passes the checks is not exported: it fails with
    reason AC01 and its money goes back on the wallet. One whose holder name the file cannot carry
    stays pending and is named in `problems`, so it does not hold up the others."""
    seller = PlatformSeller.objects.order_by("-id").first()
    if seller is None:
        raise ExportError("No platform seller is set up (Django admin → Platform seller): it is the payer.")
    qs = Payout.objects.filter(state=Payout.State.PENDING, batch__isnull=True, currency=currency)
    if payout_ids is not None:
        qs = qs.filter(pk__in=payout_ids)
    # Lock as the close does, operator rows first (in id order), then the payouts: a concurrent
    # export waits here, then finds them exported and skips them.
    operator_ids = sorted(set(qs.values_list("operator_id", flat=True)))
    list(Operator.objects.select_for_update().filter(pk__in=operator_ids).order_by("pk").values_list("pk"))
    payouts = []
    for payout in qs.select_for_update(of=("self",)).select_related("operator").order_by("id"):
        problem = account_problem(payout)
        if problem:
            mark_failed(payout=payout, code="AC01", text=f"Not exported: {problem}"[:200], actor=actor,
                        _not_exported=True)
            if problems is not None:
                problems.append(f"{payout.reference}: returned to the wallet (AC01), {problem}")
            continue
        if name_problem := _name_problem(payout):
            if problems is not None:
                problems.append(name_problem)
            continue
        payouts.append(payout)
    if not payouts:
        return None
    batch = PayoutBatch.objects.create(
        currency=currency, scheme=PayoutBatch.Scheme.SEPA if currency == "EUR" else PayoutBatch.Scheme.GENERIC,
        created_at=at or timezone.now(), created_by=actor, count=len(payouts),
        total=sum((p.amount for p in payouts), Decimal("0.00")), xml=b"")
    batch.xml = build_xml(batch, payouts, seller)
    PayoutBatch.objects.filter(pk=batch.pk).update(xml=batch.xml)
    Payout.objects.filter(pk__in=[p.pk for p in payouts]).update(state=Payout.State.EXPORTED, batch=batch,
                                                                 exported_at=batch.created_at)
    for payout in payouts:
        audit.record(operator=payout.operator, actor=actor, action="updated", item=payout, verb="payout.exported",
                     changes={"state": {"before": "pending", "after": "exported"},
                              "file": {"before": None, "after": batch.msg_id}})
    return batch


def export_all(*, actor=None, payout_ids=None, at=None, problems=None) -> list[PayoutBatch]:
    """A batch per currency that has pending payouts (each in its own transaction). With a
    `problems` list, a currency whose file cannot be made is reported there and the others are
    still exported; without, the error is raised."""
    qs = Payout.objects.filter(state=Payout.State.PENDING, batch__isnull=True)
    if payout_ids is not None:
        qs = qs.filter(pk__in=payout_ids)
    currencies = sorted(set(qs.values_list("currency", flat=True)))
    batches = []
    for currency in currencies:
        try:
            batch = export_batch(currency=currency, actor=actor, payout_ids=payout_ids, at=at, problems=problems)
        except ExportError as exc:
            if problems is None:
                raise
            problems.append(f"{currency}: {exc.message}")
            continue
        if batch is not None:
            batches.append(batch)
    return batches
