"""Bearer tokens → (operator, API key, scopes), and the scope each operation requires.

`request.auth` is the live access token; `request.operator` its key's operator: every
operation reads and writes that operator's data only, so another operator's ids answer 404.

The scope is checked with the token, before ninja reads the parameters and the body: a key
without the scope gets 403 whatever it sends (not a 400 that tells it how the body is checked,
nor a 404 that tells it which ids exist)."""
from functools import wraps

from ninja.decorators import decorate_view
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
        required = getattr(request, "api_scope", None)
        if required is not None and required not in found.key.scopes:
            raise forbidden(required)
        return found


def scope(name: str):
    """Declare (and check, server-side) the scope an operation requires."""
    from api.scopes import SCOPES

    if name not in SCOPES:
        raise ValueError(f"unknown scope {name!r}")

    def announce(run):
        """Wraps ninja's `Operation.run` (before authentication): tells BearerToken the scope."""
        @wraps(run)
        def run_with_scope(request, *args, **kwargs):
            request.api_scope = name
            return run(request, *args, **kwargs)

        return run_with_scope

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if name not in request.auth.key.scopes:  # also when run without BearerToken (defence in depth)
                raise forbidden(name)
            return view(request, *args, **kwargs)

        wrapped.api_scope = name
        return decorate_view(announce)(wrapped)  # under @router.get(...): applied to its Operation

    return decorator
