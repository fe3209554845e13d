from decimal import Decimal

from django import forms
from django.contrib import admin, messages

from billing import services, vat
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
from portal.admin import AuditedAdmin, ReadOnlyAdmin, ask
from portal.errors import DomainError
from portal.forms import Form as PortalForm


class PlanTierFormSet(forms.BaseInlineFormSet):
    """A plan needs tiers, and exactly one open-ended last tier (empty "up to"): otherwise the
    charge points beyond the highest "up to" would have no price."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [f.cleaned_data for f in self.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE", False)]
        if not kept:
            raise forms.ValidationError("Add at least one tier: the last one with an empty “up to”.")
        open_ended = [c for c in kept if c.get("up_to") is None]
        if len(open_ended) != 1:
            raise forms.ValidationError("Exactly one tier, the last tier, has an empty “up to” "
                                        "(it prices every charge point above the others).")
        if any(c.get("up_to") == 0 for c in kept):
            raise forms.ValidationError("“Up to” counts charge points: at least 1.")
        if any(c.get("unit_price") is not None and c["unit_price"] < 0 for c in kept):
            raise forms.ValidationError("A price per charge point is never negative.")


class PlanForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = ("operator", "name", "currency", "valid_from", "note")

    def clean_currency(self):
        """Upper case, and one the close can convert to the operators' currencies: otherwise every
        operator on the plan failed its close and its Billing page answered 500."""
        from django.conf import settings

        from charging.ledger import DEFAULT_FX_RATES

        code = (self.cleaned_data.get("currency") or "").strip().upper()
        known = {**DEFAULT_FX_RATES, **getattr(settings, "CHARGING_FX_RATES", {})}
        if code not in known:
            raise forms.ValidationError(f"Use a currency with an exchange rate: {', '.join(sorted(known))} "
                                        "(CHARGING_FX_RATES adds others).")
        return code


class PlanTierInline(admin.TabularInline):
    model = PlanTier
    formset = PlanTierFormSet
    extra = 1


@admin.register(Plan)
class PlanAdmin(AuditedAdmin):
    """Platform staff set the price per charge point per month here; an operator's own plan is
    audited on that operator's log. A plan's tiers apply from `valid_from`: add a new plan rather
    than changing one that past invoices used (invoices keep their own copy anyway)."""

    audit_fields = ("name", "currency", "valid_from", "note")
    form = PlanForm
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


class PlatformSellerForm(forms.ModelForm):
    """The seller printed on every new invoice: a country whose VAT rules billing/vat.py knows
    (else every close failed and every Billing page answered 500), its valid VAT number, a valid
    IBAN and the bank's BIC, one-line text (portal/validators.py)."""

    class Meta:
        model = PlatformSeller
        fields = ("name", "vat_number", "street", "postcode", "city", "country", "email", "bank_name", "iban", "bic",
                  "payment_terms_days", "invoice_footer")

    def clean(self):
        from operators.validators import bic_for_iban, normalize_vat, parse_iban
        from portal.validators import single_line_text, visible_name

        cleaned = super().clean()
        for name in ("name", "vat_number", "street", "postcode", "city", "bank_name", "iban", "bic"):
            value = cleaned.get(name)
            try:
                (visible_name if name == "name" else single_line_text)(value or "")
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        country = (cleaned.get("country") or "").strip().upper()
        if country not in vat.STANDARD_RATES:
            self.add_error("country", f"Invoices can be issued from {', '.join(sorted(vat.STANDARD_RATES))} "
                                      "only (the VAT rules of billing/vat.py).")
        else:
            cleaned["country"] = country
            if cleaned.get("vat_number") and "vat_number" not in self.errors:
                try:
                    cleaned["vat_number"] = normalize_vat(country, cleaned["vat_number"])
                except forms.ValidationError as exc:
                    self.add_error("vat_number", exc)
        if cleaned.get("iban") and "iban" not in self.errors:
            try:
                iban = parse_iban(cleaned["iban"])
            except forms.ValidationError as exc:
                self.add_error("iban", exc)
            else:
                cleaned["iban"] = str(iban.compact)
                if "bic" not in self.errors:
                    try:
                        cleaned["bic"] = bic_for_iban(iban, cleaned.get("bic") or "")
                    except forms.ValidationError as exc:
                        self.add_error("bic", exc)
        return cleaned


