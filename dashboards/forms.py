from datetime import timedelta

from django import forms
from django.contrib.auth import password_validation
from django.utils import timezone

from charging.models import Site
from charging.sitepicker import SiteField
from dashboards.models import Dashboard
from dashboards.selectors import MAX_RANGE_DAYS
from portal.forms import BoundedDateField, Form

MAX_EXPIRY = timedelta(days=5 * 366)


class DashboardForm(Form):
    """What a dashboard shows: kind, filters, time range (New, and the top of Edit)."""

    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=Dashboard.Kind.choices, label="Dashboard")
    site = SiteField(queryset=Site.objects.none(), empty_label="All sites")
    current_type = forms.ChoiceField(choices=Dashboard._meta.get_field("current_type").choices, required=False,
                                     label="AC/DC")
    charge_point_visibility = forms.ChoiceField(choices=Dashboard._meta.get_field("charge_point_visibility").choices,
                                                required=False, label="Public/private charge points")
    range_kind = forms.ChoiceField(choices=Dashboard.Range.choices, label="Time range",
                                   widget=forms.RadioSelect, initial=Dashboard.Range.LAST_DAYS)
    last_days = forms.IntegerField(min_value=1, max_value=MAX_RANGE_DAYS, required=False, label="Last N days",
                                   initial=365, help_text="Up to today, whenever the dashboard is opened.")
    date_from = BoundedDateField(required=False, label="From")
    date_to = BoundedDateField(required=False, label="To")

    def __init__(self, *args, operator, **kwargs):
        super().__init__(*args, **kwargs)
        SiteField.bind(self, "site", operator, Site.objects.filter(operator=operator).order_by("name"))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("range_kind") == Dashboard.Range.BETWEEN:
            start, end = cleaned.get("date_from"), cleaned.get("date_to")
            if not start and "date_from" not in self.errors:
                self.add_error("date_from", "Enter the first day of the range.")
            if not end and "date_to" not in self.errors:
                self.add_error("date_to", "Enter the last day of the range.")
            if start and end and start > end:
                self.add_error("date_to", "The last day is before the first day.")
            elif start and end and (end - start).days >= MAX_RANGE_DAYS:
                self.add_error("date_to", f"A range is at most {MAX_RANGE_DAYS} days long.")
            cleaned["last_days"] = None
        elif cleaned.get("range_kind") == Dashboard.Range.LAST_DAYS:
            if cleaned.get("last_days") is None and "last_days" not in self.errors:
                self.add_error("last_days", "Enter how many days up to today the dashboard shows.")
            cleaned["date_from"] = cleaned["date_to"] = None
        return cleaned


class ShareForm(Form):
    """Edit › Visibility › Expire at (and the username and password of a protected link)."""

    visibility = forms.ChoiceField(choices=Dashboard.Visibility.choices, widget=forms.RadioSelect)
    expire_at = forms.DateTimeField(required=False, label="Expire at",
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                               format="%Y-%m-%dT%H:%M"),
                                    help_text="Optional. After this moment the link answers “not available”.")
    share_username = forms.CharField(max_length=150, required=False, label="Username")
    share_password = forms.CharField(required=False, label="Password", strip=False, max_length=128,
                                     widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                                     help_text="At least 10 characters. Leave empty to keep the current password.")

    def __init__(self, *args, dashboard=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.dashboard = dashboard

    def clean_expire_at(self):
        value = self.cleaned_data.get("expire_at")
        if value and value > timezone.now() + MAX_EXPIRY:
            raise forms.ValidationError("Choose a moment within the next five years.")
        if value and value.year < 2000:
            raise forms.ValidationError("Enter a moment after the year 2000.")
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("visibility") != Dashboard.Visibility.PASSWORD:
            cleaned["share_username"], cleaned["share_password"] = "", ""
            return cleaned
        if not cleaned.get("share_username") and "share_username" not in self.errors:
            self.add_error("share_username", "Enter the username people will sign in with.")
        password = cleaned.get("share_password")
        has_one = self.dashboard is not None and bool(self.dashboard.share_password)
        if not password and not has_one and "share_password" not in self.errors:
            self.add_error("share_password", "Set a password for this link.")
        elif password:
            if len(password) < 10:
                self.add_error("share_password", "Use at least 10 characters.")
            else:
                try:
                    password_validation.validate_password(password)
                except forms.ValidationError as exc:
                    self.add_error("share_password", exc)
        return cleaned
