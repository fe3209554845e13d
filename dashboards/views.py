"""Dashboards in the portal (Admin, Manager): the list, a dashboard, New, Edit with its sharing,
the CSV of a chart, the access log (Admins). The public link is `dashboards.public`."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from dashboards import charts, selectors, services, sharing
from dashboards.forms import DashboardForm, ShareForm
from dashboards.models import Dashboard
from portal.csv import streaming_response
from portal.errors import DomainError
from portal.forms import posted
from portal.tenancy import operator_view


def _dashboard(request, dashboard_id) -> Dashboard:
    dashboard = selectors.dashboard_for(request.operator, dashboard_id)
    if dashboard is None:
        raise Http404("No such dashboard")
    return dashboard


def public_url(request, token: str) -> str:
    return request.build_absolute_uri(reverse("public_dashboard", args=[token]))


def rendered(view) -> list[dict]:
    """The charts of a dashboard view as the templates show them: SVG, table, CSV key."""
    return [{"chart": c, "svg": charts.render(c), "table": charts.table(c), "legend": charts.legend(c)}
            for c in view.charts]


@operator_view(GET="dashboards:read")
def dashboard_list(request):
    now = timezone.now()
    items = list(selectors.dashboards_for(request.operator))
    for d in items:
        d.expired = d.is_expired(now)
    return render(request, "dashboards/list.html", {
        "dashboards": items, "can_write": "dashboards:write" in request.operator_perms, "tab": "dashboards"})


@operator_view(GET="dashboards:write", POST="dashboards:write")
def dashboard_new(request):
    form = DashboardForm(posted(request), operator=request.operator,
                         initial={"kind": request.GET.get("kind") if request.GET.get("kind") in Dashboard.Kind.values
                                  else Dashboard.Kind.NETWORK, "name": ""})
    if request.method == "POST":
        if form.is_valid():
            dashboard = services.dashboard_create(operator=request.operator, actor=request.user,
                                                  data=form.cleaned_data)
            messages.success(request, f"Dashboard “{dashboard.name}” created. It is private: open Edit to share it.")
            return redirect("dashboards:detail", request.operator.slug, dashboard.pk)
        messages.error(request, "The dashboard was not created. Please correct the fields marked below.")
    return render(request, "dashboards/form.html", {"form": form, "tab": "dashboards"},
                  status=400 if form.errors else 200)


@operator_view(GET="dashboards:read")
def dashboard_detail(request, dashboard_id):
    dashboard = _dashboard(request, dashboard_id)
    view = selectors.dashboard_view(dashboard)
    services.dashboard_viewed(dashboard)
    return render(request, "dashboards/detail.html", {
        "dashboard": dashboard, "view": view, "charts": rendered(view), "tab": "dashboards",
        "can_write": "dashboards:write" in request.operator_perms, "expired": dashboard.is_expired(timezone.now()),
    })


def _initial(dashboard):
    return {f: getattr(dashboard, f) for f in services.DEFINITION} | {
        "site": dashboard.site_id, "visibility": dashboard.visibility,
        "expire_at": timezone.localtime(dashboard.expire_at) if dashboard.expire_at else None,
        "share_username": dashboard.share_username}


def _edit_page(request, dashboard, form, share, token=None, status=200):
    """The Edit page. A new link's token is only ever in this one response (after Save made it, or
    Regenerate link): it is stored hashed and cannot be shown again."""
    response = render(request, "dashboards/edit.html", {
        "dashboard": dashboard, "form": form, "share": share, "tab": "dashboards",
        "link": public_url(request, token) if token else None,
        "masked_link": f"{request.build_absolute_uri('/d/')}…{dashboard.token_hint}/" if dashboard.is_shared else None,
        "expired": dashboard.is_expired(timezone.now()),
        "can_see_log": "audit:read" in request.operator_perms,
    }, status=status)
    if token:  # the one-time link: not for the browser's cache, nor a proxy's
        add_never_cache_headers(response)
    return response


def _forms(request, dashboard, data=None):
    return (DashboardForm(data, operator=request.operator, initial=_initial(dashboard)),
            ShareForm(data, dashboard=dashboard, initial=_initial(dashboard)))


@operator_view(GET="dashboards:write", POST="dashboards:write")
def dashboard_edit(request, dashboard_id):
    """Edit: what the dashboard shows, then Visibility › Expire at › Save › Public link."""
    dashboard = _dashboard(request, dashboard_id)
    form, share = _forms(request, dashboard, posted(request))
    if request.method == "POST":
        if form.is_valid() and share.is_valid():
            try:
                dashboard, token = services.dashboard_update(
                    operator=request.operator, actor=request.user, dashboard_id=dashboard.pk,
                    data={**form.cleaned_data, **share.cleaned_data})
            except DomainError as exc:
                share.add_error(exc.field if exc.field in share.fields else None, exc.message)
            else:
                if token:  # shown once, in this response
                    messages.success(request, "Dashboard saved. Copy the public link now: it is shown only once.")
                    return _edit_page(request, dashboard, *_forms(request, dashboard), token=token)
                messages.success(request, "Dashboard saved.")
                return redirect("dashboards:edit", request.operator.slug, dashboard.pk)
        messages.error(request, "The dashboard was not saved. Please correct the fields marked below.")
        return _edit_page(request, dashboard, form, share, status=400)
    return _edit_page(request, dashboard, form, share)


@operator_view(POST="dashboards:write")
def dashboard_regenerate(request, dashboard_id):
    dashboard = _dashboard(request, dashboard_id)
    try:
        dashboard, token = services.dashboard_regenerate_link(operator=request.operator, actor=request.user,
                                                              dashboard_id=dashboard.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("dashboards:edit", request.operator.slug, dashboard.pk)
    messages.success(request, "A new link was made and the old link no longer works. Copy it now: it is shown "
                              "only once.")
    return _edit_page(request, dashboard, *_forms(request, dashboard), token=token)


@operator_view(POST="dashboards:write")
def dashboard_stop_sharing(request, dashboard_id):
    dashboard = _dashboard(request, dashboard_id)
    services.dashboard_stop_sharing(operator=request.operator, actor=request.user, dashboard_id=dashboard.pk)
    messages.success(request, "Sharing stopped. The link no longer works; the dashboard is private.")
    return redirect("dashboards:edit", request.operator.slug, dashboard.pk)


@operator_view(GET="dashboards:write", POST="dashboards:write")
def dashboard_delete(request, dashboard_id):
    dashboard = _dashboard(request, dashboard_id)
    if request.method == "POST":
        services.dashboard_delete(operator=request.operator, actor=request.user, dashboard_id=dashboard.pk)
        messages.success(request, f"Dashboard “{dashboard.name}” deleted.")
        return redirect("dashboards:list", request.operator.slug)
    return render(request, "dashboards/delete.html", {"dashboard": dashboard, "tab": "dashboards"})


def chart_csv(view, key: str | None, filename_prefix: str):
    chart = next((c for c in view.charts if c.key == key), None) if key else view.charts[0]
    if chart is None:
        raise Http404("No such chart")
    name = f"{filename_prefix}-{chart.key}-{view.start:%Y%m%d}-{view.end:%Y%m%d}.csv"
    return streaming_response(name, charts.csv_header(chart), charts.csv_rows(chart))


@operator_view(GET="dashboards:read")
def dashboard_csv(request, dashboard_id):
    """?chart=<key>: exactly the numbers of that chart's table (the first chart without one)."""
    dashboard = _dashboard(request, dashboard_id)
    return chart_csv(selectors.dashboard_view(dashboard), request.GET.get("chart"), f"dashboard-{dashboard.kind}")


@operator_view(GET="audit:read")
def dashboard_access_log(request, dashboard_id):
    dashboard = _dashboard(request, dashboard_id)
    page = Paginator(dashboard.accesses.all(), 50).get_page(request.GET.get("page"))
    return render(request, "dashboards/access_log.html", {
        "dashboard": dashboard, "page": page, "tab": "dashboards",
        "window": {"address_tries": sharing.ADDRESS_TRIES, "link_tries": sharing.LINK_TRIES}})
