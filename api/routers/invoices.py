"""Invoices: `GET /invoices?walletId=` (get-invoice) and `GET /invoices/{invoiceId}` (get-invoice_1),
the spec's InvoiceDto from the operator's issued invoices and credit notes (drafts, which have no
number yet, never appear).

The spec's fields, then the portal's own (not in the spec, added so a program needs no second
source): `number`, `documentType`, `creditOfId`, `period`, `issueDate`, `dueDate`, `paidAt`,
`netAmount`, `vatAmount`, `totalAmount`, `vatRate`, `vatCategory`, `lines`, `portalStatus`,
`einvoiceUrl`.

Status: issued (due) → `unpaid`; paid (settled from the wallet, or a credit note refunded to it)
→ `paid`; credited (cancelled by a credit note) → `settled`. `totalStatement` is the document's
total, `totalPayableBalance` what is still due (the total while unpaid, else 0). `from`/`to`: the
invoiced month, from its first moment to its last (the portal's time zone). `pdfUrl` and
`einvoiceUrl` are the portal's download pages (a member's sign-in with billing access)."""
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from api.auth import scope
from api.common import owned
from api.errors import not_found
from api.money import CurrencyDto, Money, currency_dto
from api.pages import PageMeta, PageParams, paged
from billing.models import Invoice, InvoiceLine
from billing.pricing import next_month

router = Router(tags=["Invoices"])
STATUS = {Invoice.Status.ISSUED: "unpaid", Invoice.Status.PAID: "paid", Invoice.Status.CREDITED: "settled"}


class LineOut(Schema):
    position: int
    kind: str
    description: str
    quantity: Money
    unit: str | None = None
    unitPrice: Money
    netAmount: Money
    vatCategory: str
    vatRate: Money


class InvoiceOut(Schema):
    id: int
    walletId: int
    from_: datetime = Field(..., alias="from")
    to: datetime
    approvedAt: datetime | None = None
    totalStatement: Money | None = None
    totalPayableBalance: Money
    currency: CurrencyDto
    status: str
    createdAt: datetime
    dueAt: datetime | None = None
    pdfUrl: str | None = None
    # the portal's own fields
    number: str
    documentType: str
    creditOfId: int | None = None
    period: str
    issueDate: str | None = None
    dueDate: str | None = None
    paidAt: datetime | None = None
    netAmount: Money
    vatAmount: Money
    totalAmount: Money
    vatRate: Money
    vatCategory: str
    portalStatus: str
    einvoiceUrl: str | None = None
    lines: list[LineOut]


class InvoicePage(Schema):
    data: list[InvoiceOut]
    meta: PageMeta


def _start(day):
    """The day's first moment in the portal's time zone, written in UTC as every time of the API."""
    return datetime.combine(day, time.min, timezone.get_current_timezone()).astimezone(UTC)


def serialize(request, invoice) -> dict:
    operator = request.operator
    kwargs = {"operator_slug": operator.slug, "invoice_id": invoice.pk}
    zero = Decimal(0).quantize(invoice.total)
    return {
        "id": invoice.pk, "walletId": operator.pk,
        "from": _start(invoice.period), "to": _start(next_month(invoice.period)) - timedelta(microseconds=1),
        "approvedAt": invoice.issued_at, "totalStatement": invoice.total,
        "totalPayableBalance": invoice.total if invoice.status == Invoice.Status.ISSUED else zero,
        "currency": currency_dto(invoice.currency), "status": STATUS[invoice.status],
        "createdAt": invoice.issued_at or _start(invoice.issue_date),
        "dueAt": _start(invoice.due_date) if invoice.due_date else None,
        "pdfUrl": request.build_absolute_uri(reverse("billing:invoice_pdf", kwargs=kwargs)),
        "number": invoice.number, "documentType": "credit-note" if invoice.is_credit_note else "invoice",
        "creditOfId": invoice.credit_of_id, "period": invoice.period.strftime("%Y-%m"),
        "issueDate": invoice.issue_date.isoformat() if invoice.issue_date else None,
        "dueDate": invoice.due_date.isoformat() if invoice.due_date else None, "paidAt": invoice.paid_at,
        "netAmount": invoice.net, "vatAmount": invoice.vat, "totalAmount": invoice.total,
        "vatRate": invoice.vat_rate, "vatCategory": invoice.vat_category, "portalStatus": invoice.status,
        "einvoiceUrl": request.build_absolute_uri(reverse("billing:invoice_einvoice", kwargs=kwargs)),
        "lines": [{"position": ln.position, "kind": ln.kind.replace("_", "-"), "description": ln.description,
                   "quantity": ln.quantity, "unit": ln.unit or None, "unitPrice": ln.unit_price, "netAmount": ln.net,
                   "vatCategory": ln.vat_category, "vatRate": ln.vat_rate} for ln in invoice.lines.all()],
    }


def _invoices(request):
    # issued documents only; the stored PDF and e-invoice bytes are never read here
    return (Invoice.objects.filter(operator=request.operator, number__isnull=False).defer("pdf", "einvoice")
            .prefetch_related(Prefetch("lines", queryset=InvoiceLine.objects.order_by("position")))
            .order_by("-period", "-id"))


class InvoiceFilters(PageParams):
    walletId: int = Field(..., ge=1, description="The operator's wallet (its id is the operator's id)")


@router.get("/invoices", response=InvoicePage, operation_id="get-invoice",
            summary="Retrieves a list of invoices by walletId", by_alias=True)
@scope("invoices:read")
def get_invoices(request, filters: Query[InvoiceFilters]):
    if filters.walletId != request.operator.pk:
        raise not_found("wallet")
    return paged(_invoices(request), filters, lambda invoice: serialize(request, invoice))


@router.get("/invoices/{invoiceId}", response=InvoiceOut, operation_id="get-invoice_1",
            summary="Retrieves an invoice by its id", by_alias=True)
@scope("invoices:read")
def get_invoice(request, invoiceId: int):
    return serialize(request, owned(_invoices(request), invoiceId, "invoice"))
