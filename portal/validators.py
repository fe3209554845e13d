"""The field checks every form and importer uses, so that one rule holds wherever data comes in.

Each check takes a value and returns its cleaned form or raises a ValidationError whose message
says what is wrong; Django validators (`validators=[...]`) and the importers call the same
functions. What is refused, and why:

* **Single-line text** (names, addresses, notes, ids; `single_line_text`): no control
  characters (CR, LF, tab, NUL, …: they break CSV files, e-mails and log lines), no line or
  paragraph separators (U+2028/U+2029), no bidirectional embedding, override or isolate
  characters (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C: they make text display in
  another order than it is stored, e.g. an IBAN or an invoice number), no other invisible
  format characters (zero-width space U+200B, word joiner U+2060, BOM U+FEFF, soft hyphen, …),
  no private-use, unassigned or surrogate code points. Zero-width (non-)joiners (U+200C/U+200D)
  stay allowed: Persian, Indic scripts and emoji need them.
* **Names** (`visible_name`): single-line text with at least one visible character: a name made
  only of spaces, joiners or "blank" letters (Hangul fillers, Braille blank) is refused.
* **Identifiers** use ASCII only: patterns are compiled with `re.ASCII` (`ascii_pattern`), so
  `\\d` never matches Arabic-Indic or other non-ASCII digits, and `ascii_digits` checks digits.
* **Countries** (`iso_country`): an ISO 3166-1 alpha-2 code that exists (pycountry's list).
* **EVSE ids** (`evse_id`): ISO 15118-2 Annex H / eMI3 format.
* **Dates** (`bounded_future_date`): not beyond a horizon (expiry dates centuries ahead).
* **Numbers** (`bounded_decimal`): finite, and below a size limit checked on the exponent
  before any arithmetic (`1e999999999` is refused without being computed with).
"""
import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

import pycountry
from django.core.exceptions import ValidationError

# Code points refused in single-line text besides the categories below (all are Cf, listed for
# the reader): the bidirectional controls.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Format characters with a legitimate use inside words (Persian, Indic scripts, emoji sequences).
ALLOWED_FORMAT = frozenset("\u200c\u200d")
# Refused categories: controls, format (invisible), surrogates, private use, unassigned,
# line and paragraph separators.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Letters and symbols that render as nothing.
BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e\u034f")

_NAMES = {
    "\r": "a carriage return (CR)", "\n": "a line break (LF)", "\t": "a tab", "\x00": "a NUL character",
    "\u2028": "a line separator", "\u2029": "a paragraph separator",
}


def describe_character(char: str) -> str:
    if char in _NAMES:
        return _NAMES[char]
    if char in BIDI_CONTROLS:
        kind = "a text-direction control character"
    elif unicodedata.category(char) == "Cc":
        kind = "a control character"
    elif unicodedata.category(char) in {"Cs", "Cn", "Co"}:
        kind = "a character that is not valid text"
    else:
        kind = "an invisible character"
    return f"{kind} (U+{ord(char):04X})"


def refused_character(value: str) -> str | None:
    """The first character single-line text may not hold, or None. Plain printable text (by far
    the most common) is recognised by one C-level call."""
    if value.isprintable():  # no Cc, Cf, Cs, Co, Cn, Zl, Zp, nor Zs other than the ASCII space
        return None
    for char in value:
        if char in ALLOWED_FORMAT:
            continue
        if char in BIDI_CONTROLS or unicodedata.category(char) in REFUSED_CATEGORIES:
            return char
    return None


def single_line_text(value: str) -> str:
    """Validator for a one-line text field; returns the value unchanged. (Values that are not
    text, e.g. a parsed phone number, were checked by their own field.)"""
    if isinstance(value, str) and value:
        char = refused_character(value)
        if char is not None:
            raise ValidationError(f"This text contains {describe_character(char)}; type it on one line without it.",
                                  code="invalid_character")
    return value


def is_visible(value: str) -> bool:
    """At least one character that shows: not whitespace, not a format character, not a
    combining mark on its own, not a blank glyph."""
    for char in value:
        if char.isspace() or char in BLANK_GLYPHS:
            continue
        category = unicodedata.category(char)
        if category in REFUSED_CATEGORIES or category[0] in {"M", "Z"}:
            continue
        return True
    return False


def visible_name(value: str) -> str:
    """Validator for names: single-line text that shows at least one character."""
    single_line_text(value)
    if isinstance(value, str) and value and not is_visible(value):
        raise ValidationError("Enter a name with visible characters (this one is blank or made only of "
                              "invisible characters).", code="invisible")
    return value


