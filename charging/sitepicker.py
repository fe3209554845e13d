"""Picking a site in a form at any number of sites: a <select> up to PICKER_LIMIT sites, above
that a search box (no page carries a 500-option <select>: it took ~35 ms and a thousand template
includes to render, on every list page, for nothing typed).

The search box is a text input with a <datalist>: typing asks the site search (htmx) for up to 20
names that match, and the browser offers them. Without JavaScript it still works: type the
site's name and submit. The field takes a site id (links such as ?site=7 from the sites list),
a site's label as the list offers it ("Name — City"), or a name that only one site has; anything
else is a specific error, never a 500 or a silent "all sites".
"""
import re

from django import forms
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.urls import reverse

from portal.validators import single_line_text

PICKER_LIMIT = 100
SEARCH_RESULTS = 20
SEPARATOR = " — "


TWIN = re.compile(r"^(?P<label>.*) \(#(?P<pk>[0-9]{1,18})\)$")


def label(site, twin=False) -> str:
    """What the search box shows for a site: "Name — City"; with its id too ("Name — City (#7)")
    when another site of the operator has the same name and city, so the two can be told apart."""
    text = f"{site.name}{SEPARATOR}{site.city}" if site.city else site.name
    return f"{text} (#{site.pk})" if twin else text


def _label_sql(table) -> str:
    """The label in SQL, lower-cased (two SEPARATOR parameters): as `label()` without the id."""
    return f"LOWER(CASE WHEN {table}.city = '' THEN {table}.name ELSE {table}.name || %s || {table}.city END)"


def _twins(qs):
    """The queryset with `twin`: whether another site of the same operator is offered under the
    same label (the same name and city, or a name with a dash that reads as another's name and
    city). Plain SQL: the same expression built by the ORM cost ~3 ms per page to compile."""
    from charging.models import Site

    table = Site._meta.db_table
    twin = (f"EXISTS (SELECT 1 FROM {table} other WHERE other.operator_id = {table}.operator_id "
            f"AND other.id <> {table}.id AND {_label_sql('other')} = {_label_sql(table)})")
    return qs.annotate(twin=RawSQL(twin, [SEPARATOR] * 2, output_field=BooleanField()))


