"""Keyset ("seek") pagination: a page is the rows after (or before) the last row seen, in the
list's order, so the last page of a million rows costs what the first does (an index range scan
of 51 rows), where OFFSET would read and join every row it skips.

The order is a list of model fields that together are unique (the last is the primary key), e.g.
["-started_at", "-id"]. Links carry the boundary row's values as a cursor (`after=` / `before=`,
base64 of a JSON list); `last=1` is the last page. The cursor is not trusted: it is parsed with the
fields' own `to_python` and only ever compared with, inside the caller's queryset (which already
holds the operator scope), so a hand-made cursor can only move within what the user may see.
"""
import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

PAGE_SIZE = 50
EARLIEST, LATEST = 1970, 2999  # the years the portal's date filters accept (portal.forms)
CURSOR_PARAMS = ("after", "before", "last", "page")


class BadCursor(ValueError):
    pass


@dataclass
class SeekPage:
    object_list: list
    has_next: bool
    has_previous: bool
    next_cursor: str = ""
    previous_cursor: str = ""
    count: int | None = None  # rows in all, when the caller knows it cheaply
    error: str = ""  # a link that could not be read: the first page is shown instead
    at_start: bool = True  # the first page as asked for (no cursor): no "First" link
    extra: dict = field(default_factory=dict)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    @property
    def is_paged(self) -> bool:
        return self.has_next or self.has_previous


