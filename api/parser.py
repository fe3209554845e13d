"""The partner API's request parser: ninja's JSON and query parsing, refusing NUL characters
(400) in any string of the body (keys too) or the query, for every operation. PostgreSQL text
cannot hold NUL: such a string reached a query and answered 500 (`POST /auth/token` with
"clientId": "a\\u0000"), where the portal's forms refuse it (Django's ProhibitNullCharactersValidator)."""
from ninja.parser import Parser

from api.errors import bad_request

NUL = "\x00"
MESSAGE = "Null characters are not allowed."


def _nul_at(value, where=""):
    """The dotted place of the first string holding NUL in `value`, or None."""
    if isinstance(value, str):
        return where or "body" if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            place = f"{where}.{key}" if where else str(key)
            if NUL in str(key):
                return place
            found = _nul_at(item, place)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_at(item, f"{where}.{index}" if where else str(index))
            if found:
                return found
    return None


def _refuse(field):
    return bad_request(f"{field}: {MESSAGE}", context=[{"field": field, "message": MESSAGE}])


class PartnerParser(Parser):
    def parse_body(self, request):
        data = super().parse_body(request)
        field = _nul_at(data)
        if field:
            raise _refuse(field)
        return data

    def parse_querydict(self, data, list_fields, request):
        for key, values in data.lists():
            if NUL in key or any(NUL in v for v in values):
                raise _refuse(key.replace(NUL, "\\u0000"))
        return super().parse_querydict(data, list_fields, request)
