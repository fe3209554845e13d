"""Our OpenAPI document, completed with the error answers every operation gives (as the
reference spec documents them): the spec's error body for 400 (parameters or a body to check),
401 and 429 (a token), 403 (a scope) and 404 (an id in the path or a filter). Added for every operation of
the API, whichever router declared it, unless the operation declares that status itself."""

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "description": "The partner API's error body.",
    "required": ["status", "message", "readableMessage", "errorCode"],
    "properties": {
        "status": {"type": "string", "description": "The HTTP status' name, e.g. NOT_FOUND", "example": "NOT_FOUND"},
        "message": {"type": "string", "example": "Requested entity/entity provided in body was not found"},
        "readableMessage": {"type": "string", "example": "No such charge point."},
        "errorCode": {"type": "string", "example": "RESOURCE_NOT_FOUND"},
        "context": {"description": "More about the error, e.g. each invalid field"},
    },
}
DESCRIPTIONS = {
    "400": "The request is invalid",
    "401": "No, an invalid or an expired access token",
    "403": "The API key does not have the operation's scope",
    "404": "Entity with the provided id was not found",
    "429": "Too many requests for this API key: see Retry-After",
}
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def views_by_operation_id(api) -> dict:
    """operationId → the view function, for every operation mounted on `api` (ninja 1.7)."""
    views = {}
    for bound in api._get_bound_routers():
        for path_view in bound.path_operations.values():
            for operation in path_view.operations:
                views[operation.operation_id] = operation.view_func
    return views


def document_errors(schema: dict, api) -> dict:
    views = views_by_operation_id(api)
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            params = operation.get("parameters") or []
            statuses = []
            if params or operation.get("requestBody"):
                statuses.append("400")
            if operation.get("security"):
                statuses += ["401", "429"]
            elif str(operation.get("operationId", "")).startswith("get-access-token"):
                statuses.append("401")  # the token operations: credentials or refresh token refused
            if getattr(views.get(operation.get("operationId")), "api_scope", None):
                statuses.append("403")
            if any(p.get("in") == "path" for p in params) or operation.get("security"):
                statuses.append("404")  # (an id in the path, or one in a filter: as the spec, on every operation)
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses.setdefault(status, {**ref, "description": DESCRIPTIONS[status]})
    return schema
