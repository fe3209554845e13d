import functools
from datetime import date

from django import forms

from portal.validators import single_line_text, visible_name


def _ascii_input(field, message=None):
    """Wraps a number or id field's parsing: Python's int() and Decimal() read '٢٢' or '２２' as 22,
    so such input is refused before it is parsed (a choice field says its own invalid-choice
    message)."""
    to_python = field.to_python

    def parse(value):
        if isinstance(value, str) and not value.isascii():
            raise forms.ValidationError(message or field.error_messages["invalid_choice"] % {"value": ""},
                                        code="ascii")
        return to_python(value)
    return parse


class TextRules:
    """The portal's text rules on every form (all forms derive from `Form` / `ModelForm` below; a
    test checks it): each one-line text field (a CharField not shown as a textarea or password)
    refuses control, line-break, bidi-override and invisible characters (`single_line_text`), the
    fields named in `name_fields` must also show a visible character (`visible_name`), and number
    and id fields take the ASCII digits 0-9 only."""

    name_fields = ("name",)

    def full_clean(self):
        # Applied when the form is validated, so fields a form adds in its own __init__ count too.
        if not getattr(self, "_text_rules_applied", False):
            self._apply_text_rules()
            self._text_rules_applied = True
        super().full_clean()

    def _apply_text_rules(self):
        for name, field in self.fields.items():
            if isinstance(field, (forms.IntegerField, forms.DecimalField, forms.FloatField)):
                field.to_python = _ascii_input(field, "Enter a number with the digits 0-9.")
            elif isinstance(field, forms.ModelChoiceField) and not getattr(field, "searching", False):
                field.to_python = _ascii_input(field)  # (a site search box takes names: its own rules)
            elif isinstance(field, forms.CharField) and not isinstance(field.widget, (forms.Textarea,
                                                                                       forms.PasswordInput)):
                field.validators.append(visible_name if name in self.name_fields else single_line_text)


class Form(TextRules, forms.Form):
    pass


class ModelForm(TextRules, forms.ModelForm):
    pass


def posted(request):
    """The form data for a view that shows a form on GET and saves it on POST: bound whenever the
    method is POST, even with an empty body (an empty POST is an invalid form, not a blank one)."""
    return request.POST if request.method == "POST" else None


# Filters turn dates into the day's first and last instant in the local time zone; far outside
# these years that overflows, and nothing in the portal is dated there anyway.
EARLIEST_DATE, LATEST_DATE = date(1970, 1, 1), date(2999, 12, 31)


class BoundedDateField(forms.DateField):
    widget = forms.DateInput(attrs={"type": "date"})

    def validate(self, value):
        super().validate(value)
        if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise forms.ValidationError(f"Enter a date between {EARLIEST_DATE.year} and {LATEST_DATE.year}.")


class DateRangeForm(Form):
    """A From/To filter: both optional, bounded, and the end not before the start."""

    date_from = BoundedDateField(required=False, label="From")
    date_to = BoundedDateField(required=False, label="To")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned


class AuditFilterForm(DateRangeForm):
    """Text filters, not <select>s filled by a DISTINCT over every event (two scans of the whole
    log per view): the item types are suggested from the models that exist (a <datalist>)."""

    user = forms.CharField(required=False, max_length=254, label="User",
                           widget=forms.TextInput(attrs={"placeholder": "Email or “system”"}),
                           validators=[single_line_text])
    item_type = forms.CharField(required=False, max_length=100, label="Item type",
                                widget=forms.TextInput(attrs={"list": "audit-item-types",
                                                              "placeholder": "All items"}),
                                validators=[single_line_text])
    field_order = ["user", "item_type", "date_from", "date_to"]

    def __init__(self, *args, operator=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.item_types = item_types()


@functools.cache
def item_types() -> list[str]:
    """What an audit event's item can be: the verbose names of the project's own models, and
    the few names given explicitly (`record(item_type=...)`)."""
    from django.apps import apps
    from django.conf import settings

    base = str(settings.BASE_DIR)
    names = {str(m._meta.verbose_name) for config in apps.get_app_configs() if str(config.path).startswith(base)
             and "/.venv/" not in str(config.path) for m in config.get_models()}
    derived = ("rollup", "segment", " day", " hour", " month", "audit event")  # never audited themselves
    return sorted({n for n in names if not any(d in n for d in derived)} | {"credential", "membership", "bank account"})
