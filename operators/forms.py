from django import forms
from django.core.exceptions import ValidationError

from operators.models import Operator
from operators.validators import COUNTRY_CHOICES, bic_for_iban, normalize_ean, normalize_vat, parse_iban
from portal.forms import Form, ModelForm


class CompanyFields:
    """The checks of the company fields that go onto invoices and e-invoices, shared by Settings
    and the staff's admin form: the VAT number for its country, the EAN's check digit."""

    def clean(self):
        cleaned = super().clean()
        vat = cleaned.get("vat_number")
        if vat and cleaned.get("country"):
            try:
                cleaned["vat_number"] = normalize_vat(cleaned["country"], vat)
            except ValidationError as exc:
                self.add_error("vat_number", exc)
        return cleaned

    def clean_ean(self):
        return normalize_ean(self.cleaned_data.get("ean", ""))

    def clean_po_number(self):
        return self.cleaned_data.get("po_number", "").strip()


class OperatorAdminForm(CompanyFields, ModelForm):
    """Django admin's operator form: the text rules of every portal form and the company checks."""

    class Meta:
        model = Operator
        fields = "__all__"


class SettingsForm(CompanyFields, ModelForm):
    """Company information used on the operator's invoices."""

    country = forms.ChoiceField(choices=COUNTRY_CHOICES)

    class Meta:
        model = Operator
        fields = list(Operator.SETTINGS_FIELDS)
        labels = {"name": "Company name"}
        help_texts = {
            "vat_number": "Checked for the company's country, e.g. DK13585628.",
            "ean": "Optional. The 13-digit GLN used for e-invoicing.",
            "po_number": "Optional. Printed on your invoices.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("name", "vat_number", "contact_email", "finance_email", "street", "postcode", "city"):
            self.fields[name].required = True
        self.order_fields(["name", "vat_number", "contact_email", "finance_email",
                           "street", "postcode", "city", "country", "ean", "po_number"])


class BankAccountForm(Form):
    name_fields = ("holder_name",)

    holder_name = forms.CharField(label="Account holder", max_length=140)
    iban = forms.CharField(
        label="IBAN", max_length=50,
        help_text="Only IBAN is accepted. Spaces and lower case are fine.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    bic = forms.CharField(
        label="BIC (SWIFT)", max_length=20, required=False,
        help_text="Filled in from the IBAN when we know the bank; otherwise enter it.",
    )

    def clean(self):
        cleaned = super().clean()
        raw = cleaned.get("iban")
        if not raw:
            return cleaned
        try:
            iban = parse_iban(raw)
        except ValidationError as exc:
            self.add_error("iban", exc)
            return cleaned
        cleaned["iban"] = iban.compact
        try:  # the registry's BIC when none is typed; a typed one must fit the IBAN's bank and country
            cleaned["bic"] = bic_for_iban(iban, cleaned.get("bic", ""))
        except ValidationError as exc:
            self.add_error("bic", exc)
        return cleaned