@admin.register(PlatformSeller)
class PlatformSellerAdmin(admin.ModelAdmin):
    """The newest row is the seller on new invoices; issued invoices keep their own copy."""

    form = PlatformSellerForm
    list_display = ("name", "vat_number", "country", "iban", "created_at")

    def has_delete_permission(self, request, obj=None):
        return False


class CreditForm(PortalForm):
    reason = forms.CharField(max_length=255, label="Reason (printed on the credit note)")


class PartialCreditForm(CreditForm):
    net = forms.CharField(max_length=40, label="Net amount to credit (before VAT)",
                          help_text="In the invoice's currency, e.g. 100.00; the VAT follows at the invoice's rate.")

    def clean_net(self):
        from django.core.exceptions import ValidationError

        from portal.validators import bounded_decimal

        try:
            net = bounded_decimal(self.cleaned_data["net"].strip(), limit_digits=12)
        except ValidationError:
            raise forms.ValidationError("Enter an amount, e.g. 100.00.") from None
        if net <= 0:
            raise forms.ValidationError("Enter an amount above zero.")
        if net != net.quantize(Decimal("0.01")):
            raise forms.ValidationError("Enter at most two decimals.")
        return net


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
    """Invoices are issued by the monthly close and never changed; the actions cancel one with a
    credit note, in full or for a net amount (also `manage.py credit_note --net`)."""

    list_display = ("__str__", "operator", "period", "status", "issue_date", "total", "currency")
    list_filter = ("status", "series", "operator")
    search_fields = ("number",)
    exclude = ("pdf", "einvoice")
    inlines = [InvoiceLineInline]
    actions = ["credit_in_full", "credit_in_part"]

    def has_change_permission(self, request, obj=None):  # view only; actions need this for the list
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_staff:
            return {}
        return actions

    def has_credit_permission(self, request):
        return request.user.has_perm("billing.credit_invoice")

    @admin.action(description="Credit in full (issue a credit note)", permissions=["credit"])
    def credit_in_full(self, request, queryset):
        form = CreditForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            return ask(self, request, queryset, form, title="Issue credit notes", action="credit_in_full",
                       submit="Issue credit notes", intro="Each selected invoice is cancelled in full by a credit "
                       "note of series CN that references it; its total is refunded to the operator's balance.")
        for invoice in queryset:
            try:
                cn = services.credit_note_issue(invoice=invoice, actor=request.user, reason=form.cleaned_data["reason"])
            except DomainError as exc:
                self.message_user(request, f"{invoice}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{cn.number} credits {invoice.number}.", messages.SUCCESS)
        return None

    @admin.action(description="Credit in part (issue a credit note for an amount)", permissions=["credit"])
    def credit_in_part(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select one invoice to credit in part.", messages.ERROR)
            return None
        invoice = queryset.get()
        form = PartialCreditForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            return ask(self, request, queryset, form, title=f"Credit {invoice} in part", action="credit_in_part",
                       submit="Issue the credit note", intro="A credit note of series CN for the net amount below, "
                       "at the invoice's VAT rate, referencing the invoice; its total is refunded to the operator's "
                       "balance. Only a paid invoice is credited in part.")
        try:
            cn = services.credit_note_issue(invoice=invoice, actor=request.user, reason=form.cleaned_data["reason"],
                                            net=form.cleaned_data["net"])
        except DomainError as exc:
            self.message_user(request, f"{invoice}: {exc.message}", messages.ERROR)
        else:
            self.message_user(request, f"{cn.number} credits {-cn.net} {cn.currency} net of {invoice.number}.",
                              messages.SUCCESS)
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
