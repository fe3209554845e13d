"""Query parameter types shared by the routers: text without control characters (PostgreSQL
refuses NUL in a query; CR/LF only make trouble), and ISO 8601 times with a zone, within the
years the portal's date filters accept."""
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from portal.pagination import EARLIEST, LATEST


def _plain(value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters")
    return value


def _iso_time(value):
    if not isinstance(value, str):
        raise ValueError("Invalid date, expected format (ISO8601: yyyy-MM-ddTHH:mm:ssZ)")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise ValueError("Invalid date, expected format (ISO8601: yyyy-MM-ddTHH:mm:ssZ)") from None
    if "T" not in text.upper() or parsed.tzinfo is None:
        raise ValueError("Invalid date, expected format (ISO8601: yyyy-MM-ddTHH:mm:ssZ) with a time zone")
    if not EARLIEST <= parsed.year <= LATEST:
        raise ValueError(f"must be between the years {EARLIEST} and {LATEST}")
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("date-time out of range") from None


def text(max_length: int = 255):
    return Annotated[str, Field(max_length=max_length), AfterValidator(_plain)]


# "2022-05-22T09:30:03Z" (the spec's pattern), also with fractions or an offset; nothing naive.
IsoTime = Annotated[datetime, BeforeValidator(_iso_time)]
