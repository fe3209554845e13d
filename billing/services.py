"""Every billing write: the monthly close (invoice, number, settle, send), credit notes, and the
installer settings. See docs/billing.md for the state machine and the invariants.

The close for one operator and month is a state machine keyed by the invoice's unique
(operator, period):

    (no invoice) ──issue──> issued ──settle──> paid ──credit note──> credited
                                 └─ balance too low: stays issued (due); a later close settles
                                    open invoices oldest first

`issue` is one transaction (operator row locked): create the draft, link the month's unbilled fee
entries, compute the lines from the linked entries, take the next number from the locked series
row, snapshot seller and buyer. `settle` is a second transaction; the settlement entry's
reference `invoice-settlement:<id>` is unique on the ledger, so it posts at most once. A re-run
finds the invoice and resumes at the state it is in; nothing is ever computed or posted twice.
"""
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from billing import einvoice, pricing, vat
from billing.models import (
    CloseRun,
    InstallerSettings,
    Invoice,
    InvoiceEntry,
    InvoiceLine,
    InvoiceSeries,
    PlatformSeller,
)
from operators.models import Operator, WalletTransaction
from portal import audit
from portal.errors import DomainError, NotAllowed
from portal.money import quantize
from portal.validators import bounded_decimal, single_line_text

log = logging.getLogger(__name__)
ZERO = Decimal("0.00")
BUYER_FIELDS = ("name", "vat_number", "street", "postcode", "city", "country", "ean", "po_number",
                "finance_email", "contact_email")


class MonthNotOver(DomainError):
    pass


class NoSeller(DomainError):
    pass


# --- computing (also the dry run and the running preview) ------------------------------------------
@dataclass
class Preview:
    operator: Operator
    period: date
    currency: str
    lines: list
    details: dict
    treatment: vat.VatTreatment
    breakdown: list
    net: Decimal
    vat: Decimal
    total: Decimal
    until: date | None = None

    @property
    def is_empty(self):
        return not self.lines


def _seller() -> PlatformSeller:
    seller = PlatformSeller.objects.order_by("-id").first()
    if seller is None:
        raise NoSeller("No platform seller is set up (Django admin → Platform seller).")
    return seller


def _treatment(operator, seller) -> vat.VatTreatment:
    return vat.treatment(seller_country=seller.country, buyer_country=operator.country,
                         buyer_vat_number=operator.vat_number)


def _assemble(operator, period, sub_lines, details, fee_groups, seller, until=None) -> Preview:
    tr = _treatment(operator, seller)
    lines = [*sub_lines, *pricing.fee_lines(fee_groups)]
    for line in lines:
        line.vat_category, line.vat_rate = tr.category, tr.rate
    breakdown = vat.vat_breakdown(lines, operator.currency)
    net = quantize(sum((b["net"] for b in breakdown), ZERO), operator.currency)
    vat_total = quantize(sum((b["vat"] for b in breakdown), ZERO), operator.currency)
    return Preview(operator=operator, period=period, currency=operator.currency, lines=lines, details=details,
                   treatment=tr, breakdown=breakdown, net=net, vat=vat_total, total=net + vat_total, until=until)


def invoice_preview(*, operator: Operator, period: date, until: date | None = None) -> Preview:
    """What the close would invoice for the month (to date, for a running month): nothing is
    numbered, linked or posted."""
    seller = _seller()
    sub_lines, details = pricing.subscription_lines(operator=operator, period=period, until=until)
    before = pricing.local_midnight(until + timedelta(days=1) if until else pricing.next_month(period))
    # The running month's preview (shown on every Billing page view) reads only this month's
    # entries; the dry run of a closed month reads, as the close links, every unbilled one.
    since = pricing.local_midnight(period) if until else None
    groups = pricing.unbilled_fee_groups(operator=operator, before=before, since=since)
    return _assemble(operator, period, sub_lines, details, groups, seller, until=until)


def running_preview(*, operator: Operator, today: date | None = None) -> Preview | None:
    today = today or timezone.localdate()
    try:
        return invoice_preview(operator=operator, period=today.replace(day=1), until=today)
    except NoSeller:
        return None


