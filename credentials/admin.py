from django.contrib import admin

from credentials.models import Credential


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Read-only for platform staff: secrets are never shown, only their masked hints."""

    list_display = ("operator", "name", "platform", "created_at", "updated_at")
    list_filter = ("platform", "operator")
    fields = ("operator", "platform", "name", "values", "secret_hints", "created_at", "created_by",
              "updated_at", "updated_by")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # deletions go through the operator's page, which writes the audit event
