"""The partner API (`/api/v1/`): django-ninja, shaped as the reference spec
(`partner-api-v2024-01-18`): its paths, operation ids, camelCase fields, states, 0-based
`page`/`perPage` pages with their `meta`, and its error body."""
import logging

from django.http import Http404
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError

from api.auth import BearerToken
from api.errors import ApiError, bad_request, not_found, unauthorized
from api.parser import PartnerParser
from api.renderers import DecimalNumberRenderer

logger = logging.getLogger("django.request")


class PartnerApi(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        from api.openapi import document_errors

        return document_errors(super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params), self)

    def create_response(self, request, data, *, status=None, temporal_response=None):
        response = super().create_response(request, data, status=status, temporal_response=temporal_response)
        for name, value in getattr(request, "rate_limit_headers", {}).items():
            response[name] = value
        return response


api = PartnerApi(
    title="CPO Portal partner API", version="2024-01-18", urls_namespace="api", auth=BearerToken(),
    parser=PartnerParser(), renderer=DecimalNumberRenderer(),
    docs_url="/docs", openapi_url="/openapi.json",
    # ninja's own Swagger UI files (/static/ninja/, "ninja" is in INSTALLED_APPS; never a CDN) and
    # no inline script: it runs under the portal's CSP unchanged (tests/e2e/test_api_docs.py). No
    # online validator badge (an image from another site), no token kept in localStorage.
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
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
    if isinstance(exc.__cause__, ApiError):  # ninja wraps what the parser raised: "Cannot parse request body"
        return _error(request, exc.__cause__)
    codes = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "ACCESS_FORBIDDEN", 404: "RESOURCE_NOT_FOUND",
             405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}
    return _error(request, ApiError(exc.status_code, codes.get(exc.status_code, "ERROR"), str(exc.message)))


@api.exception_handler(Exception)
def server_error(request, exc):
    """Anything else: logged with its traceback as Django logs a 500, answered with the error body
    (JSON, like every other answer of the API; not the portal's HTML error page)."""
    from django.core.exceptions import RequestDataTooBig, SuspiciousOperation

    if isinstance(exc, SuspiciousOperation):
        logging.getLogger(f"django.security.{exc.__class__.__name__}").error(str(exc))
        status = 413 if isinstance(exc, RequestDataTooBig) else 400
        return _error(request, ApiError(status, "PAYLOAD_TOO_LARGE" if status == 413 else "BAD_REQUEST",
                                        "Invalid request", str(exc)))
    logger.error("Internal Server Error: %s", request.path, exc_info=exc, extra={"status_code": 500,
                                                                                   "request": request})
    return _error(request, ApiError(500, "INTERNAL_SERVER_ERROR", "Internal server error",
                                    "Something went wrong on our side; try again later."))


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