# --- issuing ------------------------------------------------------------------------------------
def _next_number(series: str, issue_date: date) -> tuple[int, str]:
    """Allocate the next number of `series` from its counter row, inside the caller's
    transaction. The UPDATE locks the row until that transaction ends (a concurrent issuer waits,
    then reads the incremented value), and a rollback gives the number back: no gaps, no
    duplicates, never max+1."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_invoiceseries SET last_number = last_number + 1 WHERE code = %s "
                       "RETURNING last_number", [series])
        row = cursor.fetchone()
    if row is None:  # the migration creates INV and CN; any other series on first use
        InvoiceSeries.objects.get_or_create(code=series)
        return _next_number(series, issue_date)
    return row[0], f"{series}-{issue_date.year}-{row[0]:06d}"


def buyer_snapshot(operator) -> dict:
    """The buyer as copied onto an invoice issued now."""
    return {"slug": operator.slug, "currency": operator.currency, **{f: getattr(operator, f) for f in BUYER_FIELDS}}


def _issue(invoice: Invoice, *, seller, issue_date: date, actor=None, verb="invoice.issued", send=True):
    sequence, number = _next_number(invoice.series, issue_date)
    invoice.sequence, invoice.number = sequence, number
    invoice.issue_date = issue_date
    invoice.due_date = issue_date + timedelta(days=seller.payment_terms_days)
    invoice.issued_at = timezone.now()
    invoice.status = Invoice.Status.ISSUED
    invoice.save()
    # Its e-invoice must pass every rule before the number is kept: `EInvoiceRejected` rolls the
    # caller's transaction back, which gives the number back and issues nothing (no fallback).
    einvoice.checked(invoice)
    audit.record(operator=invoice.operator, actor=actor, action="created", item=invoice, verb=verb,
                 changes=audit.diff({}, {"number": number, "period": invoice.period.isoformat(),
                                         "total": str(invoice.total), "currency": invoice.currency}))
    if send:
        transaction.on_commit(lambda: _queue_email(invoice.pk))


def _queue_email(invoice_id):
    from billing import tasks

    tasks.send_invoice.delay(invoice_id)


def _link_unbilled_fees(invoice, before) -> int:
    """Link every fee entry of the operator before `before` that no invoice bills yet: one
    INSERT … SELECT, whatever the number of charges."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO billing_invoiceentry (invoice_id, transaction_id)
               SELECT %s, t.id FROM operators_wallettransaction t
               WHERE t.operator_id = %s AND t.kind = 'platform_fee' AND t.state = 'complete' AND t.created_at < %s
                 AND NOT EXISTS (SELECT 1 FROM billing_invoiceentry e WHERE e.transaction_id = t.id)""",
            [invoice.pk, invoice.operator_id, before])
        return cursor.rowcount


def _save_lines(invoice, lines):
    InvoiceLine.objects.bulk_create(
        InvoiceLine(invoice=invoice, position=i, kind=line.kind, description=line.description[:255],
                    quantity=line.quantity, unit=line.unit, unit_price=line.unit_price, net=line.net,
                    vat_category=line.vat_category, vat_rate=line.vat_rate, covers=line.covers)
        for i, line in enumerate(lines, start=1)
    )


def _apply_totals(invoice, preview: Preview):
    invoice.net, invoice.vat, invoice.total = preview.net, preview.vat, preview.total
    invoice.vat_category, invoice.vat_rate = preview.treatment.category, preview.treatment.rate
    invoice.vat_note = preview.treatment.note
    invoice.details = {**preview.details, "vat_breakdown": [
        {"category": b["category"], "rate": str(b["rate"]), "net": str(b["net"]), "vat": str(b["vat"])}
        for b in preview.breakdown]}


def _check_month_over(period: date, today: date):
    if pricing.next_month(period) > today:
        raise MonthNotOver(f"{period:%B %Y} is not over yet: it can be invoiced from "
                           f"{pricing.next_month(period):%-d %B %Y}.")


@transaction.atomic
def invoice_issue(*, operator: Operator, period: date, today: date | None = None, send=True) -> Invoice | None:
    """Issue the operator's invoice for `period`, or return the one already issued. None when the
    month has nothing to invoice (no charge points, no fees). `send`: mail it after commit (the
    demo data does not)."""
    today = today or timezone.localdate()
    _check_month_over(period, today)
    operator = Operator.objects.select_for_update().get(pk=operator.pk)  # one close per operator at a time
    existing = month_document(operator, period)
    if existing is not None:
        if existing.status != Invoice.Status.DRAFT:
            if send and existing.emailed_at is None:  # resumed after a crash before the mail went out
                transaction.on_commit(lambda: _queue_email(existing.pk))
            existing._resumed = True
            return existing
        existing.lines.all().delete()  # a draft is never left behind by the close; be safe anyway
        InvoiceEntry.objects.filter(invoice=existing).delete()
        existing.delete()
    seller = _seller()
    sub_lines, details = pricing.subscription_lines(operator=operator, period=period)
    invoice = Invoice.objects.create(operator=operator, period=period, series=Invoice.Series.INVOICE,
                                     currency=operator.currency, vat_category="S",
                                     seller=seller.snapshot(), buyer=buyer_snapshot(operator))
    invoice._resumed, invoice._draft_in_db = False, True
    _link_unbilled_fees(invoice, pricing.local_midnight(pricing.next_month(period)))
    preview = _assemble(operator, period, sub_lines, details, pricing.linked_fee_groups(invoice=invoice), seller)
    if preview.is_empty:
        transaction.set_rollback(True)
        return None
    _save_lines(invoice, preview.lines)
    _apply_totals(invoice, preview)
    verb = "invoice.issued"
    if invoice.total < 0:  # more credited than invoiced this month: a credit note, not a negative invoice
        invoice.series = Invoice.Series.CREDIT_NOTE
        invoice.reason = f"Credits of {period:%B %Y} exceed what the month invoices."
        verb = "credit_note.issued"
    _issue(invoice, seller=seller, issue_date=today, send=send, verb=verb)
    return invoice


def month_document(operator, period) -> Invoice | None:
    """The month's invoice, or its credit note when the month came out negative (at most one)."""
    return Invoice.objects.filter(Q(series=Invoice.Series.INVOICE) | Q(series=Invoice.Series.CREDIT_NOTE,
                                                                       credit_of__isnull=True),
                                  operator=operator, period=period).first()