def ascii_pattern(pattern: str) -> re.Pattern:
    """A compiled identifier pattern where \\d, \\w and \\s mean their ASCII forms only."""
    return re.compile(pattern, re.ASCII)


def ascii_digits(value: str) -> str:
    """Validator: digits 0-9 only (str.isdigit() and int() also accept e.g. '١٢٣')."""
    if value and not (value.isascii() and value.isdigit()):
        raise ValidationError("Use the digits 0-9 only.", code="digits")
    return value


# --- Countries ------------------------------------------------------------------------------------
ISO_COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries)


def iso_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 code (case-insensitive); returns it upper case."""
    code = (value or "").strip().upper()
    if not code:
        return ""
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise ValidationError("Use the two-letter ISO country code (ISO 3166), e.g. DK.", code="country")
    if code not in ISO_COUNTRIES:
        raise ValidationError(f"“{code}” is not an ISO 3166 country code (e.g. DK, DE, NO).", code="country")
    return code


# --- EVSE ids -------------------------------------------------------------------------------------
# ISO 15118-2 Annex H (also eMI3 v1.0 part 2, which OCPI's evse_id refers to):
#   <EVSEID> = <Country Code> <S> <EVSE Operator ID> <S> "E" <Power Outlet ID>
#   <Country Code> = 2 ALPHA (ISO 3166-1 alpha-2); <EVSE Operator ID> = 3 (ALPHA / DIGIT)
#   <Power Outlet ID> = (ALPHA / DIGIT) *30 (ALPHA / DIGIT / <S>); <S> = *1 "*" (optional)
# Case-insensitive; stored upper case. Both "DK*ABC*E123*1" and "DKABCE1231" are valid.
EVSE_ID_RE = re.compile(r"([A-Z]{2})\*?([A-Z0-9]{3})\*?E([A-Z0-9][A-Z0-9*]{0,30})", re.ASCII)
EVSE_ID_MAX_LENGTH = 39


def evse_id(value: str) -> str:
    """An EVSE id in ISO 15118 / eMI3 format; returns it stripped and upper case."""
    text = (value or "").strip()
    if not text:
        return ""
    single_line_text(text)
    text = text.upper()
    if not text.isascii():
        raise ValidationError("An EVSE id has only the letters A-Z, digits and '*'.", code="evse_id")
    match = EVSE_ID_RE.fullmatch(text)
    if match is None or len(text) > EVSE_ID_MAX_LENGTH:
        raise ValidationError(
            "This is not an EVSE id in the ISO 15118 / eMI3 format: country code, operator id (3 letters "
            "or digits), 'E', then the outlet id, e.g. DK*ABC*E123*1 (the '*' are optional).", code="evse_id")
    if match.group(1) not in ISO_COUNTRIES:
        raise ValidationError(f"An EVSE id starts with an ISO 3166 country code; “{match.group(1)}” is not one.",
                              code="evse_id")
    return text


# --- Dates and numbers -----------------------------------------------------------------------------
def bounded_future_date(value: date | None, *, today: date, years: int) -> date | None:
    """A date at most `years` years after `today` (e.g. an access expiry)."""
    if value is None:
        return None
    try:
        horizon = today.replace(year=today.year + years)
    except ValueError:  # 29 February
        horizon = today.replace(year=today.year + years, day=28)
    if value > horizon:
        raise ValidationError(f"Choose a date within {years} years (until {horizon:%d %b %Y}).", code="horizon")
    return value


def bounded_decimal(value, *, limit_digits: int) -> Decimal:
    """`value` (int, Decimal or numeric text) as a finite Decimal whose integer part has fewer
    than `limit_digits` digits; the size is read from the exponent, before any arithmetic (which
    on 1e999999999 would overflow, or spend seconds on a huge int)."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise ValidationError("This is not a number.", code="number")
    if isinstance(value, int) and value.bit_length() > 4 * limit_digits:  # before converting it
        raise ValidationError("This number is out of range.", code="range")
    if isinstance(value, str) and not value.isascii():  # Decimal("١٢") would be 12
        raise ValidationError("This is not a number (use the digits 0-9).", code="number")
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        raise ValidationError("This is not a number.", code="number") from None
    if not number.is_finite():
        raise ValidationError("This is not a number.", code="number")
    if number and number.adjusted() >= limit_digits:
        raise ValidationError("This number is out of range.", code="range")
    return number
