from datetime import datetime, time

from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.core import context
from django import forms
from django.utils import timezone

from members.models import Invitation
from members.selectors import STATUS_CHOICES
from portal.forms import Form, TextRules
from portal.permissions import ROLE_DESCRIPTIONS, Role, can_manage_role
from portal.validators import bounded_future_date

EXPIRY_HELP = "Access ends at 00:00 on this date ({tz}). Leave empty for access without an end date."
# Access can be given until at most this many years ahead (a date centuries ahead is a typo).
EXPIRY_MAX_YEARS = 10
SESSION_KEY = "members_invitation"  # {"id": ..., "token_hash": ..., "email": ...} while signing up


def expiry_datetime(day):
    """The expiry instant for a chosen date: the start of that day in the portal's time zone."""
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.min))


def expiry_date(value):
    return timezone.localdate(value) if value else None


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class ExpiryField(forms.DateField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Expire at")
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", EXPIRY_HELP.format(tz=timezone.get_current_timezone_name()))
        super().__init__(widget=DateInput(), **kwargs)

    def validate(self, value):
        super().validate(value)
        if value is not None and value <= timezone.localdate():
            raise forms.ValidationError("Choose a date after today.")
        bounded_future_date(value, today=timezone.localdate(), years=EXPIRY_MAX_YEARS)


class RoleField(forms.ChoiceField):
    """The roles `actor_role` may grant, with an htmx hook that swaps in the chosen role's
    description (the description of the selected role is rendered server-side too)."""

    def __init__(self, *, actor_role, description_url, **kwargs):
        choices = [(r.value, r.label) for r in Role if can_manage_role(actor_role, r)]
        attrs = {"hx-get": description_url, "hx-trigger": "change", "hx-target": "#role-description",
                 "hx-swap": "outerHTML", "aria-describedby": "role-description"}
        super().__init__(choices=choices, widget=forms.Select(attrs=attrs), **kwargs)


class RoleFormMixin:
    def selected_role(self):
        value = self["role"].value()
        return value if value in dict(self.fields["role"].choices) else self.fields["role"].choices[0][0]

    def selected_role_description(self):
        return ROLE_DESCRIPTIONS[Role(self.selected_role())]


class InviteForm(RoleFormMixin, Form):
    contact = forms.CharField(
        label="Insert the phone number or email of the user", max_length=254,
        help_text="Make sure the contact is the one on the user's account: the email they sign in with "
                  "or the phone number under My account.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, actor_role, description_url, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"] = RoleField(label="Select the role of the user", actor_role=actor_role,
                                        description_url=description_url, initial=Role.SUPPORTER)
        self.fields["expires_at"] = ExpiryField()


class MemberSettingsForm(RoleFormMixin, Form):
    def __init__(self, *args, actor_role, description_url, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"] = RoleField(label="Role", actor_role=actor_role, description_url=description_url)
        self.fields["expires_at"] = ExpiryField()


class ExtendForm(Form):
    expires_at = ExpiryField(label="New expiry date", required=True,
                             help_text="Access is re-enabled until 00:00 on this date.")


class MemberFilterForm(Form):
    q = forms.CharField(label="Search", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, email or phone"}))
    role = forms.ChoiceField(label="Role", required=False, choices=[("", "All roles"), *Role.choices])
    status = forms.ChoiceField(label="Status", required=False, choices=STATUS_CHOICES)


class SignupForm(TextRules, AllauthSignupForm):
    """django-allauth's sign-up form; when the visitor came through an invitation link, the email
    is the invited address, shown read-only and enforced on submit."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = context.request
        self.invited_email = None
        pending = request.session.get(SESSION_KEY) if request is not None else None
        if pending and not Invitation.objects.open().filter(pk=pending.get("id"), token_hash=pending.get("token_hash")).exists():
            # Revoked, resent, answered or expired meanwhile: an ordinary sign-up again (allauth
            # would otherwise still give the new account the invited address as verified).
            request.session.pop(SESSION_KEY, None)
            if request.session.get("account_verified_email") == pending.get("email"):
                request.session["account_verified_email"] = None
            pending = None
        if pending and pending.get("email") and "email" in self.fields:
            self.invited_email = pending["email"]
            field = self.fields["email"]
            field.initial = self.invited_email
            field.widget.attrs["readonly"] = True
            field.help_text = "This is the address your invitation was sent to."

    def clean_email(self):
        email = super().clean_email()
        if self.invited_email and email.lower() != self.invited_email.lower():
            raise forms.ValidationError(
                f"Your invitation is for {self.invited_email}: sign up with that address.")
        return email
