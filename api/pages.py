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


def paged(qs, params: PageParams, serialize, total: int | None = None) -> dict:
    """One page of `qs` (already ordered) as the spec's response; `total` when the caller knows
    the count without a COUNT over every row (e.g. from the rollups)."""
    total = qs.count() if total is None else total
    start = params.page * params.perPage
    rows = [serialize(row) for row in qs[start:start + params.perPage]] if start < total else []
    return {"data": rows, "meta": {"itemCount": len(rows), "currentPage": params.page, "perPage": params.perPage,
                                   "totalPageCount": -(-total // params.perPage), "totalItemCount": total}}