def _encode(values) -> str:
    raw = json.dumps([v.isoformat() if hasattr(v, "isoformat") else (str(v) if not isinstance(v, int) else v)
                      for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


MAX_CURSOR = 512  # a real cursor is ~60 characters


def _decode(model, names, token: str) -> list:
    if len(token) > MAX_CURSOR:  # (also: deeply nested JSON would raise RecursionError)
        raise BadCursor("too long")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("unreadable") from exc
    if not isinstance(values, list) or len(values) != len(names):
        raise BadCursor("wrong shape")
    out = []
    for name, value in zip(names, values, strict=True):
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise BadCursor("wrong type")
        try:
            parsed = model._meta.get_field(name).to_python(value)
        except (ValidationError, ValueError, TypeError, OverflowError) as exc:
            raise BadCursor("bad value") from exc
        if parsed is None:
            raise BadCursor("empty value")
        if isinstance(parsed, datetime):  # the query compares in UTC: a naive or far-out value cannot be
            if parsed.tzinfo is None or not EARLIEST <= parsed.year <= LATEST:
                raise BadCursor("bad time")
        out.append(parsed)
    return out


def _beyond(order, values, forward: bool) -> Q:
    """Rows strictly after `values` in `order` (forward) or strictly before them (not forward).
    The first key also gets a plain bound (≤ or ≥), so that the database scans the index from the
    cursor on instead of filtering from the start."""
    q = Q()
    prefix = {}
    for spec, value in zip(order, values, strict=True):
        name, descending = spec.lstrip("-"), spec.startswith("-")
        op = "lt" if descending == forward else "gt"
        q |= Q(**prefix, **{f"{name}__{op}": value})
        prefix[name] = value
    first, descending = order[0].lstrip("-"), order[0].startswith("-")
    bound = "lte" if descending == forward else "gte"
    return Q(**{f"{first}__{bound}": values[0]}) & q


def _reverse(order):
    return [s[1:] if s.startswith("-") else f"-{s}" for s in order]


MAX_PARTS = 100  # more parts than this: one scan of the whole order reaches the page soon enough
_PART = -7_213_004_917  # a stand-in value for the part's key in the compiled statement


def _rows(qs, order, limit, parts):
    """The first `limit` rows of `qs` in `order`, restricted to `parts` (field, values) when given,
    e.g. to the charges of a site's 20 charge points. A few parts are read each from its own
    index range (its first `limit` ids), and the page is taken from those: the top of the whole is
    within the tops of its parts. Filtering the whole order instead, PostgreSQL walks the
    operator's index and skips every row of the other parts (20 000 rows for a site among 500)."""
    qs = qs.order_by(*order)
    if parts is not None:
        field, values = parts
        if 1 < len(values) <= MAX_PARTS:
            names = [spec.lstrip("-") for spec in order]
            columns = [connection.ops.quote_name(qs.model._meta.get_field(n).column) for n in names]
            sql, params = qs.filter(**{field: _PART}).values_list(*names)[:limit].query.sql_with_params()
            pieces = sql.split("%s")
            if list(params).count(_PART) == 1 and names[-1] in ("id", "pk") and len(pieces) == len(params) + 1:
                at = list(params).index(_PART)
                by = ", ".join(f"{c} {'DESC' if spec.startswith('-') else 'ASC'}"
                               for c, spec in zip(columns, order, strict=True))
                if connection.vendor == "postgresql":  # one subquery, planned once, run per part
                    inner = "%s".join(pieces[:at + 1]) + "parts.v" + "%s".join(pieces[at + 1:])
                    tops = f"unnest(%s::bigint[]) AS parts(v) CROSS JOIN LATERAL ({inner}) AS part"
                    args = [list(values), *params[:at], *params[at + 1:]]
                else:
                    tops = "(" + " UNION ALL ".join(f"SELECT * FROM ({sql}) AS part{n}"
                                                    for n in range(len(values))) + ") AS parts"
                    args = [a for v in values for a in (*params[:at], v, *params[at + 1:])]
                # the page's ids from the parts' tops (index ranges only), then those rows alone
                # (every id comes from one of the parts: no other filter on the field is needed)
                return list(qs.filter(pk__in=RawSQL(f"SELECT {columns[-1]} FROM {tops} ORDER BY {by} "
                                                    f"LIMIT {int(limit)}", args))[:limit])
        qs = qs.filter(**{f"{field}__in": values})
    return list(qs[:limit])


def seek_page(request, qs, order, *, size=PAGE_SIZE, count=None, parts=None) -> SeekPage:
    """The page of `qs` (ordered by `order`) that the request's after / before / last asks for.
    `parts` (field, values): only the rows whose field is one of the values (see `_rows`): `qs`
    itself is not filtered on that field, so that each part reads its own index range."""
    model, names, params = qs.model, [s.lstrip("-") for s in order], request.GET
    try:
        if params.get("after"):
            rows = _rows(qs.filter(_beyond(order, _decode(model, names, params["after"]), True)), order, size + 1,
                         parts)
            return _page(rows, names, size, count, more_before=True, more_after=len(rows) > size)
        if params.get("before"):
            rows = _rows(qs.filter(_beyond(order, _decode(model, names, params["before"]), False)),
                         _reverse(order), size + 1, parts)
            return _page(rows[:size][::-1], names, size, count, more_before=len(rows) > size, more_after=True)
    except BadCursor:
        rows = _rows(qs, order, size + 1, parts)
        page = _page(rows, names, size, count, more_before=False, more_after=len(rows) > size)
        page.error = "That page link could not be read; this is the first page."
        return page
    if params.get("last"):
        rows = _rows(qs, _reverse(order), size + 1, parts)
        return _page(rows[:size][::-1], names, size, count, more_before=len(rows) > size, more_after=False)
    rows = _rows(qs, order, size + 1, parts)
    page = _page(rows, names, size, count, more_before=False, more_after=len(rows) > size)
    page.at_start = True
    return page


def _key(row, names):
    return [getattr(row, n) for n in names]


def _page(rows, names, size, count, *, more_before, more_after) -> SeekPage:
    rows = rows[:size]
    return SeekPage(rows, has_next=more_after and bool(rows), has_previous=more_before and bool(rows),
                    next_cursor=_encode(_key(rows[-1], names)) if rows else "",
                    previous_cursor=_encode(_key(rows[0], names)) if rows else "", count=count, at_start=False)


def query_without_cursor(request) -> str:
    """The request's query string (the filters) without the paging parameters."""
    query = request.GET.copy()
    for name in CURSOR_PARAMS:
        query.pop(name, None)
    return query.urlencode()
