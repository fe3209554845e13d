"""The one error body of the partner API, as the reference spec writes it:
{"status": "NOT_FOUND", "message": …, "readableMessage": …, "errorCode": "RESOURCE_NOT_FOUND", "context": …}."""
from http import HTTPStatus


class ApiError(Exception):
    def __init__(self, http_status: int, error_code: str, message: str, readable: str | None = None,
                 context=None, headers: dict | None = None):
        super().__init__(message)
        self.http_status, self.error_code, self.message = http_status, error_code, message
        self.readable, self.context, self.headers = readable or message, context, headers or {}

    def body(self) -> dict:
        body = {"status": HTTPStatus(self.http_status).name, "message": self.message,
                "readableMessage": self.readable, "errorCode": self.error_code}
        if self.context is not None:
            body["context"] = self.context
        return body


def not_found(what="entity") -> ApiError:
    return ApiError(404, "RESOURCE_NOT_FOUND", "Requested entity/entity provided in body was not found",
                    f"No such {what}.")


def forbidden(scope: str) -> ApiError:
    return ApiError(403, "ACCESS_FORBIDDEN", "Operator doesn't have access to resource",
                    f"This API key does not have the scope `{scope}`.", context={"requiredScope": scope})


def bad_request(readable: str, context=None) -> ApiError:
    return ApiError(400, "BAD_REQUEST", "Invalid request", readable, context)


def unauthorized(code="INVALID_ACCESS_TOKEN", message="Invalid or expired `accessToken`.") -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"})
