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


class Numbers:
    """Amounts as JSON numbers in an answer written by pydantic-core (`fast_json`, ~4 × faster
    than the standard encoder for a page of 100 charges): the serializer writes each Decimal as a
    string tagged with a token made for this answer, and `fast_json` puts the digits back."""

    def __init__(self):
        self.token = secrets.token_hex(8)

    def tag(self, value):
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"not an amount: {value!r}")
        return f"{self.token}{value:f}"

    def untag(self, text: str) -> str:
        pieces = text.split(f'"{self.token}')
        return pieces[0] + "".join(piece.replace('"', "", 1) for piece in pieces[1:])


def fast_json(request, data, numbers: Numbers, status: int = 200):
    from django.http import HttpResponse
    from pydantic_core import to_json

    response = HttpResponse(numbers.untag(to_json(data).decode()), status=status, content_type="application/json")
    for name, value in getattr(request, "rate_limit_headers", {}).items():
        response[name] = value
    return response