class SiteSearchInput(forms.TextInput):
    template_name = "charging/widgets/site_search.html"

    def __init__(self, *, search_url="", attrs=None):
        super().__init__(attrs={"type": "search", "autocomplete": "off", **(attrs or {})})
        self.search_url = search_url
        self.queryset = None
        self.labels = {}  # the labels of ids the field has resolved already (this form's copy)

    def __deepcopy__(self, memo):
        copied = super().__deepcopy__(memo)
        copied.labels = {}
        return copied

    def format_value(self, value):
        """A site id (initial value, or ?site=7) is shown as its label."""
        if value in (None, ""):
            return None
        if str(value) in self.labels:
            return self.labels[str(value)]
        if isinstance(value, int) or (isinstance(value, str) and value.isascii() and value.isdigit()):
            site = _twins(self.queryset.filter(pk=int(value))).first() if self.queryset is not None else None
            if site is not None:
                return label(site, site.twin)
        return super().format_value(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["search_url"] = self.search_url
        context["widget"]["list_id"] = f"{attrs.get('id') or name}-options"
        return context


class SiteField(forms.ModelChoiceField):
    """A ModelChoiceField over the operator's sites that switches to a search box above
    PICKER_LIMIT sites. `operator` is set by the form (`SiteField.bind(form, name, operator)`)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)
        self.searching = False

    @classmethod
    def bind(cls, form, name, operator, queryset=None):
        from charging.models import Site

        field = form.fields[name]
        field.queryset = queryset if queryset is not None else Site.objects.filter(operator=operator)
        # one query either way: up to PICKER_LIMIT + 1 sites, which are the <select>'s options
        # when there are no more than PICKER_LIMIT
        sites = list(field.queryset.values_list("pk", "name")[:PICKER_LIMIT + 1])  # (tuples: no 101 models)
        if len(sites) > PICKER_LIMIT:
            field.searching = True
            field.widget = SiteSearchInput(search_url=reverse("charging:site_search", args=[operator.slug]),
                                           attrs={"placeholder": field.empty_label or "All sites"})
            field.widget.queryset = field.queryset
        else:
            field.choices = [("", field.empty_label or "---------"), *sites]  # (a site's str() is its name)
        return field

    def to_python(self, value):
        if not self.searching:
            return super().to_python(value)
        if value in self.empty_values:
            return None
        text = str(value).strip()
        single_line_text(text)  # the portal's text rules: no control, bidi or invisible characters
        if len(text) > 500:
            raise forms.ValidationError("No site by that name.", code="invalid_choice")
        # the label as the list offers it ("Name — City", or the bare name of a site without a city),
        # then a site with a twin as the list offers it ("Name — City (#7)"), then a name only one
        # site has, then an id (?site=7 links): a name always wins over an id
        if text.isascii() and text.isdigit() and len(text) < 19:
            # an id (the lists' ?site=7 links), in one query: digits have no case, so a site whose
            # name matches the text case-insensitively is a site called exactly that — then the
            # name rules below decide, as they would have
            rows = list(_twins(self.queryset.filter(Q(pk=int(text)) | Q(name=text)))[:3])
            if not any(site.name == text for site in rows):
                site = next((site for site in rows if site.pk == int(text)), None)
                if site is not None:
                    self.widget.labels[text] = label(site, site.twin)  # what the box shows, without a query
                    return site
                raise forms.ValidationError(f"No site called “{text}”. Type part of its name and pick it from "
                                            "the list.", code="invalid_choice")
        name, _, city = text.rpartition(SEPARATOR)
        offered = Q(name__iexact=text, city="")
        if name:
            offered |= Q(name__iexact=name.strip(), city__iexact=city.strip())
        matches = list(self.queryset.filter(offered)[:2])
        if len(matches) == 1:
            return matches[0]
        twin = TWIN.match(text)
        if twin:
            site = self.queryset.filter(pk=int(twin["pk"])).first()
            if site is not None and label(site).casefold() == twin["label"].strip().casefold():
                return site
        if not matches:
            matches = list(self.queryset.filter(name__iexact=text)[:2])
            if len(matches) == 1:
                return matches[0]
        if matches:
            raise forms.ValidationError(f"Several sites are called “{text}”: pick one from the list "
                                        "(name — city (#id)).", code="invalid_choice")
        if text.isascii() and text.isdigit() and len(text) < 19:
            site = self.queryset.filter(pk=int(text)).first()
            if site is not None:
                return site
        raise forms.ValidationError(f"No site called “{text}”. Type part of its name and pick it from the list.",
                                    code="invalid_choice")

    def validate(self, value):
        if not self.searching:
            return super().validate(value)
        if self.required and value is None:
            raise forms.ValidationError(self.error_messages["required"], code="required")

    def has_changed(self, initial, data):
        if not self.searching:
            return super().has_changed(initial, data)
        try:
            site = self.to_python(data)
        except forms.ValidationError:
            return True
        return str(getattr(initial, "pk", initial) or "") != str(site.pk if site else "")


def search(operator, text: str) -> list:
    """Up to SEARCH_RESULTS of the operator's sites for what was typed, each with its `label`:
    names that start with it first (by name), then names or cities that contain it."""
    from charging.models import Site

    text = (text or "").strip()[:100]
    try:
        single_line_text(text)
    except forms.ValidationError:
        return []  # a control or invisible character (NUL …): no site is called that
    qs = _twins(Site.objects.filter(operator=operator).only("id", "name", "city", "operator_id"))
    name = text.partition(SEPARATOR)[0].strip()
    if not name:
        found = list(qs.order_by("name", "id")[:SEARCH_RESULTS])
    else:
        found = list(qs.filter(name__istartswith=name).order_by("name", "id")[:SEARCH_RESULTS])
        if len(found) < SEARCH_RESULTS:
            found += qs.filter(Q(name__icontains=name) | Q(city__icontains=name)).exclude(
                name__istartswith=name).order_by("name", "id")[:SEARCH_RESULTS - len(found)]
    for site in found:
        site.label = label(site, site.twin)
    return found
