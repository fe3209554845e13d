"""Operators: `GET /operators`, `GET /operators/{id}`. An API key belongs to one operator: the
list holds that one, and any other id answers 404."""
from ninja import Query, Router, Schema

from api.auth import scope
from api.common import owned
from api.pages import PageMeta, PageParams, paged
from api.routers.charge_points import OperatorRef, operator_ref
from operators.models import Operator

router = Router(tags=["Operators"])


class OperatorPage(Schema):
    data: list[OperatorRef]
    meta: PageMeta


def _operators(request):
    return Operator.objects.filter(pk=request.operator.pk)


@router.get("/operators", response=OperatorPage, operation_id="get-operators", summary="Retrieve operators")
@scope("operators")
def get_operators(request, params: Query[PageParams]):
    return paged([request.operator], params, operator_ref, total=1)  # no query: the key's operator


@router.get("/operators/{id}", response=OperatorRef, operation_id="get-operator", summary="Retrieve an operator")
@scope("operators")
def get_operator(request, id: int):  # noqa: A002 (the spec's name)
    return operator_ref(owned(_operators(request), id, "operator"))
