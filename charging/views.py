from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse

from charging import exports, selectors, services, sitepicker
from charging.forms import (
    CdrUploadForm,
    ChargeFilterForm,
    ChargePointCsvForm,
    ChargePointFilterForm,
    ChargePointForm,
    ConnectorFormSet,
    SiteFilterForm,
    SiteForm,
    WalletFilterForm,
)
from charging.models import Export
from operators.selectors import operator_balance
from portal import csv
from portal.errors import DomainError
from portal.forms import posted
from portal.pagination import CURSOR_PARAMS, seek_page
from portal.tenancy import operator_view

PAGE_SIZE = 50


def _url(request, name, *args):
    return reverse(f"charging:{name}", args=[request.operator.slug, *args])


def _filtered(request, form_class):
    """A filter form bound to the query string, and its cleaned values (empty when invalid)."""
    data = request.GET.copy()
    for name in CURSOR_PARAMS:
        data.pop(name, None)
    form = form_class(data or None, operator=request.operator)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return form, filters, data.urlencode()


def _files(request):
    return request.FILES if request.method == "POST" else None


def _page(request, qs, count=None, parts=None):
    """The keyset page the request asks for, in the queryset's own order (which ends with the id)."""
    return seek_page(request, qs, list(qs.query.order_by), size=PAGE_SIZE, count=count, parts=parts)


# --- Sites -------------------------------------------------------------------------------------------
@operator_view(GET="charging:read")
def site_list(request):
    form, filters, query = _filtered(request, SiteFilterForm)
    page = _page(request, selectors.sites(operator=request.operator, filters=filters))
    return render(request, "charging/site_list.html", {"form": form, "page": page, "query": query},
                  status=400 if form.errors or page.error else 200)


@operator_view(GET="charging:read")
def site_search(request):
    """The site picker's suggestions (htmx): up to 20 <option>s for what was typed."""
    text = request.GET.get("q") or next((v for k, v in request.GET.items() if k != "q"), "")
    sites = sitepicker.search(request.operator, text)
    return render(request, "charging/_site_options.html", {"sites": sites})


@operator_view(GET="charging:write", POST="charging:write")
def site_new(request):
    form = SiteForm(posted(request))
    if request.method == "POST" and form.is_valid():
        site = services.site_create(operator=request.operator, actor=request.user, data=form.cleaned_data)
        messages.success(request, f"Site {site.name} created.")
        return redirect(_url(request, "site_list"))
    return render(request, "charging/site_form.html", {"form": form}, status=400 if form.errors else 200)


@operator_view(GET="charging:write", POST="charging:write")
def site_edit(request, site_id):
    site = selectors.site(operator=request.operator, site_id=site_id)
    if site is None:
        raise Http404("No such site")
    form = SiteForm(posted(request), instance=selectors.site(operator=request.operator, site_id=site_id))
    if request.method == "POST" and form.is_valid():
        changes = services.site_update(operator=request.operator, actor=request.user, site_id=site.pk,
                                       data=form.cleaned_data)
        messages.success(request, "Site saved." if changes else "Nothing changed.")
        return redirect(_url(request, "site_list"))
    return render(request, "charging/site_form.html", {"form": form, "site": site},
                  status=400 if form.errors else 200)


