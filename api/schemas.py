"""Base classes of the API's schemas. Answers are plain pydantic models (`Out`): ninja's `Schema`
reads every field through its Django-object getter, which took 14 ms to check 100 charge points
built as dicts already; pydantic-core itself takes ~1 ms. Request bodies and query parameters use
ninja's `Schema` (`In`)."""
from ninja import Schema
from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


In = Schema


def respond(request, model: type[BaseModel], data, status: int = 200):
    """`data` checked against `model` and written as JSON by pydantic-core (Rust), not by ninja's
    Python encoder: for list answers of 100 rows. The operation still declares `response=model`
    for the OpenAPI schema; the rate limit headers are added as for every answer."""
    from django.http import HttpResponse

    body = model.__pydantic_validator__.validate_python(data)
    response = HttpResponse(model.__pydantic_serializer__.to_json(body), status=status,
                            content_type="application/json")
    for name, value in getattr(request, "rate_limit_headers", {}).items():
        response[name] = value
    return response
