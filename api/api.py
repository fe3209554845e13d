"""The partner API (`/api/v1/`): django-ninja, shaped as the reference spec
(`partner-api-v2024-01-18`): its paths, operation ids, camelCase fields, states, 0-based
`page`/`perPage` pages with their `meta`, and its error body."""
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from api.auth import BearerToken
from api.errors import ApiError, bad_request, not_found, unauthorized
from api.renderers import DecimalNumberRenderer


class PartnerApi(NinjaAPI):
    def create_response(self, request, data, *, status=None, temporal_response=None):
        response = super().create_response(request, data, status=status, temporal_response=temporal_response)
        for name, value in getattr(request, "rate_limit_headers", {}).items():
            response[name] = value
        return response


api = PartnerApi(
    title="CPO Portal partner API", version="2024-01-18", urls_namespace="api", auth=BearerToken(),
    docs_url="/docs", openapi_url="/openapi.json", renderer=DecimalNumberRenderer(),
    description="Monta-compatible partner API for an operator's data. Authenticate with `POST /api/v1/auth/token` "
                "(the API key's client id and secret), then send `Authorization: Bearer <accessToken>`.")


def _error(request, exc: ApiError):
    response = api.create_response(request, exc.body(), status=exc.http_status)
    for name, value in exc.headers.items():
        response[name] = value
    return response


@api.exception_handler(ApiError)
def api_error(request, exc):
    return _error(request, exc)


def _field(loc) -> str | None:
    """An error's field as the API names it: ("query", "perPage") → perPage; a body's loc also
    holds the body parameter's name: ("body", "body", "address", "zipCode") → address.zipCode."""
    loc = tuple(loc)
    loc = loc[2:] if loc[:1] == ("body",) and len(loc) > 2 else loc[1:]
    return ".".join(str(p) for p in loc) or None


@api.exception_handler(ValidationError)
def validation_error(request, exc):
    problems = [{"field": _field(e.get("loc", ())), "message": e.get("msg")} for e in exc.errors]
    first = problems[0] if problems else {"field": None, "message": "Invalid request"}
    readable = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return _error(request, bad_request(readable, context=problems))


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    return _error(request, unauthorized())


@api.exception_handler(Http404)
def missing(request, exc):
    return _error(request, not_found())


@api.exception_handler(HttpError)
def http_error(request, exc):
    codes = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "ACCESS_FORBIDDEN", 404: "RESOURCE_NOT_FOUND",
             405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}
    return _error(request, ApiError(exc.status_code, codes.get(exc.status_code, "ERROR"), str(exc.message)))


def _routers():
    from api.routers import auditlog, auth, charge_points, charges, invoices, operators, sites, wallets

    api.add_router("/", auth.router)
    api.add_router("/", operators.router)
    api.add_router("/", sites.router)
    api.add_router("/", charge_points.router)
    api.add_router("/", charges.router)
    api.add_router("/", wallets.wallets_router)
    api.add_router("/", wallets.router)
    api.add_router("/", invoices.router)
    api.add_router("/", auditlog.router)


_routers()
