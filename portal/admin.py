from django.contrib import admin

from operators.admin import ReadOnlyAdmin
from portal.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "operator", "actor_label", "action", "item_type", "item_repr")
    list_filter = ("action", "item_type", "operator")
