"""API keys (client credentials of a partner's program) and the tokens issued for them.

Secrets and tokens are random (256 bits) and stored only as SHA-256 hashes: a database dump
gives no usable credential, and a hash of that much randomness needs no salt or slow KDF."""
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


class ApiKey(models.Model):
    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    client_id = models.CharField(max_length=40, unique=True)
    secret_hash = models.CharField(max_length=64)
    secret_hint = models.CharField(max_length=8, help_text="The secret's last characters, to tell keys apart.")
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    rate_limit = models.PositiveIntegerField(default=1000, help_text="Requests per interval.",
                                             validators=[MinValueValidator(1), MaxValueValidator(1_000_000)])
    rate_limit_interval = models.PositiveIntegerField(default=600, help_text="Seconds.",
                                                      validators=[MinValueValidator(1), MaxValueValidator(86_400)])
    # the member who made it (the key is the operator's: it keeps working when they leave)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    AUDIT_FIELDS = ("name", "client_id", "scopes", "expires_at", "rate_limit", "rate_limit_interval", "revoked_at")
    AUDIT_SECRET_FIELDS = ("secret_hash",)
    is_api_key = True  # an audit actor that is not a user (portal.audit.record)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.client_id})"

    @property
    def audit_label(self) -> str:
        return f"API key {self.name} ({self.client_id})"

    def usable(self, at=None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at)

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "Revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "Expired"
        return "Active"


class ApiToken(models.Model):
    class Kind(models.TextChoices):
        ACCESS = "access", "Access token"
        REFRESH = "refresh", "Refresh token"

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    # every token of one sign-in and its refreshes: a reused refresh token revokes the family
    family = models.UUIDField(default=uuid.uuid4, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True, help_text="Refresh tokens: when exchanged (single use).")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["key", "expires_at"], name="api_token_key_expiry")]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.key_id} until {self.expires_at:%Y-%m-%d %H:%M}"
