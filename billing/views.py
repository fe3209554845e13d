from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from billing import einvoice, selectors, services
from billing.forms import EInvoicingForm, InstallerSettingsForm, InvoiceFilterForm
from billing.models import Invoice
from portal.errors import DomainError
from portal.forms import posted
from portal.tenancy import operator_view

PAGE_SIZE = 25


def _index_url(request, anchor=""):
    return reverse("billing:index", args=[request.operator.slug]) + anchor


def _installer_form(request, data=None):
    return InstallerSettingsForm(data, instance=selectors.installer_settings(operator=request.operator),
                                 region=request.operator.country)


@operator_view(GET="billing:read")
def index(request):
    """Billing & Support: the plan and this month's running preview, the support level, the installer."""
    can_edit = "installer:write" in request.operator_perms
    level, since = selectors.support_level(operator=request.operator)
    installer = selectors.installer_settings(operator=request.operator)
    return render(request, "billing/index.html", {
        "summary": selectors.billing_summary(operator=request.operator),
        "support_level": level, "support_since": since,
        "installer": installer, "installer_form": _installer_form(request) if can_edit else None,
        "tab": "billing",
    })


@operator_view(GET="billing:read", POST="installer:write")
def installer_settings(request):
    can_edit = "installer:write" in request.operator_perms
    form = _installer_form(request, posted(request)) if can_edit else None
    if request.method == "POST":
        if form.is_valid():
            changes = services.installer_settings_update(
                operator=request.operator, actor=request.user,
                data={f: form.cleaned_data[f] for f in form.Meta.fields})
            messages.success(request, "Installer settings saved." if changes else "Nothing changed.")
            return redirect(_index_url(request, "#installer"))
        messages.error(request, "Installer settings were not saved. Please correct the fields marked below.")
    return render(request, "billing/installer.html", {
        "form": form, "installer": selectors.installer_settings(operator=request.operator), "tab": "billing",
    }, status=400 if form is not None and form.errors else 200)


@operator_view(GET="billing:read")
def invoice_list(request):
    data = request.GET.copy()
    data.pop("page", None)
    form = InvoiceFilterForm(data or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    page = Paginator(selectors.invoices(operator=request.operator, filters=filters), PAGE_SIZE).get_page(
        request.GET.get("page"))
    preview = None
    if not filters.get("status") and not filters.get("period") and page.number == 1:
        preview = services.running_preview(operator=request.operator)
    return render(request, "billing/invoice_list.html", {
        "form": form, "page": page, "query": data.urlencode(), "preview": preview, "tab": "billing",
    }, status=400 if form.errors else 200)


def _covers_links(request, invoice, line):
    """Links to what a fee line bills: the charges and wallet entries of its date range."""
    covers = line.covers or {}
    if line.kind != "platform_fee" or not covers.get("first"):
        return None
    first, last = (date.fromisoformat(covers[k][:10]) for k in ("first", "last"))
    slug = request.operator.slug
    span = f"date_from={first.isoformat()}&date_to={last.isoformat()}"
    return {"charges": f"{reverse('charging:charge_list', args=[slug])}?{span}",
            "wallet": f"{reverse('charging:wallet', args=[slug])}?kind=platform_fee&{span}",
            "first": first, "last": last}


@operator_view(GET="billing:read")
def invoice_detail(request, invoice_id):
    invoice = selectors.invoice(operator=request.operator, invoice_id=invoice_id)
    if invoice is None:
        raise Http404("No such invoice")
    lines = list(invoice.lines.all())
    for line in lines:
        line.links = _covers_links(request, invoice, line)
    points = invoice.details.get("charge_points", [])
    return render(request, "billing/invoice_detail.html", {
        "invoice": invoice, "lines": lines, "seller": invoice.seller, "buyer": invoice.buyer,
        "charge_points": [{"id": p[0], "name": p[1], "evse_id": p[2], "first": date.fromisoformat(p[3]),
                           "last": date.fromisoformat(p[4]), "days": p[5], "removed": p[6]} for p in points],
        "days_in_month": invoice.details.get("days_in_month"),
        "breakdown": invoice.details.get("vat_breakdown", []),
        "entries": selectors.invoice_entries_summary(invoice=invoice),
        "settlement": selectors.settlement_entry(invoice=invoice),
        "credit_notes": list(invoice.credit_notes.only("id", "number", "total", "currency", "issue_date")),
        "tab": "billing",
    })


def _issued(request, invoice_id) -> Invoice:
    invoice = (Invoice.objects.filter(operator=request.operator, pk=invoice_id, number__isnull=False)
               .select_related("credit_of").first())
    if invoice is None:
        raise Http404("No such invoice")
    return invoice


def _attachment(data: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@operator_view(GET="billing:read")
def invoice_pdf(request, invoice_id):
    invoice = _issued(request, invoice_id)
    return _attachment(services.invoice_pdf(invoice), "application/pdf", f"{invoice.number}.pdf")


@operator_view(GET="billing:read")
def invoice_einvoice(request, invoice_id):
    """The e-invoice (Peppol BIS 3.0, UBL 2.1 XML with the PDF embedded)."""
    invoice = _issued(request, invoice_id)
    try:
        data = services.invoice_einvoice(invoice)
    except DomainError as exc:  # validated when issued: only a bug gets here; say so, never a broken file
        services.log.error("e-invoice of %s failed on download: %s", invoice.number, exc.message)
        messages.error(request, f"The e-invoice of {invoice.number} could not be produced ({exc.message}). "
                                "Our team has been notified; the PDF is unaffected.")
        return redirect("billing:invoice_detail", request.operator.slug, invoice.pk)
    return _attachment(data, "application/xml", f"{invoice.number}.xml")


@operator_view(GET="billing:read", POST="settings:write")
def einvoicing(request):
    """Settings › E-invoicing: the operator's e-invoice address, the email setting, the last e-invoice."""
    operator = request.operator
    can_edit = "settings:write" in request.operator_perms
    form = EInvoicingForm(posted(request), initial={"einvoice_by_email": operator.einvoice_by_email})
    if request.method == "POST":
        if form.is_valid():
            changes = services.einvoicing_update(operator=operator, actor=request.user,
                                                 einvoice_by_email=form.cleaned_data["einvoice_by_email"])
            messages.success(request, "E-invoicing settings saved." if changes else "Nothing changed.")
            return redirect("operators:einvoicing", operator.slug)
        messages.error(request, "E-invoicing settings were not saved. Please correct the fields marked below.")
    buyer = services.buyer_snapshot(operator)
    scheme, ident = einvoice.endpoint(buyer)
    return render(request, "billing/einvoicing.html", {
        "form": form if can_edit else None, "scheme": scheme, "ident": ident,
        "scheme_label": einvoice.SCHEME_LABELS.get(scheme, "VAT number"),
        "last": selectors.last_issued(operator=operator),
        "tab": "overview",
    }, status=400 if form.errors else 200)
