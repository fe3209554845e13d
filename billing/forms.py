import phonenumbers
from django import forms
from django.conf import settings
from phonenumber_field.formfields import PhoneNumberField

from billing.models import InstallerSettings, Invoice
from billing.pricing import parse_month
from operators.validators import COUNTRIES, COUNTRY_CHOICES
from portal.forms import Form, ModelForm


def _phone_field(region: str) -> PhoneNumberField:
    """A phone field that reads numbers without a country code as numbers of `region` (the
    operator's country) and stores E.164."""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        region = settings.PHONENUMBER_DEFAULT_REGION
    example = phonenumbers.format_number(phonenumbers.example_number(region),
                                         phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return PhoneNumberField(
        required=False, label="Phone", region=region,
        help_text=f"International format, e.g. {example}. Numbers without a country code are read as "
                  f"{COUNTRIES.get(region, region)} numbers.",
        error_messages={"invalid": f"Enter a valid phone number, e.g. {example}."},
    )


class InstallerSettingsForm(ModelForm):
    """Installer settings: who installed and services the operator's charge points. The portal's
    text rules apply (portal.forms): one-line fields refuse CR/LF, control, bidi and invisible
    characters; the company and contact name need a visible character; the notes may span lines."""

    name_fields = ("company", "contact_name")

    country = forms.ChoiceField(required=False, choices=[("", "—"), *COUNTRY_CHOICES])

    class Meta:
        model = InstallerSettings
        fields = list(InstallerSettings.FIELDS)
        labels = {"company": "Installer company", "contact_name": "Contact name", "email": "Email"}
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, region="DK", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"] = _phone_field(region)
        self.order_fields(list(InstallerSettings.FIELDS))
        self.fields["company"].required = True
        for name in ("company", "contact_name", "street", "postcode", "city"):
            self.fields[name].strip = True

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("email") and not cleaned.get("phone"):
            self.add_error("email", "Enter an email address or a phone number, so the installer can be reached.")
        return cleaned

    def clean_phone(self):
        return self.cleaned_data.get("phone") or ""


class InvoiceFilterForm(Form):
    period = forms.CharField(required=False, label="Period", help_text="Month, e.g. 2026-11.",
                             widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}))
    status = forms.ChoiceField(required=False, choices=[("", "All statuses"),
                                                         *[c for c in Invoice.Status.choices if c[0] != "draft"]])

    def __init__(self, *args, operator=None, **kwargs):
        super().__init__(*args, **kwargs)

    def clean_period(self):
        value = self.cleaned_data.get("period", "").strip()
        if not value:
            return None
        try:
            period = parse_month(value)
        except ValueError:
            raise forms.ValidationError("Enter a month as YYYY-MM, e.g. 2026-11.") from None
        if not 2000 <= period.year <= 2999:
            raise forms.ValidationError("Enter a month between 2000 and 2999.")
        return period


class EInvoicingForm(Form):
    einvoice_by_email = forms.BooleanField(
        required=False, label="Attach the e-invoice to invoice emails",
        help_text="Each invoice and credit note email then carries the e-invoice (XML) beside the PDF, for "
                  "bookkeeping systems that read it.")
