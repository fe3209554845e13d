from django import forms
from django.forms import inlineformset_factory

from charging.models import Charge, ChargePoint, Connector, CurrentType, Site, Visibility, evse_key
from charging.sitepicker import SiteField
from operators.models import WalletTransaction
from portal.forms import DateRangeForm, Form, ModelForm
from portal.validators import evse_id, evse_id_key, iso_country


class SiteForm(ModelForm):
    class Meta:
        model = Site
        fields = ["name", "street", "postcode", "city", "country", "latitude", "longitude", "visibility", "note"]
        help_texts = {"country": "ISO 3166 code, e.g. DK.", "latitude": "Decimal degrees, e.g. 55.6728.",
                      "longitude": "Decimal degrees, e.g. 12.5543."}

    def clean_country(self):
        return iso_country(self.cleaned_data["country"])

    def clean_latitude(self):
        value = self.cleaned_data["latitude"]
        if value is not None and not -90 <= value <= 90:
            raise forms.ValidationError("Latitude is between -90 and 90.")
        return value

    def clean_longitude(self):
        value = self.cleaned_data["longitude"]
        if value is not None and not -180 <= value <= 180:
            raise forms.ValidationError("Longitude is between -180 and 180.")
        return value


class ChargePointForm(ModelForm):
    site = SiteField(queryset=Site.objects.none(), empty_label="No site")

    class Meta:
        model = ChargePoint
        fields = ["name", "site", "serial_number", "evse_id", "brand_name", "model_name", "type", "max_kw",
                  "visibility", "state", "note"]
        labels = {"type": "AC/DC", "evse_id": "EVSE id", "brand_name": "Brand", "model_name": "Model",
                  "max_kw": "Max kW"}
        help_texts = {"evse_id": "E.g. DK*ABC*E00001. Roaming CDRs are matched to the charge point by it."}

    def __init__(self, *args, operator, **kwargs):
        super().__init__(*args, **kwargs)
        self.operator = operator
        self.fields["site"].empty_label = "No site"
        SiteField.bind(self, "site", operator)

    def clean_evse_id(self):
        value = evse_id(self.cleaned_data["evse_id"])  # ISO 15118 / eMI3 format, upper case
        if value:
            # the same EVSE however its optional '*' separators are written
            clash = ChargePoint.objects.filter(operator=self.operator).annotate(key=evse_key()).filter(
                key=evse_id_key(value))
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise forms.ValidationError("Another charge point already has this EVSE id.")
        return value

    def clean_max_kw(self):
        value = self.cleaned_data["max_kw"]
        if value is not None and value <= 0:
            raise forms.ValidationError("Max kW must be more than 0.")
        return value


class ConnectorForm(ModelForm):
    class Meta:
        model = Connector
        fields = ["identifier", "max_kw"]

    def clean_max_kw(self):
        value = self.cleaned_data["max_kw"]
        if value is not None and value <= 0:
            raise forms.ValidationError("Power must be more than 0 kW.")
        return value


ConnectorFormSet = inlineformset_factory(ChargePoint, Connector, form=ConnectorForm, extra=2, can_delete=True,
                                         max_num=8, validate_max=True)


class ChargePointCsvForm(Form):
    file = forms.FileField(label="CSV file", help_text=(
        "Columns: name, evse_id, serial_number, site, brand_name, model_name, type (AC/DC), max_kw, "
        "visibility (public/private), state. The first line holds the column names."))
    import_valid_rows = forms.BooleanField(
        required=False, label="Import the valid rows even when some rows have errors",
        help_text="Unticked: nothing is imported when any row has an error.")

    MAX_BYTES = 5 * 1024 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text.") from None


class _Filter(Form):
    def __init__(self, *args, operator, **kwargs):
        super().__init__(*args, **kwargs)
        self.operator = operator


class SiteFilterForm(_Filter):
    q = forms.CharField(required=False, label="Search", widget=forms.TextInput(attrs={"type": "search",
                        "placeholder": "Name, address"}))
    visibility = forms.ChoiceField(required=False, choices=[("", "Public and private"), *Visibility.choices])


class ChargePointFilterForm(_Filter):
    q = forms.CharField(required=False, label="Search", widget=forms.TextInput(attrs={
        "type": "search", "placeholder": "Name, EVSE id, serial number"}))
    site = SiteField(queryset=Site.objects.none(), empty_label="All sites")
    state = forms.ChoiceField(required=False, choices=[("", "All states"), *ChargePoint.State.choices])
    type = forms.ChoiceField(required=False, label="AC/DC", choices=[("", "AC and DC"), *CurrentType.choices])
    visibility = forms.ChoiceField(required=False, choices=[("", "Public and private"), *Visibility.choices])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        SiteField.bind(self, "site", self.operator, Site.objects.filter(operator=self.operator).only("id", "name",
                                                                                                     "city"))


class ChargeFilterForm(DateRangeForm, _Filter):
    site = SiteField(queryset=Site.objects.none(), empty_label="All sites")
    charge_point = forms.ModelChoiceField(queryset=ChargePoint.objects.none(), required=False,
                                          empty_label="All charge points", widget=forms.TextInput(attrs={
                                              "placeholder": "Charge point id"}),
                                          help_text="Pick one from the charge point's page.")
    type = forms.ChoiceField(required=False, choices=[("", "All types"), *Charge.Type.choices])
    state = forms.ChoiceField(required=False, choices=[("", "All states"), *Charge.State.choices])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        SiteField.bind(self, "site", self.operator, Site.objects.filter(operator=self.operator).only("id", "name",
                                                                                                     "city"))
        # A text input, not a <select>: an operator may have 10 000 charge points.
        self.fields["charge_point"].queryset = ChargePoint.objects.filter(operator=self.operator)
        self.fields["charge_point"].error_messages["invalid_choice"] = "No such charge point."


class WalletFilterForm(DateRangeForm, _Filter):
    kind = forms.ChoiceField(required=False, choices=[("", "All kinds"), *WalletTransaction.Kind.choices])
    field_order = ["kind", "date_from", "date_to"]


class CdrUploadForm(Form):
    file = forms.FileField(label="CDR file (JSON)", help_text=(
        "OCPI 2.2.1 CDRs: a JSON list of CDR objects, or an OCPI response with the list in \"data\"."))

    MAX_BYTES = 200 * 1024 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError("The file is larger than 200 MB.")
        return upload