# --- settling -----------------------------------------------------------------------------------
def _balance(operator) -> Decimal:
    return (WalletTransaction.objects.filter(operator=operator, state=WalletTransaction.State.COMPLETE)
            .aggregate(s=Sum("amount"))["s"] or ZERO)


def _linked_sums(invoices) -> dict:
    rows = (InvoiceEntry.objects.filter(invoice__in=invoices).values("invoice_id")
            .annotate(s=Sum("transaction__amount")))
    return {r["invoice_id"]: r["s"] or ZERO for r in rows}


def _post_settlement(invoice, amount: Decimal, at=None, note=""):
    """The one ledger entry that brings the invoice's linked entries to minus its total."""
    at = at or timezone.now()
    entry = WalletTransaction.objects.create(
        operator_id=invoice.operator_id, created_at=at, completed_at=at, group=WalletTransaction.Group.OTHER,
        kind=WalletTransaction.Kind.INVOICE_SETTLEMENT, amount=amount, vat_amount=-invoice.vat,
        currency=invoice.currency, reference_type="INVOICE", reference_id=str(invoice.pk),
        reference=f"invoice-settlement:{invoice.pk}",
        note=note or (f"Refund by credit note {invoice.number}" if invoice.is_credit_note
                      else f"Settlement of invoice {invoice.number}"))
    InvoiceEntry.objects.create(invoice=invoice, transaction=entry)
    return entry