@operator_view(POST="charging:write")
def site_delete(request, site_id):
    try:
        services.site_delete(operator=request.operator, actor=request.user, site_id=site_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Site deleted.")
    return redirect(_url(request, "site_list"))


# --- Charge points -----------------------------------------------------------------------------------
@operator_view(GET="charging:read")
def charge_point_list(request):
    form, filters, query = _filtered(request, ChargePointFilterForm)
    page = _page(request, selectors.charge_points(operator=request.operator, filters=filters))
    return render(request, "charging/charge_point_list.html", {"form": form, "page": page, "query": query},
                  status=400 if form.errors or page.error else 200)


@operator_view(GET="charging:read")
def charge_point_detail(request, charge_point_id):
    cp = selectors.charge_point(operator=request.operator, charge_point_id=charge_point_id)
    if cp is None:
        raise Http404("No such charge point")
    return render(request, "charging/charge_point_detail.html", {
        "cp": cp, "recent": selectors.recent_charges(operator=request.operator, charge_point=cp),
    })


def _connector_values(formset):
    return [(f.cleaned_data["identifier"], f.cleaned_data["max_kw"]) for f in formset.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
            and f.cleaned_data.get("identifier") and f.cleaned_data.get("max_kw")]


def _charge_point_form(request, cp=None):
    instance = selectors.charge_point(operator=request.operator, charge_point_id=cp.pk) if cp else None
    form = ChargePointForm(posted(request), instance=instance, operator=request.operator)
    formset = ConnectorFormSet(posted(request), instance=instance, prefix="connectors")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = {f: form.cleaned_data[f] for f in ChargePointForm.Meta.fields}
        try:
            if cp is None:
                cp = services.charge_point_create(operator=request.operator, actor=request.user, data=data,
                                                  connectors=_connector_values(formset))
                messages.success(request, f"Charge point {cp.name} created.")
            else:
                changes = services.charge_point_update(operator=request.operator, actor=request.user,
                                                       charge_point_id=cp.pk, data=data,
                                                       connectors=_connector_values(formset))
                messages.success(request, "Charge point saved." if changes else "Nothing changed.")
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            return redirect(_url(request, "charge_point_detail", cp.pk))
    invalid = form.errors or any(formset.errors) or formset.non_form_errors()
    return render(request, "charging/charge_point_form.html", {"form": form, "formset": formset, "cp": cp},
                  status=400 if invalid else 200)


@operator_view(GET="charging:write", POST="charging:write")
def charge_point_new(request):
    return _charge_point_form(request)


@operator_view(GET="charging:write", POST="charging:write")
def charge_point_edit(request, charge_point_id):
    cp = selectors.charge_point(operator=request.operator, charge_point_id=charge_point_id)
    if cp is None:
        raise Http404("No such charge point")
    return _charge_point_form(request, cp)


@operator_view(POST="charging:write")
def charge_point_delete(request, charge_point_id):
    try:
        services.charge_point_delete(operator=request.operator, actor=request.user,
                                     charge_point_id=charge_point_id)
    except DomainError as exc:
        messages.error(request, exc.message)
        if selectors.charge_point(operator=request.operator, charge_point_id=charge_point_id):
            return redirect(_url(request, "charge_point_detail", charge_point_id))
    else:
        messages.success(request, "Charge point deleted.")
    return redirect(_url(request, "charge_point_list"))


@operator_view(GET="charging:write", POST="charging:write")
def charge_point_import(request):
    form = ChargePointCsvForm(posted(request), _files(request))
    report = None
    if request.method == "POST" and form.is_valid():
        report = services.charge_points_import_csv(
            operator=request.operator, actor=request.user, text=form.cleaned_data["file"],
            import_valid_rows=form.cleaned_data["import_valid_rows"])
        if report.created:
            messages.success(request, f"{len(report.created)} charge point(s) imported."
                             + (f" {len({n for n, _ in report.errors})} row(s) with errors were skipped."
                                if report.errors else ""))
            if not report.errors:
                return redirect(_url(request, "charge_point_list"))
        elif report.header_error:
            form.add_error("file", report.header_error)
        else:
            messages.error(request, "Nothing was imported: correct the rows below, or choose to import "
                                    "the valid rows only.")
    failed = form.errors or (report is not None and not report.created)
    return render(request, "charging/charge_point_import.html", {"form": form, "report": report},
                  status=400 if failed else 200)


# --- Charges -----------------------------------------------------------------------------------------
@operator_view(GET="charging:read")
def charge_list(request):
    form, filters, query = _filtered(request, ChargeFilterForm)
    points, stale = (selectors.site_points(operator=request.operator, site=filters["site"]) if filters.get("site")
                     else (None, None))
    qs = selectors.charges(operator=request.operator, filters=filters, site_points=points)
    if request.GET.get("format") == "csv" and not form.errors:
        return _export(request, "charges", form, filters, query)
    export_query = request.GET.copy()
    for name in CURSOR_PARAMS:
        export_query.pop(name, None)
    export_query["format"] = "csv"
    totals = selectors.charge_totals(operator=request.operator, filters=filters, charges=qs, site_stale=stale)
    if points is not None and not filters.get("charge_point"):  # the site's charge points, each read on its own
        page_qs = selectors.charges(operator=request.operator, filters={**filters, "site": None})
        page = _page(request, selectors.charges_for_page(page_qs), count=totals["count"],
                     parts=("charge_point_id", points))
    else:
        page = _page(request, selectors.charges_for_page(qs), count=totals["count"])
    return render(request, "charging/charge_list.html", {
        "form": form, "query": query, "export_query": export_query.urlencode(), "page": page, "totals": totals,
    }, status=400 if form.errors or page.error else 200)


# --- CDR import --------------------------------------------------------------------------------------
@operator_view(GET="charging:write", POST="charging:write")
def cdr_import_new(request):
    form = CdrUploadForm(posted(request), _files(request))
    if request.method == "POST" and form.is_valid():
        cdr_import = services.cdr_import_create(operator=request.operator, actor=request.user,
                                                upload=form.cleaned_data["file"])
        return redirect(_url(request, "cdr_import_detail", cdr_import.pk))
    imports = selectors.cdr_imports(operator=request.operator)[:10]
    return render(request, "charging/cdr_import_new.html", {"form": form, "imports": imports},
                  status=400 if form.errors else 200)


@operator_view(GET="charging:read")
def cdr_import_detail(request, import_id):
    cdr_import = selectors.cdr_import(operator=request.operator, import_id=import_id)
    if cdr_import is None:
        raise Http404("No such import")
    template = "charging/cdr_import_detail.html"
    if request.htmx:
        template += "#progress"
    return render(request, template, {"imp": cdr_import})


# --- Wallet transactions -----------------------------------------------------------------------------
@operator_view(GET="wallet:read")
def wallet(request):
    form, filters, query = _filtered(request, WalletFilterForm)
    if request.GET.get("format") == "csv" and not form.errors:
        return _export(request, "wallet", form, filters, query)
    balance = operator_balance(operator=request.operator)
    page = _page(request, selectors.wallet_transactions(operator=request.operator, filters=filters))
    selectors.with_running_balance(operator=request.operator, entries=list(page.object_list), balance=balance)
    export_query = request.GET.copy()
    for name in CURSOR_PARAMS:
        export_query.pop(name, None)
    export_query["format"] = "csv"
    from payouts.selectors import deposits_to_show

    return render(request, "charging/wallet.html", {
        "form": form, "page": page, "query": query, "balance": balance, "export_query": export_query.urlencode(),
        "deposits": deposits_to_show(operator=request.operator),
    }, status=400 if form.errors or page.error else 200)


@operator_view(GET="charging:read")
def charge_detail(request, charge_id):
    charge = selectors.charge(operator=request.operator, charge_id=charge_id)
    if charge is None:
        raise Http404("No such charge")
    context = {"charge": charge, "credits": list(charge.credits.order_by("started_at", "id"))}
    if "wallet:read" in request.operator_perms:
        context["entries"] = selectors.charge_ledger_entries(operator=request.operator, charge=charge)
    if "wallet:write" in request.operator_perms:
        from payouts.services import refundable

        context["refundable"] = refundable(charge)
    return render(request, "charging/charge_detail.html", context)


# --- Exports -----------------------------------------------------------------------------------------
def _export(request, kind_name, form, filters, query):
    """?format=csv of a list: the file now when it is small, else a page that offers to prepare it
    in the background (a request must not run into the server's timeout and end in a cut-off file)."""
    kind = exports.KINDS[kind_name]
    count = kind.count(request.operator, filters)
    if count <= exports.inline_limit():
        return exports.download(kind, request.operator, filters)
    back = request.GET.copy()
    back.pop("format", None)
    return render(request, "charging/export_confirm.html", {
        "kind": kind, "back_query": back.urlencode(), "kind_label": Export.Kind(kind.name).label, "count": count,
        "query": query, "description": exports.describe(form), "limit": exports.inline_limit(),
    })


def _exports(request):
    """The operator's exports of the kinds the member may read (the data is theirs to see anyway)."""
    kinds = [k.name for k in exports.KINDS.values() if k.permission in request.operator_perms]
    return Export.objects.filter(operator=request.operator, kind__in=kinds).select_related("requested_by")


@operator_view(GET="charging:read")
def export_list(request):
    items = list(_exports(request).order_by("-created_at", "-id")[:50])
    return render(request, "charging/export_list.html", {"exports": items})


@operator_view(POST="charging:read")
def export_new(request):
    kind = exports.KINDS.get(request.POST.get("kind", ""))
    if kind is None or kind.permission not in request.operator_perms:
        return HttpResponseBadRequest("Unknown kind of export.")
    try:
        export = exports.ask_for(operator=request.operator, membership=request.membership, kind=kind,
                                 query=request.POST.get("query", ""))
    except DomainError as exc:
        return _refuse_export(request, exc.message)
    return redirect(_url(request, "export_detail", export.pk))


def _refuse_export(request, message):
    messages.error(request, message)
    return render(request, "charging/export_list.html", {"exports": list(_exports(request)[:50])}, status=400)


def _export_or_404(request, export_id):
    export = _exports(request).filter(pk=export_id).first()
    if export is None:
        raise Http404("No such export")
    return export


@operator_view(GET="charging:read")
def export_detail(request, export_id):
    export = _export_or_404(request, export_id)
    template = "charging/export_detail.html"
    if request.htmx:
        template += "#progress"
    return render(request, template, {"export": export})


@operator_view(GET="charging:read")
def export_download(request, export_id):
    export = _export_or_404(request, export_id)
    if export.state != Export.State.DONE or not export.file:
        messages.error(request, "This export is not ready yet." if not export.finished else
                       "This export has no file: it failed or is no longer kept.")
        return redirect(_url(request, "export_detail", export.pk))
    try:
        fileobj = export.file.open("rb")
    except FileNotFoundError:  # pruned a moment ago (or a storage not shared with the worker)
        messages.error(request, "This export has no file: it is no longer kept.")
        return redirect(_url(request, "export_detail", export.pk))
    return csv.file_response(fileobj, exports.KINDS[export.kind].filename(request.operator))
