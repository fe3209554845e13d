"""Helpers shared by the routers: form validation as the portal does it (the same forms), the
operator's rows by id (404 otherwise), camelCase field names for form errors, and the date-time
type of parameters and bodies."""
from datetime import UTC, datetime
from typing import Annotated

from django.utils import timezone
from pydantic import AfterValidator

from api.errors import bad_request, not_found
from portal.errors import DomainError


def _in_utc(value: datetime) -> datetime:
    """Aware and in UTC, or a validation error (400). PostgreSQL refuses offsets past ±15:59
    ("time zone displacement out of range": a 500 for `fromUpdatedDate=…-23:59`), and a time near
    year 1 or 9999 may not convert at all."""
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("date-time out of range") from None


# A date-time that the API takes (query parameters, body fields): ISO 8601, converted to UTC.
DateTime = Annotated[datetime, AfterValidator(_in_utc)]


def owned(qs, pk, what):
    """The row `pk` of `qs` (already the operator's), or the spec's 404."""
    if not isinstance(pk, int) or not 0 < pk < 2**63:
        raise not_found(what)
    row = qs.filter(pk=pk).first()
    if row is None:
        raise not_found(what)
    return row


def form_errors(form, names: dict) -> Exception:
    """A bound, invalid form as the spec's 400: every field's messages in `context`, the first
    one readable. `names`: form field → API field (camelCase)."""
    problems = [{"field": names.get(field, field) if field != "__all__" else None, "message": str(message)}
                for field, messages in form.errors.items() for message in messages]
    first = problems[0]
    return bad_request(f"{first['field']}: {first['message']}" if first["field"] else first["message"], problems)


def domain_error(exc: DomainError, names: dict) -> Exception:
    field = names.get(exc.field, exc.field) if exc.field else None
    return bad_request(f"{field}: {exc.message}" if field else exc.message,
                       [{"field": field, "message": exc.message}])


def check_team(request, **given):
    """teamId/operatorId filters: this API key's operator only (another id: a 400 naming it)."""
    for name, value in given.items():
        if value is not None and value != request.operator.pk:
            raise bad_request(f"{name}: not this API key's operator.",
                              [{"field": name, "message": "Not this API key's operator."}])
