import uuid

from django.conf import settings
from django.db import models


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Audit events are append-only.")

    def delete(self):
        raise PermissionError("Audit events are append-only.")


class AuditEvent(models.Model):
    """One change to operator data. Written only by `portal.audit.record`; never edited."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        DELETED = "deleted", "Deleted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(db_index=True)
    operator = models.ForeignKey(
        "operators.Operator", on_delete=models.PROTECT, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Snapshot of who acted, kept when the user is later deleted; "system" for jobs.
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=10, choices=Action.choices)
    # A finer name for what happened, e.g. "bank_account.default_changed", "invitation.resent".
    verb = models.CharField(max_length=64, blank=True)
    item_type = models.CharField(max_length=64, db_index=True)
    item_id = models.CharField(max_length=64)
    item_repr = models.CharField(max_length=255)
    parent_type = models.CharField(max_length=64, blank=True)
    parent_id = models.CharField(max_length=64, blank=True)
    parent_repr = models.CharField(max_length=255, blank=True)
    # {"field": {"before": ..., "after": ...}}; secrets and full IBANs never stored here.
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["operator", "-created_at"])]

    def __str__(self):
        return f"{self.actor_label} {self.action} {self.item_type} {self.item_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")
