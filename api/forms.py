from django import forms

from api.scopes import SCOPES
from portal.forms import Form


class ApiKeyForm(Form):
    name = forms.CharField(max_length=100, help_text="What the key is for, e.g. “ERP sync”.")
    scopes = forms.MultipleChoiceField(choices=[(s, f"{s} — {d}") for s, d in SCOPES.items()],
                                       widget=forms.CheckboxSelectMultiple,
                                       help_text="What the key may do. Grant only what the program needs.")
    expires_at = forms.DateTimeField(label="Expire at", required=False, widget=forms.DateTimeInput(
        attrs={"type": "datetime-local"}), help_text="Optional. The key stops working then.")
