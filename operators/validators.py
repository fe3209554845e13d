"""VAT, EAN (GLN-13), IBAN and BIC checks with messages a user can act on.

The checking itself is done by python-stdnum and schwifty; this module only chooses the right
check for the operator's country, normalises, and words the errors.
"""
import re

from django.core.exceptions import ValidationError
from schwifty import BIC, IBAN
from schwifty import exceptions as iban_errors
from schwifty import registry as iban_registry
from stdnum import ean as stdnum_ean
from stdnum import exceptions as stdnum_errors
from stdnum.ch import vat as ch_vat
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat
from stdnum.no import mva as no_mva

COUNTRIES = {
    "AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "HR": "Croatia", "CY": "Cyprus",
    "CZ": "Czechia", "DK": "Denmark", "EE": "Estonia", "FI": "Finland", "FR": "France",
    "DE": "Germany", "GR": "Greece", "HU": "Hungary", "IE": "Ireland", "IT": "Italy",
    "LV": "Latvia", "LT": "Lithuania", "LU": "Luxembourg", "MT": "Malta", "NL": "Netherlands",
    "PL": "Poland", "PT": "Portugal", "RO": "Romania", "SK": "Slovakia", "SI": "Slovenia",
    "ES": "Spain", "SE": "Sweden", "NO": "Norway", "CH": "Switzerland", "GB": "United Kingdom",
}
COUNTRY_CHOICES = sorted(COUNTRIES.items(), key=lambda kv: kv[1])

# The VAT prefix differs from the ISO code for Greece.
_VAT_PREFIX = {"GR": "EL"}
_EU_VAT_PREFIXES = {_VAT_PREFIX.get(c.upper(), c.upper()) for c in eu_vat.MEMBER_STATES} | {"EL"}


def _vat_error(exc, country_name: str) -> ValidationError:
    if isinstance(exc, stdnum_errors.InvalidChecksum):
        msg = f"The check digit of this {country_name} VAT number is wrong. Please check it for typos."
    elif isinstance(exc, stdnum_errors.InvalidLength):
        msg = f"This VAT number has the wrong number of digits for {country_name}."
    elif isinstance(exc, stdnum_errors.InvalidComponent):
        msg = f"This is not a VAT number from {country_name}."
    else:
        msg = f"This is not a valid VAT number for {country_name}."
    return ValidationError(msg, code="invalid_vat")


def normalize_vat(country: str, value: str) -> str:
    """Validate `value` as a VAT number of `country` and return its stored form:
    the country prefix and the compact number, e.g. "DK 13 58 56 28" -> "DK13585628"."""
    country = (country or "").upper()
    if country not in COUNTRIES:
        raise ValidationError("Choose the company's country first.", code="country")
    name = COUNTRIES[country]
    raw = re.sub(r"[\s.\-/]", "", value or "").upper()
    if not raw:
        raise ValidationError("Enter the company's VAT number.", code="required")
    try:
        if country == "NO":
            number = raw[2:] if raw.startswith("NO") else raw
            return "NO" + no_mva.validate(number if number.endswith("MVA") else number + "MVA")
        if country == "CH":
            return ch_vat.validate(raw)
        if country == "GB":
            return "GB" + gb_vat.validate(raw[2:] if raw.startswith("GB") else raw)
        prefix = _VAT_PREFIX.get(country, country)
        compact = raw
        if compact[:2] in _EU_VAT_PREFIXES:
            if compact[:2] != prefix:
                raise ValidationError(
                    f"This VAT number starts with {compact[:2]}, but the company is in {name} "
                    f"(numbers there start with {prefix}).",
                    code="vat_country",
                )
        else:
            compact = prefix + compact
        return eu_vat.validate(compact)
    except stdnum_errors.ValidationError as exc:
        raise _vat_error(exc, name) from None


def normalize_ean(value: str) -> str:
    """A GLN-13 (EAN location number): 13 digits with a correct check digit."""
    compact = stdnum_ean.compact(value or "")
    if not compact:
        return ""
    if not compact.isdigit():
        raise ValidationError("An EAN number has digits only.", code="invalid_ean")
    if len(compact) != 13:
        raise ValidationError(
            f"An EAN number (GLN) has 13 digits; this one has {len(compact)}.", code="invalid_ean"
        )
    try:
        return stdnum_ean.validate(compact)
    except stdnum_errors.ValidationError:
        raise ValidationError(
            "The check digit of this EAN number is wrong. Please check it for typos.", code="invalid_ean"
        ) from None


