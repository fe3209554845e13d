from django.contrib import admin

from operators.models import BankAccount, Fee, Operator, WalletTransaction


@admin.register(Operator)
class OperatorAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "country", "currency", "vat_number")
    search_fields = ("name", "slug", "vat_number")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Fee)
class FeeAdmin(admin.ModelAdmin):
    """Platform staff edit fees here; operators see them read-only on their Overview."""

    list_display = ("kind", "operator", "display_value", "valid_from", "note")
    list_filter = ("kind", "operator")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WalletTransaction)
class WalletTransactionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "operator", "kind", "amount", "currency", "state", "reference")
    list_filter = ("kind", "state", "operator")


@admin.register(BankAccount)
class BankAccountAdmin(ReadOnlyAdmin):
    list_display = ("operator", "holder_name", "masked_iban", "bic", "is_default")