def _mark_paid(invoice, actor=None):
    invoice.status = Invoice.Status.PAID
    invoice.paid_at = timezone.now()
    Invoice.objects.filter(pk=invoice.pk).update(status=invoice.status, paid_at=invoice.paid_at)
    audit.record(operator=invoice.operator, actor=actor, action="updated", item=invoice, verb="invoice.settled",
                 changes={"status": {"before": "issued", "after": "paid"}})


@transaction.atomic
def settle_open_invoices(*, operator: Operator, at=None) -> list[Invoice]:
    """Settle the operator's open (issued, unpaid) invoices from the balance, oldest first; stop at
    the first one the balance cannot cover (it stays due). Returns those settled now."""
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    open_invoices = list(Invoice.objects.filter(operator=operator, status=Invoice.Status.ISSUED)
                         .select_related("operator").order_by("period", "sequence"))
    if not open_invoices:
        return []
    linked = _linked_sums(open_invoices)
    balance = _balance(operator)
    settled = []
    for invoice in open_invoices:
        rest = -invoice.total - linked.get(invoice.pk, ZERO)  # what is left to debit (negative) or credit
        if rest < 0 and balance + rest < 0:
            break
        _post_settlement(invoice, rest, at=at)
        balance += rest
        _mark_paid(invoice)
        settled.append(invoice)
    return settled


# --- the close ---------------------------------------------------------------------------------
@dataclass
class CloseResult:
    operator: Operator
    period: date
    outcome: str
    invoice: Invoice | None = None
    message: str = ""
    preview: Preview | None = None


def close_operator_month(*, operator: Operator, period: date, today: date | None = None, dry_run=False,
                         send=True, settle_at=None) -> CloseResult:
    """The close for one operator and month; safe to run again at any point (it resumes)."""
    today = today or timezone.localdate()
    _check_month_over(period, today)
    if dry_run:
        existing = month_document(operator, period)
        if existing is not None:
            return CloseResult(operator, period, CloseRun.Outcome.UNCHANGED, existing,
                               f"{existing.number}: already {existing.get_status_display().lower()}")
        preview = invoice_preview(operator=operator, period=period)
        return CloseResult(operator, period, "dry-run", None,
                           "nothing to invoice" if preview.is_empty else
                           f"would invoice {preview.total} {preview.currency} "
                           f"(net {preview.net}, VAT {preview.vat})", preview)
    started = timezone.now()
    invoice = invoice_issue(operator=operator, period=period, today=today, send=send)
    with transaction.atomic():
        settled = settle_open_invoices(operator=operator, at=settle_at)
        settled_ids = {i.pk for i in settled}
        if invoice is None:
            outcome, message = CloseRun.Outcome.EMPTY, "nothing to invoice"
            if settled:
                message += f"; settled {', '.join(i.number for i in settled)}"
        else:
            if invoice.pk in settled_ids:
                invoice.status = Invoice.Status.PAID
            if invoice._resumed and not settled:
                outcome = CloseRun.Outcome.UNCHANGED
            elif invoice.status == Invoice.Status.ISSUED:
                outcome = CloseRun.Outcome.DUE
            else:
                outcome = CloseRun.Outcome.SETTLED
            message = f"{invoice.number}: {invoice.total} {invoice.currency}, {invoice.get_status_display().lower()}"
            if invoice.status == Invoice.Status.ISSUED:
                message += f" (due {invoice.due_date:%Y-%m-%d}; balance too low)"
        message += "; " + _pay_out(operator, period, invoice, settle_at)
        CloseRun.objects.create(operator=operator, period=period, started_at=started, outcome=outcome,
                                message=message)
    return CloseResult(operator, period, outcome, invoice, message)


def _pay_out(operator, period, invoice, at) -> str:
    """The close's last step: the monthly payout of what is left (payouts/services.py)."""
    from payouts.services import monthly_payout
    from portal.money import format_money

    payout = monthly_payout(operator=operator, period=period, invoice=invoice, at=at)
    if payout.state == payout.State.SKIPPED:
        return f"no payout: {payout.get_skip_reason_display()}"
    return f"payout {payout.reference} {format_money(payout.amount, payout.currency)} {payout.get_state_display().lower()}"


