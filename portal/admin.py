"""Django admin is for platform staff. Shared base classes keep it from bypassing the rules the
portal enforces: `ReadOnlyAdmin` for data only the portal may change, `AuditedAdmin` for the
few things staff edit (onboarding operators, their first Admin, fees), which writes the same
audit event as the portal would."""
from django.contrib import admin
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from portal import audit
from portal.models import AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedAdmin(admin.ModelAdmin):
    """Saves by staff write an audit event on the operator concerned (who, before/after, IP).
    Deleting is not offered: the portal's own pages do that, with their guards."""

    audit_fields: tuple = ()

    def audit_operator(self, obj):
        return obj.operator

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Django admin runs this inside the change view's transaction.
        before = audit.snapshot(type(obj).objects.get(pk=obj.pk), self.audit_fields) if change else {}
        super().save_model(request, obj, form, change)
        changes = audit.diff(before, audit.snapshot(obj, self.audit_fields))
        operator = self.audit_operator(obj)
        if operator is not None and (changes or not change):
            verb = f"admin.{obj._meta.model_name}_{'changed' if change else 'created'}"
            audit.record(operator=operator, actor=request.user, action="updated" if change else "created",
                         item=obj, changes=changes, verb=verb)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "operator", "actor_label", "action", "item_type", "item_repr")
    list_filter = ("action", "item_type", "operator")


def ask(model_admin, request, queryset, form, *, title, action, submit, intro):
    """The page an admin action shows to ask for its input (templates/admin/confirm_action.html)."""
    return TemplateResponse(request, "admin/confirm_action.html", {
        **model_admin.admin_site.each_context(request), "title": title, "form": form, "items": queryset,
        "action": action, "submit": submit, "intro": intro, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": model_admin.model._meta,
    })


def _authenticators_read_only():
    """allauth registers its Authenticator model with a plain, editable admin: staff could change
    a TOTP authenticator's type to "webauthn" over its secret, and the page then failed with a
    500 (its str() reads the WebAuthn name; found by the admin fuzz test). Nobody edits an
    authenticator's raw data: staff may view one and delete it (a member who lost the phone sets
    up a new one), nothing else."""
    from allauth.mfa.models import Authenticator

    if admin.site.is_registered(Authenticator):
        admin.site.unregister(Authenticator)

    class AuthenticatorAdmin(ReadOnlyAdmin):
        raw_id_fields = ("user",)
        list_display = ("user", "type", "created_at", "last_used_at")
        list_filter = ("type", "created_at", "last_used_at")
        exclude = ("data",)  # the secret is never shown

        def has_delete_permission(self, request, obj=None):
            return request.user.is_active and request.user.is_superuser

    admin.site.register(Authenticator, AuthenticatorAdmin)


_authenticators_read_only()
