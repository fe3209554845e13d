"""The credential form, built from the platform's declaration in `credentials.catalogue`.

Secret inputs never render a value, not even the one just posted when the form is re-shown with
errors: a secret travels from the browser to the server, never back.
"""
from django import forms
from django.core.exceptions import ValidationError

from credentials import catalogue, crypto
from portal.errors import DomainError
from portal.forms import Form

MAX_INPUT = 20_000  # characters; a certificate chain fits, a pasted file of garbage does not


class SecretInput(forms.PasswordInput):
    def __init__(self, attrs=None):
        super().__init__(attrs={"autocomplete": "new-password", "spellcheck": "false", **(attrs or {})},
                         render_value=False)


class SecretTextarea(forms.Textarea):
    """A textarea for a private key that, like PasswordInput, never renders its value."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"rows": 6, "autocomplete": "off", "spellcheck": "false", "class": "mono",
                                **(attrs or {})})

    def format_value(self, value):
        return None


class CatalogueField(forms.Field):
    """A form field whose cleaning is the catalogue field's own."""

    def __init__(self, spec: catalogue.Field, **kwargs):
        self.spec = spec
        super().__init__(**kwargs)

    def to_python(self, value):
        value = "" if value in self.empty_values else str(value)
        if len(value) > MAX_INPUT:
            raise ValidationError(f"This is too long (more than {MAX_INPUT} characters).")
        return value

    def validate(self, value):
        pass  # required-ness is checked in clean(), after the catalogue's own cleaning

    def clean(self, value):
        value = self.spec.clean(self.to_python(value))
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        return value


def _widget(spec: catalogue.Field):
    if spec.kind == "pem_private_key":
        return SecretTextarea(attrs={"placeholder": "-----BEGIN PRIVATE KEY-----"})
    if spec.secret:
        return SecretInput()
    if spec.kind == "pem_certificate":
        return forms.Textarea(attrs={"rows": 6, "class": "mono", "spellcheck": "false",
                                     "placeholder": "-----BEGIN CERTIFICATE-----"})
    if spec.kind == "choice":
        return forms.Select(choices=spec.choices)
    if spec.kind == "url":
        return forms.URLInput(attrs={"placeholder": spec.placeholder or "https://", "spellcheck": "false"})
    return forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off",
                                  **({"placeholder": spec.placeholder} if spec.placeholder else {})})


class CredentialForm(Form):
    name = forms.CharField(
        label="Name", max_length=100,
        help_text="So you can tell several credentials apart, e.g. “Payter – Vesterbro site”.",
    )

    def __init__(self, *args, platform: catalogue.Platform, credential=None, **kwargs):
        self.platform = platform
        self.credential = credential
        initial = kwargs.pop("initial", None) or {}
        if credential is not None:
            initial = {"name": credential.name, **credential.values, **initial}
        super().__init__(*args, initial=initial, **kwargs)
        for spec in platform.fields:
            if spec.secret and credential is not None:
                stored = spec.name in credential.secrets
                hint = credential.secret_hints.get(spec.name, catalogue.MASK)
                self.fields[spec.name] = CatalogueField(
                    spec, label=f"Replace {spec.label}" if stored else spec.label,
                    required=spec.required and not stored, widget=_widget(spec),
                    help_text=(f"Current: {hint}. Leave empty to keep it." if stored else spec.help_text),
                )
            else:
                self.fields[spec.name] = CatalogueField(
                    spec, label=spec.label, required=spec.required, widget=_widget(spec),
                    help_text=spec.help_text,
                )
            if spec.kind == "choice" and credential is None and spec.name not in self.initial:
                self.initial[spec.name] = spec.choices[0][0]

    @property
    def replacements(self) -> dict[str, str]:
        return {f.name: self.cleaned_data.get(f.name, "") for f in self.platform.secret_fields
                if self.cleaned_data.get(f.name)}

    @property
    def values(self) -> dict[str, str]:
        return {f.name: self.cleaned_data.get(f.name, "") for f in self.platform.fields}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        values = {f.name: cleaned.get(f.name, "") for f in self.platform.fields}
        if self.credential is not None:
            # A changed certificate must still fit the stored private key when that is kept.
            cert_changed = any(values[f.name] != self.credential.values.get(f.name, "")
                               for f in self.platform.fields if f.kind == "pem_certificate")
            for f in self.platform.fields:
                if f.kind != "pem_private_key" or values[f.name] or f.name not in self.credential.secrets:
                    continue
                if not cert_changed:
                    continue
                try:
                    values[f.name] = crypto.decrypt(self.credential.secrets[f.name])
                except DomainError:
                    self.add_error(f.name, "The stored private key cannot be read to check it against the new "
                                           "certificate: replace it too.")
                    return cleaned
        for name, message in self.platform.cross_check(values).items():
            self.add_error(name, message)
        return cleaned
