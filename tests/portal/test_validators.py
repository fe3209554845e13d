"""The shared field validators (portal/validators.py) and that every form uses them."""
import importlib
import inspect
from datetime import date
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ValidationError

from portal import validators as v
from portal.forms import TextRules


@pytest.mark.parametrize("text", ["Harbour\nSouth", "Harbour\r\nSouth", "A\rB", "A\tB", "A\x00B", "A\x1bB",
                                  "A\u2028B", "A\u2029B", "Invoice \u202e1234", "A\u2066B\u2069", "A\u200fB",
                                  "A\u200bB", "A\ufeffB", "A\u2060B", "A\u00adB", "A\ue000B", "A\U000e0041B"])
def test_single_line_text_refuses_control_bidi_and_invisible_characters(text):
    with pytest.raises(ValidationError) as exc:
        v.single_line_text(text)
    assert "on one line without it" in exc.value.messages[0]


@pytest.mark.parametrize("text", ["Vesterbrogade 10", "København Ø", "Zoë Ørsted", "Straße 1", "東京",
                                  "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian, with a ZWNJ
                                  "👩\u200d🔧 Team", "10\u00a0000", "1\u202f620"])
def test_single_line_text_accepts_real_text(text):
    assert v.single_line_text(text) == text


def test_the_message_names_the_character():
    with pytest.raises(ValidationError, match=r"a text-direction control character \(U\+202E\)"):
        v.single_line_text("A\u202eB")
    with pytest.raises(ValidationError, match=r"a line break \(LF\)"):
        v.single_line_text("A\nB")


@pytest.mark.parametrize("name", ["\u200b\u200b", "\u3164", "\u3164\u3164", " \u2800 ", "\u200d", "\u0301",
                                  "\u115f\u1160", "\u00a0"])
def test_names_made_only_of_invisible_characters_are_refused(name):
    with pytest.raises(ValidationError, match="visible characters|invisible character"):
        v.visible_name(name)


@pytest.mark.parametrize("name", ["Ø", "A", "Demo Charging ApS", "李", "1"])
def test_visible_names(name):
    assert v.visible_name(name) == name


@pytest.mark.parametrize("value,result", [("dk", "DK"), (" NO ", "NO"), ("", ""), ("GL", "GL")])
def test_iso_country(value, result):
    assert v.iso_country(value) == result


@pytest.mark.parametrize("value,message", [("XX", "not an ISO 3166 country code"), ("EU", "not an ISO 3166"),
                                           ("D1", "two-letter"), ("DNK", "two-letter"), ("ÅÅ", "two-letter")])
def test_iso_country_refused(value, message):
    with pytest.raises(ValidationError, match=message):
        v.iso_country(value)


@pytest.mark.parametrize("value,stored", [
    ("DK*ABC*E123*1", "DK*ABC*E123*1"), ("DKABCE1231", "DKABCE1231"), ("dk*abc*e00001", "DK*ABC*E00001"),
    ("FR*A23*E45B*78C", "FR*A23*E45B*78C"), ("DE*CHC*E12345*123", "DE*CHC*E12345*123"),
    ("CH*ION*E213604", "CH*ION*E213604"), ("BE*BEC*E041503003", "BE*BEC*E041503003"), ("DK*ABCE1", "DK*ABCE1"),
    (" DK*ABC*E1 ", "DK*ABC*E1"), ("DK*ABC*E" + "1" * 31, "DK*ABC*E" + "1" * 31),
])
def test_evse_ids_in_the_iso_15118_format(value, stored):
    assert v.evse_id(value) == stored


@pytest.mark.parametrize("value", [
    "DK*ABC*123", "DK*AB*E1", "DK*ABCD*E1", "DK*ABC*E", "DK*ABC*E*1", "DK-ABC-E1", "DK**ABC*E1",
    "DK*ABC*E" + "1" * 32, "DK*ABC*E1_2", "DK*ÅBC*E1", "DK*ABC*E١٢", "DK*ABC*E1\u200b", "DK*ABC*E1\u202e",
    "DK*ABC*\nE1", "DK*ABC*E\t1", "+45*810*000*438",
])
def test_evse_ids_outside_the_format_are_refused(value):
    with pytest.raises(ValidationError):
        v.evse_id(value)


def test_evse_id_country_must_exist():
    with pytest.raises(ValidationError, match="“XX” is not one"):
        v.evse_id("XX*ABC*E1")


def test_ascii_digits_and_patterns():
    assert v.ascii_digits("0123") == "0123"
    for digits in ("١٢٣", "１２３", "১২৩", "12a"):
        with pytest.raises(ValidationError):
            v.ascii_digits(digits)
    assert v.ascii_pattern(r"\d{3}").fullmatch("123") and not v.ascii_pattern(r"\d{3}").fullmatch("١٢٣")


def test_bounded_future_date():
    today = date(2026, 12, 1)
    assert v.bounded_future_date(date(2036, 12, 1), today=today, years=10) == date(2036, 12, 1)
    with pytest.raises(ValidationError, match="within 10 years"):
        v.bounded_future_date(date(2036, 12, 2), today=today, years=10)
    with pytest.raises(ValidationError, match="within 10 years"):
        v.bounded_future_date(date(2999, 1, 1), today=today, years=10)
    assert v.bounded_future_date(date(2034, 2, 28), today=date(2024, 2, 29), years=10)


@pytest.mark.parametrize("value", [Decimal("1e999999999"), Decimal("-1E+999999999"), 10 ** 40, "1e999999999",
                                   Decimal("1e10")])
def test_bounded_decimal_out_of_range(value):
    with pytest.raises(ValidationError) as exc:
        v.bounded_decimal(value, limit_digits=10)
    assert exc.value.code == "range"


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), "inf", "x", "١٢", True, 1.5, None])
def test_bounded_decimal_not_a_number(value):
    with pytest.raises(ValidationError) as exc:
        v.bounded_decimal(value, limit_digits=10)
    assert exc.value.code == "number"


def test_bounded_decimal_in_range():
    assert v.bounded_decimal(Decimal("9999999999.99"), limit_digits=10) == Decimal("9999999999.99")
    assert v.bounded_decimal(0, limit_digits=10) == 0
    assert v.bounded_decimal(Decimal("0E+999999999"), limit_digits=10) == 0
    assert v.bounded_decimal("-12.5", limit_digits=10) == Decimal("-12.5")


FORM_MODULES = ["accounts.forms", "billing.forms", "charging.forms", "credentials.forms", "members.forms", "operators.forms",
                "portal.forms"]


def test_every_form_applies_the_text_rules():
    """A new form that derives from Django's Form directly would skip the rules: derive it from
    portal.forms.Form / ModelForm."""
    missing = []
    for module_name in FORM_MODULES:
        module = importlib.import_module(module_name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module_name and issubclass(cls, forms.BaseForm) and not issubclass(cls, TextRules):
                missing.append(f"{module_name}.{name}")
    assert missing == []
