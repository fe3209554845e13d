from django.contrib import admin

from charging.models import CdrImport, Charge, ChargePoint, Site
from portal.admin import ReadOnlyAdmin


# Operators manage their network in the portal (audited, scoped to the operator); staff only look.
@admin.register(Site)
class SiteAdmin(ReadOnlyAdmin):
    list_display = ("name", "operator", "city", "visibility")
    list_filter = ("operator",)
    search_fields = ("name",)


@admin.register(ChargePoint)
class ChargePointAdmin(ReadOnlyAdmin):
    list_display = ("name", "operator", "evse_id", "type", "state")
    list_filter = ("operator", "state", "type")
    search_fields = ("name", "evse_id", "serial_number")


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    list_display = ("external_id", "operator", "charge_point", "stopped_at", "price", "currency", "state")
    list_filter = ("operator", "state", "type")
    list_select_related = ("operator", "charge_point")
    show_full_result_count = False


@admin.register(CdrImport)
class CdrImportAdmin(ReadOnlyAdmin):
    list_display = ("filename", "operator", "state", "total", "imported", "error_count")
    list_filter = ("operator", "state")
