"""The wallet-action forms. Amounts are text fields parsed by `services.parse_amount` (the
currency decides the decimals), so every refusal says what is wrong in the operator's terms."""
import secrets

from django import forms

from payouts import services
from portal.errors import NotAllowed
from portal.forms import Form


def new_token() -> str:
    """The client token a form carries: a double submit of the same form posts once."""
    return secrets.token_hex(16)


class _ActionForm(Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    amount = forms.CharField(max_length=40, error_messages={"required": "Enter an amount."}, widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                                           "autocomplete": "off"}))

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.fields["amount"].label = f"Amount ({currency})"

    def clean_amount(self):
        try:
            return services.parse_amount(self.cleaned_data["amount"], self.currency)
        except NotAllowed as exc:
            raise forms.ValidationError(exc.message) from None

    def clean(self):
        cleaned = super().clean()
        if "token" in self.errors:  # a hidden field: say it where the user sees it
            self.errors.pop("token")
            raise forms.ValidationError("This form has expired: open it again.")
        return cleaned

    def refuse(self, exc: NotAllowed):
        self.add_error(exc.field if exc.field in self.fields and exc.field != "token" else None, exc.message)


class DepositForm(_ActionForm):
    bank_reference = forms.CharField(label="Bank reference", max_length=140,
                                     help_text="The reference on your bank transfer, so it can be traced.")
    note = forms.CharField(max_length=200, required=False)


class WithdrawForm(_ActionForm):
    pass


class RefundForm(_ActionForm):
    reason = forms.CharField(max_length=200, required=False, help_text="Shown in the audit log.")

