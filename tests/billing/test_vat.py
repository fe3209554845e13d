"""The VAT rules as a table (billing/vat.py), and VAT per rate on the summed net."""
from dataclasses import dataclass
from decimal import Decimal

import pytest

from billing import vat

D = Decimal


@pytest.mark.parametrize("buyer_country,buyer_vat,category,rate,note", [
    ("DK", "DK13585628", "S", "25.00", ""),
    ("DK", "", "S", "25.00", ""),
    ("DE", "DE136695976", "AE", "0.00", "Reverse charge"),
    ("SE", "SE556188840401", "AE", "0.00", "Reverse charge"),
    ("DE", "DE136695970", "S", "25.00", ""),  # check digit wrong: not a valid VAT number
    ("DE", "", "S", "25.00", ""),
    ("NO", "NO995525828MVA", "O", "0.00", vat.OUTSIDE_SCOPE_NOTE),
    ("CH", "CHE-116.281.710 MWST", "O", "0.00", vat.OUTSIDE_SCOPE_NOTE),
    ("GB", "GB980780684", "O", "0.00", vat.OUTSIDE_SCOPE_NOTE),
    ("NO", "", "O", "0.00", vat.OUTSIDE_SCOPE_NOTE),
])
def test_vat_rules(buyer_country, buyer_vat, category, rate, note):
    t = vat.treatment(seller_country="DK", buyer_country=buyer_country, buyer_vat_number=buyer_vat)
    assert (t.category, t.rate, t.note) == (category, D(rate), note)


def test_unknown_seller_country_is_refused():
    with pytest.raises(ValueError):
        vat.treatment(seller_country="XX", buyer_country="DK", buyer_vat_number="")


@dataclass
class L:
    net: Decimal
    vat_category: str = "S"
    vat_rate: Decimal = D("25.00")


def test_vat_on_the_summed_net_rounded_once_half_up():
    # three lines of 0.10: per line 0.025 → 0.03 each would give 0.09; on the sum 0.30 → 0.075 → 0.08
    [group] = vat.vat_breakdown([L(D("0.10"))] * 3, "DKK")
    assert (group["net"], group["vat"]) == (D("0.30"), D("0.08"))


def test_vat_per_rate_group():
    groups = vat.vat_breakdown([L(D("10.02")), L(D("5.00"), "AE", D("0.00")), L(D("0.01"))], "EUR")
    assert [(g["category"], g["rate"], g["net"], g["vat"]) for g in groups] == [
        ("AE", D("0.00"), D("5.00"), D("0.00")), ("S", D("25.00"), D("10.03"), D("2.51"))]  # 2.5075 → 2.51


def test_zero_decimal_currency_rounds_to_whole_units():
    [group] = vat.vat_breakdown([L(D("101"))], "JPY")
    assert group["vat"] == D("25")  # 25.25 → 25
