"""Money and account-number presentation. Amounts are Decimal with an ISO 4217 currency."""
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

# Minor units of the currencies we operate in; anything else defaults to 2.
MINOR_UNITS = {"JPY": 0, "ISK": 0, "KRW": 0}


@cache  # a handful of currencies; called for every amount of an import
def minor_unit(currency: str) -> Decimal:
    digits = MINOR_UNITS.get(currency.upper(), 2)
    return Decimal(1).scaleb(-digits)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round once, half-up, to the currency's minor unit."""
    if isinstance(amount, float):
        raise TypeError("Money is Decimal, never float.")
    return Decimal(amount).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def format_money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "—"
    value = quantize(amount, currency)
    sign = "-" if value < 0 else ""
    whole, _, frac = f"{abs(value):f}".partition(".")
    whole = f"{int(whole):,}".replace(",", "\u202f")  # narrow no-break space as thousands separator
    return f"{sign}{whole}{'.' + frac if frac else ''} {currency}"


def format_iban(iban: str) -> str:
    """Groups of four, as printed on bank statements: DK50 0040 0440 1162 43."""
    compact = iban.replace(" ", "").upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def mask_iban(iban: str) -> str:
    """All but the last four characters hidden (the country code kept): "DK•• •••• 6243"."""
    compact = iban.replace(" ", "").upper()
    if len(compact) <= 6:
        return "•" * len(compact)
    return f"{compact[:2]}•• •••• {compact[-4:]}"

