"""Authentication and the consumer, as the spec: `POST /auth/token`, `POST /auth/refresh`,
`GET /consumers/me`."""
from datetime import datetime

from ninja import Router, Schema

from api import ratelimit, services
from api.errors import ApiError
from portal.client_ip import client_ip

router = Router(tags=["Authentication"])


class TokenRequest(Schema):
    clientId: str
    clientSecret: str


class RefreshRequest(Schema):
    refreshToken: str


class Token(Schema):
    accessToken: str
    refreshToken: str
    accessTokenExpirationDate: datetime
    refreshTokenExpirationDate: datetime


class Consumer(Schema):
    name: str
    operatorId: int
    operatorIds: list[int]
    teamIds: list[int]
    clientId: str
    rateLimit: int
    rateLimitIntervalInSeconds: int
    scopes: list[str]
    createdAt: datetime
    updatedAt: datetime | None = None


def _token(tokens) -> dict:
    return {"accessToken": tokens.access, "refreshToken": tokens.refresh,
            "accessTokenExpirationDate": tokens.access_expires, "refreshTokenExpirationDate": tokens.refresh_expires}


def _refused(exc):
    return ApiError(401, exc.code, exc.message)


def _too_many(wait: int, readable: str):
    return ApiError(429, "RATE_LIMIT_EXCEEDED", "Too many requests", readable, headers={"Retry-After": str(wait)})


def _count_for_key(request):
    """Signing in counts against the key's own rate limit, as its other requests do."""
    def check(key):
        allowed, limit, remaining, reset = ratelimit.hit(key)
        request.rate_limit_headers = {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(remaining),
                                      "RateLimit-Reset": str(reset),
                                      "RateLimit-Policy": f"{limit};w={key.rate_limit_interval}"}
        if not allowed:
            raise _too_many(reset, f"This API key may make {limit} requests per {key.rate_limit_interval} s; "
                                   f"try again in {reset} s.")
    return check


def _signing_in(request, client_id: str):
    """Refuse at once when this address or client id failed too often lately."""
    wait = ratelimit.failures_exceeded(client_ip(request) or "", client_id)
    if wait:
        raise _too_many(wait, f"Too many refused sign-ins; try again in {wait} s.")


@router.post("/auth/token", response=Token, auth=None, operation_id="get-access-token-with-client-credentials",
             summary="Obtain your `accessToken`")
def get_access_token(request, body: TokenRequest):
    client_id = body.clientId if body.clientId.isascii() else ""
    _signing_in(request, client_id[:200])
    try:
        return _token(services.token_for_credentials(client_id=body.clientId, client_secret=body.clientSecret,
                                                     before_issue=_count_for_key(request)))
    except services.TokenRefused as exc:
        ratelimit.failed(client_ip(request) or "", client_id[:200])
        raise _refused(exc) from None


@router.post("/auth/refresh", response=Token, auth=None, operation_id="get-access-token-with-refresh-token",
             summary="Obtain your `accessToken` with a `refreshToken`")
def refresh_access_token(request, body: RefreshRequest):
    _signing_in(request, "")
    try:
        return _token(services.token_refresh(refresh_token=body.refreshToken, before_issue=_count_for_key(request)))
    except services.TokenRefused as exc:
        ratelimit.failed(client_ip(request) or "", "")
        raise _refused(exc) from None


@router.get("/consumers/me", response=Consumer, operation_id="get-current-consumer", tags=["Consumer"],
            summary="Obtain information about current API Consumer")
def current_consumer(request):
    key = request.api_key
    return {"name": key.name, "operatorId": key.operator_id, "operatorIds": [key.operator_id],
            "teamIds": [key.operator_id], "clientId": key.client_id, "rateLimit": key.rate_limit,
            "rateLimitIntervalInSeconds": key.rate_limit_interval, "scopes": key.scopes,
            "createdAt": key.created_at, "updatedAt": key.updated_at}
