"""Bearer tokens → (operator, API key, scopes), and the scope each operation requires.

`request.auth` is the live access token; `request.operator` its key's operator: every
operation reads and writes that operator's data only, so another operator's ids answer 404."""
from functools import wraps

from ninja.security import HttpBearer

from api import ratelimit, services
from api.errors import ApiError, forbidden, unauthorized
from portal.client_ip import client_ip


class BearerToken(HttpBearer):
    openapi_scheme = "bearer"

    def __call__(self, request):
        token = super().__call__(request)
        if token is None:
            raise unauthorized()
        return token

    def authenticate(self, request, token):
        found = services.authenticate(token)
        if found is None:
            return None
        allowed, limit, remaining, reset = ratelimit.hit(found.key)
        request.rate_limit_headers = {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(remaining),
                                      "RateLimit-Reset": str(reset),
                                      "RateLimit-Policy": f"{limit};w={found.key.rate_limit_interval}"}
        if not allowed:
            raise ApiError(429, "RATE_LIMIT_EXCEEDED", "Too many requests",
                           f"This API key may make {limit} requests per {found.key.rate_limit_interval} s; "
                           f"try again in {reset} s.", headers={"Retry-After": str(reset)})
        services.note_use(found.key, client_ip(request))
        request.api_key, request.operator = found.key, found.key.operator
        return found


def scope(name: str):
    """Declare (and check, server-side) the scope an operation requires."""
    from api.scopes import SCOPES

    if name not in SCOPES:
        raise ValueError(f"unknown scope {name!r}")

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if name not in request.auth.key.scopes:
                raise forbidden(name)
            return view(request, *args, **kwargs)

        wrapped.api_scope = name
        return wrapped

    return decorator
