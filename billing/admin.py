from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from billing import services
from billing.models import (
    ChargePointRemoval,
    CloseRun,
    InstallerSettings,
    Invoice,
    InvoiceLine,
    InvoiceSeries,
    OperatorSupport,
    Plan,
    PlanTier,
    PlatformSeller,
    SupportLevel,
)
from portal.admin import AuditedAdmin, ReadOnlyAdmin
from portal.errors import DomainError
from portal.forms import Form


class PlanTierInline(admin.TabularInline):
    model = PlanTier
    extra = 1


@admin.register(Plan)
class PlanAdmin(AuditedAdmin):
    """Platform staff set the price per charge point per month here; an operator's own plan is
    audited on that operator's log. A plan's tiers apply from `valid_from`: add a new plan rather
    than changing one that past invoices used (invoices keep their own copy anyway)."""

    audit_fields = ("name", "currency", "valid_from", "note")
    inlines = [PlanTierInline]
    list_display = ("name", "operator", "currency", "valid_from")
    list_filter = ("operator",)

    def audit_operator(self, obj):
        return obj.operator


@admin.register(SupportLevel)
class SupportLevelAdmin(admin.ModelAdmin):
    list_display = ("name", "channels", "response_time", "success_manager", "is_default")


@admin.register(OperatorSupport)
class OperatorSupportAdmin(AuditedAdmin):
    audit_fields = OperatorSupport.AUDIT_FIELDS
    list_display = ("operator", "level", "since")


@admin.register(PlatformSeller)
class PlatformSellerAdmin(admin.ModelAdmin):
    """The newest row is the seller on new invoices; issued invoices keep their own copy."""

    list_display = ("name", "vat_number", "country", "iban", "created_at")

    def has_delete_permission(self, request, obj=None):
        return False


class CreditForm(Form):
    reason = forms.CharField(max_length=255, label="Reason (printed on the credit note)")


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = ("position", "kind", "description", "quantity", "unit_price", "net", "vat_category", "vat_rate")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    """Invoices are issued by the monthly close and never changed; the action cancels one with a
    credit note (in part: `manage.py credit_note --net`)."""

    list_display = ("__str__", "operator", "period", "status", "issue_date", "total", "currency")
    list_filter = ("status", "series", "operator")
    search_fields = ("number",)
    exclude = ("pdf",)
    inlines = [InvoiceLineInline]
    actions = ["credit_in_full"]

    def has_change_permission(self, request, obj=None):  # view only; actions need this for the list
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_staff:
            return {}
        return actions

    @admin.action(description="Credit in full (issue a credit note)", permissions=["view"])
    def credit_in_full(self, request, queryset):
        form = CreditForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(request, "admin/billing/credit_note.html", {
                **self.admin_site.each_context(request), "title": "Issue credit notes", "form": form,
                "invoices": queryset, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            })
        for invoice in queryset:
            try:
                cn = services.credit_note_issue(invoice=invoice, actor=request.user, reason=form.cleaned_data["reason"])
            except DomainError as exc:
                self.message_user(request, f"{invoice}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{cn.number} credits {invoice.number}.", messages.SUCCESS)
        return None


@admin.register(InvoiceSeries)
class InvoiceSeriesAdmin(ReadOnlyAdmin):
    list_display = ("code", "last_number")


@admin.register(CloseRun)
class CloseRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "operator", "period", "outcome", "message")
    list_filter = ("outcome", "period")


@admin.register(InstallerSettings)
class InstallerSettingsAdmin(ReadOnlyAdmin):
    list_display = ("operator", "company", "contact_name", "email", "phone")


@admin.register(ChargePointRemoval)
class ChargePointRemovalAdmin(ReadOnlyAdmin):
    list_display = ("operator", "name", "evse_id", "created_at", "removed_at")
