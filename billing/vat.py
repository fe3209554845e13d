"""The VAT rules of the platform's invoices, in one place (table test: tests/billing/test_vat.py).

The platform sells services (the subscription and the platform fees) business to business. Its
seller is established in Denmark. Place of supply for B2B services is where the buyer is
established (EU VAT Directive art. 44; Danish momslov § 16):

| buyer                                          | category (UNCL5305) | rate | wording on the invoice |
|------------------------------------------------|---------------------|------|------------------------|
| in the seller's country (DK)                   | S standard          | 25 % | —                      |
| other EU country, valid VAT number             | AE reverse charge   | 0 %  | "Reverse charge" + both VAT numbers |
| other EU country, no valid VAT number          | S standard          | 25 % | — (treated as not a taxable business) |
| outside the EU (NO, CH, GB, …)                 | O outside scope     | 0 %  | "Not subject to Danish VAT: services to a business established outside the EU" |

VAT is computed per EN 16931: per (category, rate) on the sum of the line nets of that group,
rounded once, half-up, to the currency's minor unit — never a sum of per-charge roundings.
"""
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from operators.validators import normalize_vat
from portal.money import quantize

EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT",
    "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})
# Standard rates of the seller countries we issue from.
STANDARD_RATES = {"DK": Decimal("25.00")}

REVERSE_CHARGE_NOTE = "Reverse charge"
OUTSIDE_SCOPE_NOTE = "Not subject to Danish VAT: services to a business established outside the EU"


@dataclass(frozen=True)
class VatTreatment:
    category: str  # S, AE, O
    rate: Decimal
    note: str = ""

    @property
    def label(self):
        return {"S": "Standard rate", "AE": "Reverse charge", "O": "Outside the scope of VAT"}[self.category]


def valid_vat_number(country: str, vat_number: str) -> bool:
    if not vat_number:
        return False
    try:
        normalize_vat(country, vat_number)
    except ValidationError:
        return False
    return True


def treatment(*, seller_country: str, buyer_country: str, buyer_vat_number: str) -> VatTreatment:
    seller_country, buyer_country = seller_country.upper(), (buyer_country or "").upper()
    if seller_country not in STANDARD_RATES:
        raise ValueError(f"No VAT rules for a seller in {seller_country}.")
    standard = VatTreatment("S", STANDARD_RATES[seller_country])
    if buyer_country == seller_country:
        return standard
    if buyer_country in EU_COUNTRIES:
        if valid_vat_number(buyer_country, buyer_vat_number):
            return VatTreatment("AE", Decimal("0.00"), REVERSE_CHARGE_NOTE)
        return standard
    if not buyer_country:
        return standard
    return VatTreatment("O", Decimal("0.00"), OUTSIDE_SCOPE_NOTE)


def vat_breakdown(lines, currency: str) -> list[dict]:
    """[{category, rate, net, vat}] per (category, rate): VAT on the group's summed net, rounded
    once. `lines` have `net` (already rounded), `vat_category` and `vat_rate`."""
    groups: dict[tuple, Decimal] = {}
    for line in lines:
        key = (line.vat_category, Decimal(line.vat_rate))
        groups[key] = groups.get(key, Decimal("0")) + Decimal(line.net)
    return [
        {"category": cat, "rate": rate, "net": quantize(net, currency),
         "vat": quantize(net * rate / Decimal(100), currency)}
        for (cat, rate), net in sorted(groups.items())
    ]
