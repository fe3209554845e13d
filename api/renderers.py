"""JSON for the partner API, with money as JSON numbers written digit for digit.

The spec types amounts as `number`; the portal's money is `Decimal`. Converting to float would
print most amounts right and some wrong (and is never done with money here); Django's encoder
writes a Decimal as a string. So each Decimal is swapped for a placeholder carrying a random
per-response nonce (no stored text can guess it), the data is encoded, and every placeholder is
replaced by the Decimal's own digits (`format(d, "f")`: no exponent, scale kept: 125.00)."""
import json
import re
import secrets
from decimal import Decimal

from ninja.renderers import JSONRenderer


class PartnerJSONRenderer(JSONRenderer):
    def render(self, request, data, *, response_status):
        numbers: list[str] = []
        nonce = secrets.token_hex(16)

        def swap(value):
            if isinstance(value, Decimal):
                if not value.is_finite():
                    raise ValueError(f"not a finite amount: {value}")
                numbers.append(format(value, "f"))
                return f"{nonce}:{len(numbers) - 1}"
            if isinstance(value, dict):
                return {k: swap(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [swap(v) for v in value]
            return value

        text = json.dumps(swap(data), cls=self.encoder_class, **self.json_dumps_params)
        if not numbers:
            return text
        return re.sub(f'"{nonce}:([0-9]+)"', lambda m: numbers[int(m.group(1))], text)
