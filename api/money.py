"""Money and currencies as the spec writes them: amounts are `number` (from Decimal, digit for
digit: api.renderers), currencies are objects ({identifier: "dkk", name, decimals}); ids of
currencies and countries are their ISO 4217 / ISO 3166 numeric codes (the portal has no tables
of its own for them)."""
from decimal import Decimal
from functools import cache
from typing import Annotated

import pycountry
from ninja import Schema
from pydantic import WithJsonSchema

from portal.money import MINOR_UNITS

# A Decimal in, a JSON number out (never a float in between).
Money = Annotated[Decimal, WithJsonSchema({"type": "number", "format": "double"})]


class Currency(Schema):  # the spec's Currency
    identifier: str
    name: str
    decimals: int


class CurrencyDto(Schema):  # the spec's CurrencyDto (invoices)
    id: int | None = None
    identifier: str | None = None
    name: str | None = None
    decimals: int


@cache
def currency_id(code: str) -> int | None:
    found = pycountry.currencies.get(alpha_3=code.upper())
    return int(found.numeric) if found and found.numeric else None


@cache
def country_id(code: str) -> int | None:
    found = pycountry.countries.get(alpha_2=code.upper()) if code else None
    return int(found.numeric) if found and getattr(found, "numeric", None) else None


@cache
def currency(code: str) -> dict:
    found = pycountry.currencies.get(alpha_3=code.upper())
    return {"identifier": code.lower(), "name": found.name if found else code.upper(),
            "decimals": MINOR_UNITS.get(code.upper(), 2)}


def currency_dto(code: str) -> dict:
    return {"id": currency_id(code), **currency(code)}
