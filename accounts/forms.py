from django import forms
from phonenumber_field.formfields import PhoneNumberField

from accounts.models import User
from portal.forms import ModelForm


class ProfileForm(ModelForm):
    phone = PhoneNumberField(
        label="Phone number", required=False,
        help_text="International format, e.g. +45 32 12 34 56. Operators can invite you by this number.",
    )

    class Meta:
        model = User
        fields = ["name", "phone"]
        labels = {"name": "Full name"}

    def clean_phone(self):
        phone = self.cleaned_data.get("phone")
        if phone and User.objects.filter(phone=phone).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("This phone number belongs to another account.")
        return phone or None
