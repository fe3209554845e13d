"""The spec's offset pages: `page` (from 0) and `perPage` (1–100, default 10), answered as
{"data": [...], "meta": {itemCount, currentPage, perPage, totalPageCount, totalItemCount}}."""
from ninja import Field, Schema

from api.schemas import Out


class PageParams(Schema):
    page: int = Field(0, ge=0, le=1_000_000, description="page number to retrieve (starts with 0)")
    perPage: int = Field(10, ge=1, le=100, description="number of items per page (between 1 and 100, default 10)")


class PageMeta(Out):
    itemCount: int
    currentPage: int
    perPage: int
    totalPageCount: int
    totalItemCount: int


def _pk(row):
    return row["id"] if isinstance(row, dict) else row.pk


PARTS_UP_TO = 1000  # rows before the page's end: past that, one index scan (parts would read too much)


def paged(qs, params: PageParams, serialize, total: int | None = None, parts=None, columns=None) -> dict:
    """One page of `qs` (already ordered, ending with the id; or a list of rows) as the spec's
    response.

    `total`: when the caller knows the count without a COUNT over every row (the rollups).
    `parts` (field, values): only rows whose field is one of the values — `qs` is not filtered on
    it — read per value from its own index range (`portal.pagination._rows`: a site's charges).
    `columns`: the page's rows as dicts of these (`values()`, joins included) — read for the
    page's rows only. A deep page reads the ids of its rows first (an index range, no joins for
    the rows skipped), then those rows alone."""
    from portal.pagination import _rows

    if isinstance(qs, list):
        total = len(qs) if total is None else total
        start = params.page * params.perPage
        return _answer([serialize(row) for row in qs[start:start + params.perPage]], params, total)
    order = list(qs.query.order_by)
    start, end = params.page * params.perPage, (params.page + 1) * params.perPage
    if parts is not None and not (end <= PARTS_UP_TO and 1 < len(parts[1])):
        qs, parts = qs.filter(**{f"{parts[0]}__in": parts[1]}), None
    if total is None:
        total = (qs.filter(**{f"{parts[0]}__in": parts[1]}) if parts is not None else qs).count()
    rows = []
    if start < total:
        shaped = qs.values(*columns) if columns else qs
        if parts is not None:
            rows = _rows(shaped, order, end, parts)[start:]
        elif start:
            # the ids first (an index range), then their rows by primary key, put in the ids'
            # order here (ordered in SQL, PostgreSQL walked the list's index from the start again)
            ids = list(qs.values_list("pk", flat=True)[start:end])
            found = {_pk(row): row for row in shaped.filter(pk__in=ids).order_by()} if ids else {}
            rows = [found[pk] for pk in ids if pk in found]
        else:
            rows = list(shaped[:end])
    return _answer([serialize(row) for row in rows], params, total)


def _answer(rows, params, total) -> dict:
    return {"data": rows, "meta": {"itemCount": len(rows), "currentPage": params.page, "perPage": params.perPage,
                                   "totalPageCount": -(-total // params.perPage), "totalItemCount": total}}
