"""Authentication and the consumer, as the spec: `POST /auth/token`, `POST /auth/refresh`,
`GET /consumers/me`."""
from datetime import datetime

from ninja import Router, Schema

from api import services
from api.errors import ApiError

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


@router.post("/auth/token", response=Token, auth=None, operation_id="get-access-token-with-client-credentials",
             summary="Obtain your `accessToken`")
def get_access_token(request, body: TokenRequest):
    try:
        return _token(services.token_for_credentials(client_id=body.clientId, client_secret=body.clientSecret))
    except services.TokenRefused as exc:
        raise _refused(exc) from None


@router.post("/auth/refresh", response=Token, auth=None, operation_id="get-access-token-with-refresh-token",
             summary="Obtain your `accessToken` with a `refreshToken`")
def refresh_access_token(request, body: RefreshRequest):
    try:
        return _token(services.token_refresh(refresh_token=body.refreshToken))
    except services.TokenRefused as exc:
        raise _refused(exc) from None


@router.get("/consumers/me", response=Consumer, operation_id="get-current-consumer", tags=["Consumer"],
            summary="Obtain information about current API Consumer")
def current_consumer(request):
    key = request.api_key
    return {"name": key.name, "operatorId": key.operator_id, "operatorIds": [key.operator_id],
            "teamIds": [key.operator_id], "clientId": key.client_id, "rateLimit": key.rate_limit,
            "rateLimitIntervalInSeconds": key.rate_limit_interval, "scopes": key.scopes,
            "createdAt": key.created_at, "updatedAt": key.updated_at}
