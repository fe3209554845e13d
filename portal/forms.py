from django import forms

from portal.models import AuditEvent


class AuditFilterForm(forms.Form):
    user = forms.ChoiceField(required=False, label="User")
    item_type = forms.ChoiceField(required=False, label="Item type")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, operator, **kwargs):
        super().__init__(*args, **kwargs)
        events = AuditEvent.objects.filter(operator=operator)
        users = events.order_by("actor_label").values_list("actor_label", flat=True).distinct()
        types = events.order_by("item_type").values_list("item_type", flat=True).distinct()
        self.fields["user"].choices = [("", "All users"), *[(u, u) for u in users]]
        self.fields["item_type"].choices = [("", "All items"), *[(t, t.capitalize()) for t in types]]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned
