from django.contrib import admin

from operators.forms import OperatorAdminForm
from operators.models import BankAccount, Fee, Operator, WalletTransaction
from portal.admin import AuditedAdmin, ReadOnlyAdmin


@admin.register(Operator)
class OperatorAdmin(AuditedAdmin):
    """Staff onboard operators here; changes are audited on the operator's own log."""

    form = OperatorAdminForm

    audit_fields = ("slug", "currency", *Operator.SETTINGS_FIELDS, "payout_hold", "payout_hold_note")
    list_display = ("name", "slug", "country", "currency", "vat_number", "payout_hold")
    search_fields = ("name", "slug", "vat_number")
    prepopulated_fields = {"slug": ("name",)}

    def audit_operator(self, obj):
        return obj


@admin.register(Fee)
class FeeAdmin(AuditedAdmin):
    """Platform staff edit fees here; operators see them read-only on their Overview. A change to
    an operator's own fee is audited on that operator's log."""

    audit_fields = ("kind", "percentage", "amount", "currency", "valid_from", "note")

    list_display = ("kind", "operator", "display_value", "valid_from", "note")
    list_filter = ("kind", "operator")


@admin.register(WalletTransaction)
class WalletTransactionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "operator", "kind", "amount", "currency", "state", "reference")
    list_filter = ("kind", "state", "operator")


@admin.register(BankAccount)
class BankAccountAdmin(ReadOnlyAdmin):
    list_display = ("operator", "holder_name", "masked_iban", "bic", "is_default")
