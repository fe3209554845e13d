from django.contrib import admin

from members.models import Membership


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "operator", "role", "expires_at")
    list_filter = ("role", "operator")
