from django.conf import settings
from django.db import models

from credentials import catalogue, crypto


class Credential(models.Model):
    """An operator's credentials for one third-party platform (see `credentials.catalogue`).

    `values` holds the platform's non-secret fields (ids, URLs, certificates). `secrets` holds the
    secret fields, each as its own Fernet token made with the newest key in
    CREDENTIALS_ENCRYPTION_KEYS (so one secret can be replaced without decrypting the others, and
    the pages never need to decrypt at all). `secret_hints` is what the pages may show of each
    secret: at most its last four characters, or a private key's type.
    """

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="credentials")
    platform = models.CharField(max_length=40, help_text="Slug of a platform in credentials.catalogue.")
    name = models.CharField(max_length=100)
    values = models.JSONField(default=dict, blank=True)
    secrets = models.JSONField(default=dict, blank=True)
    secret_hints = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    AUDIT_SECRET_FIELDS = ("secrets",)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "name"], name="credential_unique_name"),
        ]

    def __str__(self):
        return f"{self.name} ({self.platform_name})"

    @property
    def platform_entry(self) -> catalogue.Platform | None:
        return catalogue.get(self.platform)

    @property
    def platform_name(self) -> str:
        entry = self.platform_entry
        return entry.name if entry else self.platform

    @property
    def last_changed(self):
        return self.updated_at or self.created_at

    def masked_secrets(self) -> list[tuple[str, str]]:
        """[(label, masked value)] for the platform's secret fields that are set."""
        entry = self.platform_entry
        fields = entry.secret_fields if entry else ()
        labels = {f.name: f.label for f in fields}
        order = [f.name for f in fields] + [n for n in self.secrets if n not in labels]
        return [(labels.get(n, n), self.secret_hints.get(n, catalogue.MASK)) for n in order if n in self.secrets]

    def plain_values(self) -> list[tuple[str, str]]:
        """[(label, shown value)] for the non-secret fields (certificates summarised)."""
        entry = self.platform_entry
        shown = []
        for f in entry.plain_fields if entry else ():
            value = self.values.get(f.name, "")
            if not value:
                continue
            if f.kind == "pem_certificate":
                try:
                    value = catalogue.describe_certificate(value)
                except Exception:  # noqa: BLE001 - a stored value the catalogue no longer reads
                    value = "certificate (unreadable)"
            elif f.kind == "choice":
                value = dict(f.choices).get(value, value)
            shown.append((f.label, value))
        return shown

    def unreadable_secrets(self) -> list[str]:
        """Names of secrets the configured keys cannot decrypt (raises KeyUnavailable when no key)."""
        return [name for name, token in self.secrets.items() if not crypto.can_decrypt(token)]