def close_month(*, period: date, operators=None, today: date | None = None, dry_run=False, send=True
                ) -> list[CloseResult]:
    """The close for every operator (or those given): a failure for one is reported and logged and
    does not stop the others."""
    _check_month_over(period, today or timezone.localdate())
    results = []
    ops = operators if operators is not None else Operator.objects.order_by("id")
    for operator in ops:
        try:
            results.append(close_operator_month(operator=operator, period=period, today=today, dry_run=dry_run,
                                                send=send))
        except MonthNotOver:
            raise
        except Exception as exc:  # one operator's failure is reported; the others go on
            if isinstance(exc, DomainError):  # refused for a reason staff can act on (an e-invoice rule, …)
                log.warning("monthly close refused for %s %s: %s", operator.slug, period, exc.message)
                message = exc.message
            else:
                log.exception("monthly close failed for %s %s", operator.slug, period)
                message = f"{type(exc).__name__}: {exc}"
            if not dry_run:
                CloseRun.objects.create(operator=operator, period=period, started_at=timezone.now(),
                                        outcome=CloseRun.Outcome.FAILED, message=message[:2000])
            results.append(CloseResult(operator, period, CloseRun.Outcome.FAILED, None, message))
    return results


# --- credit notes -------------------------------------------------------------------------------
@transaction.atomic
def credit_note_issue(*, invoice: Invoice, actor, reason: str, net: Decimal | None = None,
                      today: date | None = None, send=True) -> Invoice:
    """Cancel `invoice` in full (net None) or in part (a net amount, only for a paid invoice) with
    a credit note of series CN that references it, and refund it on the ledger.

    An unpaid invoice credited in full is first settled (its settlement entry posts even if the
    balance is low), then the credit note refunds the whole total: both documents keep total =
    −(linked entries), and the ledger nets to zero."""
    today = today or timezone.localdate()
    reason = (reason or "").strip()
    if not reason:
        raise NotAllowed("Give a reason for the credit note.", field="reason")
    try:  # printed on the credit note and in the mail: one line, no control or bidi characters
        single_line_text(reason)
        if net is not None:
            net = bounded_decimal(net if not isinstance(net, str) else net.strip(), limit_digits=12)
    except ValidationError as exc:
        raise NotAllowed(exc.messages[0], field="reason" if net is None else "net") from None
    Operator.objects.select_for_update().get(pk=invoice.operator_id)
    invoice = Invoice.objects.select_for_update().select_related("operator").get(pk=invoice.pk)
    if invoice.series != Invoice.Series.INVOICE or invoice.status not in (Invoice.Status.ISSUED, Invoice.Status.PAID):
        raise NotAllowed(f"{invoice} cannot be credited (status {invoice.get_status_display().lower()}).")
    earlier = invoice.credit_notes.aggregate(net=Sum("net"), vat=Sum("vat"))
    credited = -(earlier["net"] or ZERO)
    credited_vat = -(earlier["vat"] or ZERO)
    remaining = invoice.net - credited
    if net is None:
        net = remaining
        partial = credited != 0
    else:
        net = quantize(Decimal(net), invoice.currency)
        partial = True
    if partial and invoice.status != Invoice.Status.PAID:
        raise NotAllowed("Only a paid invoice can be credited in part.")
    if net <= 0 or net > remaining:
        raise NotAllowed(f"The credit must be more than 0 and at most {remaining} {invoice.currency}.", field="net")
    seller = _seller()
    if invoice.status == Invoice.Status.ISSUED:
        rest = -invoice.total - _linked_sums([invoice]).get(invoice.pk, ZERO)
        _post_settlement(invoice, rest, note=f"Settlement of invoice {invoice.number} before its credit note")
        _mark_paid(invoice, actor)
    cn = Invoice.objects.create(operator=invoice.operator, period=invoice.period, series=Invoice.Series.CREDIT_NOTE,
                                currency=invoice.currency, vat_category=invoice.vat_category,
                                vat_rate=invoice.vat_rate, vat_note=invoice.vat_note, seller=seller.snapshot(),
                                buyer=invoice.buyer, credit_of=invoice, reason=reason[:255],
                                details={"credits": invoice.pk})
    cn._draft_in_db = True
    if not partial and credited == 0:
        lines = [pricing.LineDraft(kind=li.kind, description=li.description, quantity=-li.quantity, unit=li.unit,
                                   unit_price=li.unit_price, net=-li.net, vat_category=li.vat_category,
                                   vat_rate=li.vat_rate, covers=li.covers) for li in invoice.lines.all()]
    else:
        lines = [pricing.LineDraft(kind=InvoiceLine.Kind.CREDIT, description=f"Credit on invoice {invoice.number}: "
                                   f"{reason}", quantity=Decimal(-1), unit="", unit_price=net, net=-net,
                                   vat_category=invoice.vat_category, vat_rate=invoice.vat_rate)]
    breakdown = vat.vat_breakdown(lines, invoice.currency)
    cn.net = quantize(sum((b["net"] for b in breakdown), ZERO), invoice.currency)
    cn.vat = quantize(sum((b["vat"] for b in breakdown), ZERO), invoice.currency)
    if not partial and credited == 0:
        cn.vat = -invoice.vat  # a full credit cancels exactly what was invoiced
    elif net == remaining:
        cn.vat = -(invoice.vat - credited_vat)  # the last credit cancels exactly the VAT still invoiced
    else:
        # VAT on the credited net so far, rounded once, less what earlier notes credited: rounding
        # each note on its own would credit more VAT than invoiced (5 × 0.02 → 5 × 0.01, not 0.03).
        running = vat.vat_breakdown([pricing.LineDraft(kind="", description="", quantity=Decimal(1), unit="",
                                                       unit_price=ZERO, net=credited + net,
                                                       vat_category=invoice.vat_category,
                                                       vat_rate=invoice.vat_rate)], invoice.currency)
        cn.vat = -min(running[0]["vat"] - credited_vat, invoice.vat - credited_vat)
    if breakdown:
        breakdown[0]["vat"] = cn.vat  # one rate per invoice (one VAT treatment per buyer)
    cn.total = cn.net + cn.vat
    cn.details = {"credits": invoice.pk, "vat_breakdown": [
        {"category": b["category"], "rate": str(b["rate"]), "net": str(b["net"]), "vat": str(b["vat"])}
        for b in breakdown]}
    _save_lines(cn, lines)
    _issue(cn, seller=seller, issue_date=today, actor=actor, verb="invoice.credited", send=send)
    _post_settlement(cn, -cn.total)
    Invoice.objects.filter(pk=cn.pk).update(status=Invoice.Status.PAID, paid_at=timezone.now())
    cn.status = Invoice.Status.PAID
    if net == remaining:
        Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.CREDITED)
        invoice.status = Invoice.Status.CREDITED
        audit.record(operator=invoice.operator, actor=actor, action="updated", item=invoice, verb="invoice.credited",
                     changes={"status": {"before": "paid", "after": "credited"}, "credit_note": {
                         "before": None, "after": cn.number}})
    return cn


