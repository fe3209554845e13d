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


PARTS_UP_TO = 1000  # rows before the page's end: past that, one index scan (parts would read too much)


def paged(qs, params: PageParams, serialize, total: int | None = None, parts=None) -> dict:
    """One page of `qs` (already ordered, ending with the id) as the spec's response.

    `total`: when the caller knows the count without a COUNT over every row (the rollups).
    `parts` (field, values): only rows whose field is one of the values — `qs` is not filtered on
    it — read per value from its own index range (`portal.pagination._rows`: a site's charges).
    A deep page reads the ids of its rows first (an index range, no joins for the rows skipped),
    then those rows alone."""
    from portal.pagination import _rows

    order = list(qs.query.order_by)
    start, end = params.page * params.perPage, (params.page + 1) * params.perPage
    if total is None:
        total = (qs.filter(**{f"{parts[0]}__in": parts[1]}) if parts is not None else qs).count()
    rows = []
    if start < total:
        if parts is not None and end <= PARTS_UP_TO:
            rows = _rows(qs, order, end, parts)[start:]
        else:
            if parts is not None:
                qs = qs.filter(**{f"{parts[0]}__in": parts[1]})
            if start:
                ids = list(qs.values_list("pk", flat=True)[start:end])
                qs = qs.filter(pk__in=ids)[:len(ids)] if ids else qs.none()
            else:
                qs = qs[:end]
            rows = list(qs)
    rows = [serialize(row) for row in rows]
    return {"data": rows, "meta": {"itemCount": len(rows), "currentPage": params.page, "perPage": params.perPage,
                                   "totalPageCount": -(-total // params.perPage), "totalItemCount": total}}