def parse_iban(value: str) -> IBAN:
    """Accepts spaces and lower case; raises a ValidationError that says what is wrong."""
    compact = "".join((value or "").split()).upper()
    if not compact:
        raise ValidationError("Enter the account's IBAN.", code="required")
    try:
        return IBAN(compact)
    except iban_errors.InvalidCountryCode:
        raise ValidationError(
            f"An IBAN starts with a country code; “{compact[:2]}” is not one.", code="invalid_iban"
        ) from None
    except iban_errors.InvalidLength:
        try:
            expected = iban_registry.get_iban_spec(compact[:2]).iban_length
            msg = f"An IBAN from {compact[:2]} has {expected} characters; this one has {len(compact)}."
        except Exception:  # no spec for that country: a generic message
            msg = "This IBAN has the wrong length."
        raise ValidationError(msg, code="invalid_iban") from None
    except iban_errors.InvalidChecksumDigits:
        raise ValidationError(
            "The check digits of this IBAN are wrong. Please check it for typos.", code="invalid_iban"
        ) from None
    except iban_errors.SchwiftyException:
        raise ValidationError(
            "This is not a valid IBAN. Please check it for typos (only IBANs are accepted).",
            code="invalid_iban",
        ) from None


def parse_bic(value: str) -> str:
    compact = "".join((value or "").split()).upper()
    if not compact:
        raise ValidationError(
            "We could not find the bank of this IBAN: enter its BIC (SWIFT code).", code="required"
        )
    try:
        bic = BIC(compact)
    except iban_errors.SchwiftyException:
        raise ValidationError("This is not a valid BIC (8 or 11 letters and digits).", code="invalid_bic") from None
    return bic.compact


# Territories whose banks have BICs of their own country code but whose accounts carry the IBAN
# of another (French overseas departments and Monaco use FR-style banking; Jersey, Guernsey and
# the Isle of Man use GB IBANs; Åland uses FI; the Faroe Islands and Greenland bank with Denmark).
_BANKING_AREAS = (
    frozenset({"FR", "MC", "GF", "GP", "MQ", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF", "TF"}),
    frozenset({"GB", "JE", "GG", "IM"}),
    frozenset({"FI", "AX"}),
    frozenset({"DK", "FO", "GL"}),
)


def _same_banking_area(iban_country: str, bic_country: str) -> bool:
    if iban_country == bic_country:
        return True
    return any(iban_country in area and bic_country in area for area in _BANKING_AREAS)


def bic_for_iban(iban: IBAN, typed: str) -> str:
    """The BIC to store for `iban`: the typed one when it fits, else the bank registry's.

    A typed BIC must be of the IBAN's country (or of a territory banking with it), and, when the
    bank registry knows the IBAN's bank, be that bank's BIC (the branch code, the last three
    characters, may differ: "XXX" is the head office)."""
    known = _registry_bics(iban)
    if not "".join((typed or "").split()):
        if known:
            return known[0]
        return parse_bic(typed)  # "enter its BIC"
    bic = parse_bic(typed)
    bic_country, iban_country = bic[4:6], iban.country_code
    if not _same_banking_area(iban_country, bic_country):
        raise ValidationError(
            f"This BIC is of a bank in {_country_name(bic_country)}, but the IBAN is from "
            f"{_country_name(iban_country)}: check both.", code="bic_country")
    if known and bic[:8] not in {k[:8] for k in known}:
        bank = iban.bank_name or "the IBAN's bank"
        raise ValidationError(
            f"This BIC ({bic}) is not the BIC of the bank this IBAN belongs to ({bank}, BIC {known[0]}). "
            "Leave the BIC empty to use the bank's, or check the IBAN.", code="bic_bank")
    return bic


def _registry_bics(iban: IBAN) -> list[str]:
    try:
        candidates = BIC.candidates_from_bank_code(iban.country_code, iban.bank_code)
    except (iban_errors.SchwiftyException, ValueError, KeyError):
        candidates = []
    if not candidates and iban.bic is not None:
        candidates = [iban.bic]
    return [BIC(str(c)).compact for c in candidates]


def _country_name(code: str) -> str:
    import pycountry

    country = pycountry.countries.get(alpha_2=code)
    return COUNTRIES.get(code) or (country.name if country else code)
