from django.contrib import admin

from members.models import Invitation, Membership, MembershipNotice


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "operator", "role", "expires_at")
    list_filter = ("role", "operator")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: invitations are managed by the operator's Admins (their actions are audited)."""

    list_display = ("contact", "operator", "role", "status", "valid_until", "invited_by")
    list_filter = ("status", "role", "operator")
    search_fields = ("email", "phone")
    exclude = ("token_hash",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MembershipNotice)
class MembershipNoticeAdmin(admin.ModelAdmin):
    list_display = ("membership", "kind", "expires_at", "created_at")
    list_filter = ("kind",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
