from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from members.models import Membership
from portal.forms import AuditFilterForm
from portal.models import AuditEvent
from portal.pagination import query_without_cursor, seek_page
from portal.tenancy import operator_view


@login_required
def home(request):
    """After sign-in: the operator's Overview, or a choice when the user has several."""
    memberships = list(
        Membership.objects.active().filter(user=request.user).select_related("operator")
        .order_by("operator__name")
    )
    if len(memberships) == 1:
        return redirect("operators:overview", memberships[0].operator.slug)
    return render(request, "portal/choose_operator.html", {"memberships": memberships})


@operator_view(GET="audit:read")
def audit_log(request):
    operator = request.operator
    form = AuditFilterForm(request.GET or None, operator=operator)
    events = AuditEvent.objects.filter(operator=operator)
    if form.is_valid():
        data = form.cleaned_data
        if data.get("user"):
            events = events.filter(actor_label__icontains=data["user"])
        if data.get("item_type"):
            events = events.filter(item_type__iexact=data["item_type"])
        tz = timezone.get_current_timezone()
        if data.get("date_from"):
            events = events.filter(created_at__gte=datetime.combine(data["date_from"], time.min, tz))
        if data.get("date_to"):
            events = events.filter(created_at__lte=datetime.combine(data["date_to"], time.max, tz))
    page = seek_page(request, events, ["-created_at", "-id"])  # (no count: that would read the whole log)
    return render(request, "portal/audit_log.html", {
        "form": form, "page": page, "query": query_without_cursor(request),
    }, status=400 if form.errors or page.error else 200)
