"""The bank's answer to a payout file: a pain.002 payment status report or a camt.054 debit/credit
notification, parsed with lxml and matched to payouts on the EndToEndId we wrote (PAYOUT-<id>).

* pain.002: a transaction with TxSts RJCT fails (reason from StsRsnInf/Rsn/Cd); ACSC, ACCC, ACSP,
  ACWC or ACCP marks it paid. A group status RJCT without transaction details fails every
  payout of the original message (OrgnlMsgId = the batch's MsgId).
* camt.054: a booked debit marks the payout paid; an entry with return information (RtrInf)
  returns it with the reason code. A credit without return information is not a return: anyone
  who sends the platform money chooses its EndToEndId (found in review: a 0.01 credit naming
  PAYOUT-1 un-did a paid payout, so it was paid again).
* Where the report gives the transaction's amount it must equal the payout's, in its currency;
  otherwise the line is reported as not matching and nothing changes.

Applying a report is idempotent: a payout already paid stays paid, one already returned is not
returned twice (`services.mark_paid` / `mark_failed`), so the same file can be uploaded again.
The parser reads no DTD, entities or network resources and refuses files over 20 MB.
"""
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lxml import etree

from payouts import services
from payouts.models import Payout, PayoutBatch
from portal.errors import DomainError

MAX_BYTES = 20 * 1024 * 1024
ACCEPTED = {"ACSC", "ACCC", "ACSP", "ACWC", "ACCP", "ACTC"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class BankReportError(DomainError):
    pass


@dataclass
class Status:
    end_to_end_id: str
    accepted: bool
    code: str = ""
    text: str = ""
    amount: str = ""  # as written in the report, when it says
    currency: str = ""


@dataclass
class ReportResult:
    kind: str
    paid: list = field(default_factory=list)
    returned: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    unknown: list = field(default_factory=list)
    pending: list = field(default_factory=list)  # statuses that are neither (e.g. PDNG)
    mismatched: list = field(default_factory=list)  # ours, but the amount or currency differs
    errors: list = field(default_factory=list)  # ours, but the state does not allow it

    def summary(self) -> str:
        parts = [f"{len(self.paid)} paid", f"{len(self.returned)} returned", f"{len(self.unchanged)} unchanged"]
        if self.unknown:
            parts.append(f"{len(self.unknown)} not ours ({', '.join(self.unknown[:5])})")
        if self.pending:
            parts.append(f"{len(self.pending)} still pending at the bank")
        if self.mismatched:
            parts.append(f"{len(self.mismatched)} not applied, amount or currency differs ({', '.join(self.mismatched[:5])})")
        if self.errors:
            parts.append(f"{len(self.errors)} not applied: " + "; ".join(self.errors[:5]))
        return f"{self.kind}: " + ", ".join(parts) + "."


def _x(node, path):
    found = node.xpath(path)
    return (found[0].text or "").strip() if found else ""


def _amount(node, path):
    found = node.xpath(path)
    return ((found[0].text or "").strip(), found[0].get("Ccy", "")) if found else ("", "")


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def parse(data: bytes) -> tuple[str, list[Status], list[tuple[str, str, str]]]:
    """(kind, transaction statuses, rejected original message ids with reason)."""
    if len(data) > MAX_BYTES:
        raise BankReportError("The file is larger than 20 MB; a bank status report is much smaller.")
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise BankReportError(f"This is not an XML file: {exc.msg}") from None
    body = root[0] if len(root) else root
    kind = _local(body.tag)
    L = "*[local-name()='{}']".format  # noqa: E731 - namespace-agnostic steps (pain.002.001.03 … .12, camt.054.001.02 … .10)
    if kind == "CstmrPmtStsRpt":
        statuses, groups = [], []
        for tx in body.xpath(f".//{L('TxInfAndSts')}"):
            e2e, sts = _x(tx, L("OrgnlEndToEndId")), _x(tx, L("TxSts"))
            code = _x(tx, f"{L('StsRsnInf')}/{L('Rsn')}/{L('Cd')}")
            text = " ".join(n.text or "" for n in tx.xpath(f"{L('StsRsnInf')}/{L('AddtlInf')}")).strip()
            amount, ccy = _amount(tx, f"{L('OrgnlTxRef')}/{L('Amt')}/{L('InstdAmt')}")
            if e2e:
                statuses.append(Status(e2e, sts in ACCEPTED, code, text, amount, ccy) if sts in ACCEPTED | {"RJCT"}
                                else Status(e2e, False, "PDNG"))
        grp = body.xpath(L("OrgnlGrpInfAndSts"))
        if grp and _x(grp[0], L("GrpSts")) == "RJCT":
            groups.append((_x(grp[0], L("OrgnlMsgId")), _x(grp[0], f"{L('StsRsnInf')}/{L('Rsn')}/{L('Cd')}"),
                           ""))
        return "pain.002", statuses, groups
    if kind == "BkToCstmrDbtCdtNtfctn":
        statuses = []
        for entry in body.xpath(f".//{L('Ntry')}"):
            booked = _x(entry, f"{L('Sts')}/{L('Cd')}") or _x(entry, L("Sts"))
            direction = _x(entry, L("CdtDbtInd"))
            details = entry.xpath(f".//{L('TxDtls')}")
            for tx in details:
                e2e = _x(tx, f"{L('Refs')}/{L('EndToEndId')}")
                if not e2e:
                    continue
                # the transaction's own amount; the entry's when it carries this one transaction only
                amount, ccy = _amount(tx, f"{L('Amt')}") if tx.xpath(L("Amt")) else (
                    _amount(tx, f"{L('AmtDtls')}/{L('TxAmt')}/{L('Amt')}") if tx.xpath(L("AmtDtls")) else
                    (_amount(entry, L("Amt")) if len(details) == 1 else ("", "")))
                returned = bool(tx.xpath(L("RtrInf")))
                code = _x(tx, f"{L('RtrInf')}/{L('Rsn')}/{L('Cd')}")
                text = " ".join(n.text or "" for n in tx.xpath(f"{L('RtrInf')}/{L('AddtlInf')}")).strip()
                if returned:
                    statuses.append(Status(e2e, False, code or "NARR", text or "Returned by the bank", amount, ccy))
                elif booked in ("BOOK", "") and direction == "DBIT":
                    statuses.append(Status(e2e, True, amount=amount, currency=ccy))
                else:  # a credit without return information, or not booked yet: not ours to apply
                    statuses.append(Status(e2e, False, "PDNG"))
        return "camt.054", statuses, []
    raise BankReportError(f"This is neither a pain.002 status report nor a camt.054 notification "
                          f"(its root is {kind or 'unknown'}).")


PAYOUT_ID = re.compile(r"PAYOUT-([0-9]{1,18})", re.ASCII)
BATCH_ID = re.compile(r"CPO-PAYOUTS-([0-9]{1,11})", re.ASCII)


def _payout_for(e2e: str) -> Payout | None:
    match = PAYOUT_ID.fullmatch(e2e)  # ASCII digits only: "PAYOUT-²" or "PAYOUT-１" is not ours
    return Payout.objects.filter(pk=int(match[1])).first() if match else None


def _amount_differs(status: Status, payout: Payout) -> bool:
    if status.currency and status.currency != payout.currency:
        return True
    if not status.amount:
        return False
    try:
        return Decimal(status.amount) != payout.amount
    except InvalidOperation:
        return True


def apply(data: bytes, *, actor=None) -> ReportResult:
    """Apply the report: each known payout in its own transaction (one bad line does not undo the
    others); unknown references are reported, not guessed."""
    kind, statuses, groups = parse(data)
    result = ReportResult(kind)
    for msg_id, code, text in groups:
        pk = _batch_pk(msg_id)
        batch = PayoutBatch.objects.filter(pk=pk).first() if pk else None
        if batch is None:
            result.unknown.append(msg_id or "(no message id)")
            continue
        for payout in batch.payouts.all():
            statuses.append(Status(payout.reference, False, code or "NARR", text or "File rejected by the bank"))
    for status in statuses:
        payout = _payout_for(status.end_to_end_id)
        if payout is None:
            result.unknown.append(status.end_to_end_id[:40])
            continue
        if status.code == "PDNG":
            result.pending.append(payout.reference)
            continue
        if _amount_differs(status, payout):
            result.mismatched.append(payout.reference)
            continue
        try:
            if status.accepted:
                changed = services.mark_paid(payout=payout, actor=actor)
            else:
                code, extra = services.clean_reason_code(status.code)
                text = services.clean_bank_text(" ".join(t for t in (extra, status.text) if t))
                changed = services.mark_failed(payout=payout, code=code, text=text, actor=actor)
        except DomainError as exc:  # e.g. accepted after we already took the money back: reported
            result.errors.append(f"{payout.reference}: {exc.message}")
            continue
        if not changed:
            result.unchanged.append(payout.reference)
        elif status.accepted:
            result.paid.append(payout.reference)
        else:
            result.returned.append(payout.reference)
    return result


def _batch_pk(msg_id: str) -> int | None:
    match = BATCH_ID.fullmatch(msg_id or "")
    return int(match[1]) if match else None
