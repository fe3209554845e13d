from django.contrib import admin

from members.models import Invitation, Membership, MembershipNotice
from portal.admin import AuditedAdmin, ReadOnlyAdmin


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    """Staff may add a membership (e.g. a new operator's first Admin), audited. Changing or
    removing one happens in Members & Access, where the last-Admin guard lives."""

    audit_fields = Membership.AUDIT_FIELDS
    list_display = ("user", "operator", "role", "expires_at")
    list_filter = ("role", "operator")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Read-only: invitations are managed by the operator's Admins (their actions are audited)."""

    list_display = ("contact", "operator", "role", "status", "valid_until", "invited_by")
    list_filter = ("status", "role", "operator")
    search_fields = ("email", "phone")
    exclude = ("token_hash",)


@admin.register(MembershipNotice)
class MembershipNoticeAdmin(ReadOnlyAdmin):
    """Read-only: deleting a notice would make the expiry job send that reminder again."""

    list_display = ("membership", "kind", "expires_at", "created_at")
    list_filter = ("kind",)
