from django.contrib import admin
from django.db import transaction

from api.models import ApiKey
from portal import audit


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Platform staff see the operators' keys and set a key's rate limit; the secret is never
    stored, so never shown (only its last characters). Creating and revoking are the operator's
    (the API keys page), which writes the audit events."""

    list_display = ("operator", "name", "client_id", "rate_limit", "rate_limit_interval", "status", "last_used_at")
    list_filter = ("operator",)
    search_fields = ("name", "client_id", "operator__name")
    fields = ("operator", "name", "client_id", "secret_hint", "scopes", "expires_at", "rate_limit",
              "rate_limit_interval", "created_by", "created_at", "last_used_at", "last_used_ip", "revoked_at",
              "revoked_by")
    readonly_fields = tuple(f for f in fields if f not in ("rate_limit", "rate_limit_interval"))

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        fields = ("rate_limit", "rate_limit_interval")
        with transaction.atomic():
            before = ApiKey.objects.select_for_update().get(pk=obj.pk)
            changes = audit.diff(audit.snapshot(before, fields), audit.snapshot(obj, fields))
            obj.save(update_fields=[*fields])
            if changes:
                audit.record(operator=obj.operator, actor=request.user, action="updated", item=obj,
                             verb="api_key.rate_limit_changed", changes=changes)