# --- PDF and email -------------------------------------------------------------------------------
def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice's PDF: rendered from the issued snapshot once and stored, so every download and
    the email carry the same bytes."""
    from billing.pdf import render_invoice_pdf

    return _stored_once(invoice, "pdf", lambda: render_invoice_pdf(invoice))


def invoice_einvoice(invoice: Invoice) -> bytes:
    """The invoice's e-invoice (UBL 2.1 with its PDF embedded): built from the issued snapshot,
    validated again, and stored on first use, like the PDF. Issuing already validated the same
    document without the attachment, so this cannot fail short of a bug (`EInvoiceRejected`)."""
    return _stored_once(invoice, "einvoice", lambda: einvoice.checked(invoice, pdf=invoice_pdf(invoice)))


def _stored_once(invoice: Invoice, field: str, make) -> bytes:
    """`field` of the issued invoice, made once and stored write-once (a concurrent first request
    that loses the race returns the stored bytes, not its own)."""
    if getattr(invoice, field):
        return bytes(getattr(invoice, field))
    stored = Invoice.objects.filter(pk=invoice.pk).values_list(field, flat=True).first()
    if not stored:
        data = make()
        if not Invoice.objects.filter(pk=invoice.pk, **{f"{field}__isnull": True}).update(**{field: data}):
            data = Invoice.objects.filter(pk=invoice.pk).values_list(field, flat=True).first() or data
        stored = data
    setattr(invoice, field, bytes(stored))
    return bytes(stored)


def invoice_send(*, invoice_id: int) -> str:
    """Mail the issued invoice's PDF to the buyer's finance email, once (the sent-at marker is
    set in the same transaction that sends; see docs/billing.md for the crash window)."""
    from django.core.mail import EmailMessage

    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
        if invoice is None or invoice.number is None:
            return "not issued"
        if invoice.emailed_at is not None:
            return "already sent"
        to = invoice.buyer.get("finance_email") or invoice.buyer.get("contact_email")
        if not to:
            return "no finance email"
        pdf = invoice_pdf(invoice)
        kind = "Credit note" if invoice.is_credit_note else "Invoice"
        message = EmailMessage(
            subject=f"{kind} {invoice.number} from {invoice.seller.get('name', '')}",
            body=(f"Dear {invoice.buyer.get('name', '')},\n\nattached is {kind.lower()} {invoice.number} for "
                  f"{invoice.period:%B %Y}: {invoice.total} {invoice.currency}, due {invoice.due_date:%d %B %Y}.\n"
                  f"It is settled from your Operator balance when the balance covers it.\n\n"
                  f"{invoice.seller.get('name', '')}"),
            to=[to],
        )
        message.attach(f"{invoice.number}.pdf", pdf, "application/pdf")
        if Operator.objects.filter(pk=invoice.operator_id, einvoice_by_email=True).exists():
            try:  # the PDF goes out in any case; an e-invoice that cannot be produced is logged
                message.attach(f"{invoice.number}.xml", invoice_einvoice(invoice), "application/xml")
            except DomainError as exc:
                log.error("e-invoice of %s not attached to its email: %s", invoice.number, exc.message)
        message.send()
        Invoice.objects.filter(pk=invoice.pk).update(emailed_at=timezone.now())
        return "sent"


# --- e-invoicing settings -------------------------------------------------------------------------
@transaction.atomic
def einvoicing_update(*, operator: Operator, actor, einvoice_by_email: bool) -> dict:
    """Settings › E-invoicing: whether invoice emails carry the e-invoice. Returns the changes."""
    locked = Operator.objects.select_for_update().get(pk=operator.pk)
    changes = audit.diff({"einvoice_by_email": locked.einvoice_by_email}, {"einvoice_by_email": einvoice_by_email})
    if not changes:
        return {}
    locked.einvoice_by_email = operator.einvoice_by_email = einvoice_by_email
    locked.save(update_fields=["einvoice_by_email"])
    audit.record(operator=locked, actor=actor, action="updated", item=locked, changes=changes,
                 verb="operator.einvoicing_updated")
    return changes


# --- installer settings -------------------------------------------------------------------------
@transaction.atomic
def installer_settings_update(*, operator: Operator, actor, data: dict) -> dict:
    """Save the installer settings (validated by the form). Returns the changes."""
    Operator.objects.select_for_update().get(pk=operator.pk)
    settings_, created = InstallerSettings.objects.get_or_create(operator=operator)
    fields = [f for f in InstallerSettings.FIELDS if f in data]
    before = {} if created else audit.snapshot(settings_, fields)
    if created:
        before = {f: audit.snapshot(settings_, [f])[f] for f in fields}
    for f in fields:
        setattr(settings_, f, data[f])
    changes = audit.diff(before, audit.snapshot(settings_, fields))
    if not changes:
        return {}
    settings_.updated_at, settings_.updated_by = timezone.now(), actor
    settings_.save()
    audit.record(operator=operator, actor=actor, action="updated", item=settings_, parent=operator,
                 changes=changes, verb="installer_settings.updated")
    return changes
