"""JSON for the partner API: money and energy (Decimal) as JSON *numbers* with their exact
digits (`100.00`, `20.125`), never a float's rounding nor a string.

The standard encoder cannot write a raw number for an object it does not know, so each Decimal
is first written as a string tagged with a token made for this response (no stored text can
contain it), and the tagged strings are then replaced by their digits."""
import json
import secrets
from decimal import Decimal

from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder


def dumps(data) -> str:
    token = secrets.token_hex(8)
    fallback = NinjaJSONEncoder().default

    def default(value):
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"not a JSON number: {value}")
            return f"{token}{value:f}"
        return fallback(value)

    text = json.dumps(data, cls=NinjaJSONEncoder, default=default)
    pieces = text.split(f'"{token}')
    if len(pieces) == 1:
        return text
    # each piece after the first starts with the digits and the closing quote (a faster pass over
    # a 100-charge page than a regex substitution)
    return pieces[0] + "".join(piece.replace('"', "", 1) for piece in pieces[1:])


class DecimalNumberRenderer(JSONRenderer):
    def render(self, request, data, *, response_status):
        return dumps(data)
