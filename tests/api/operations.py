"""The partner API's operations as the tests see them, generically: every operation registered in
`api.api.api` (whichever router added it), read from ninja's own OpenAPI schema and its bound
routers, and the reference spec they must follow. The contract, auth and fuzz tests iterate
these, so a new router's operations are covered without editing the tests."""
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

REFERENCE_SPEC = Path("/work/shared/reference/partner-api-v2024-01-18.openapi.yaml")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# The operations that need a token but no scope: the consumer reads itself.
SCOPELESS = {"get-current-consumer"}


def reference_spec_path() -> Path:
    """The spec ships in shared/ (beside the repo in CI: `../shared/reference/...`)."""
    here = Path(__file__).resolve()
    for candidate in (REFERENCE_SPEC, here.parents[3] / "shared" / "reference" / REFERENCE_SPEC.name):
        if candidate.exists():
            return candidate
    return REFERENCE_SPEC


# The spec's generator wrote Kotlin's `JsonNullable<T>` (a PATCH field that may be left out, sent
# or sent as null) as an object `{"present": boolean}`; on the wire it is the T itself, or null.
JSON_NULLABLE = {
    "JsonNullable_String_": {"type": "string", "nullable": "true"},
    "JsonNullable_Set_Long__": {"type": "array", "items": {"type": "integer"}, "nullable": "true"},
    "JsonNullable_JsonNode_": {"nullable": "true"},
}


@functools.cache
def reference_spec() -> dict:
    """The reference spec, every scalar a string (BaseLoader: its unquoted `info.version` date
    stays a string; `nullable: true` reads "true"), with JSON_NULLABLE's wire types."""
    import yaml

    with reference_spec_path().open(encoding="utf-8") as f:
        spec = yaml.load(f, Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))  # noqa: S506 (builds no objects)
    schemas = spec["components"]["schemas"]
    for name, wire in JSON_NULLABLE.items():
        if name in schemas:
            schemas[name] = wire
    return spec


@functools.cache
def our_schema() -> dict:
    from api.api import api

    return api.get_openapi_schema()


@dataclass(frozen=True)
class Op:
    method: str  # lower case, as in OpenAPI
    path: str  # the OpenAPI path, e.g. /api/v1/charge-points/{chargePointId}
    operation_id: str
    spec: dict  # our OpenAPI operation object
    view: object  # the view function (its `api_scope`, set by api.auth.scope)

    @property
    def needs_auth(self) -> bool:
        return bool(self.spec.get("security"))

    @property
    def scope(self) -> str | None:
        return getattr(self.view, "api_scope", None)

    @property
    def path_params(self) -> list[str]:
        return [p["name"] for p in self.spec.get("parameters", []) if p.get("in") == "path"]

    def __str__(self):
        return f"{self.method.upper()} {self.path}"


@functools.cache
def operations() -> tuple[Op, ...]:
    from api.api import api
    from api.openapi import views_by_operation_id

    views = views_by_operation_id(api)
    found = []
    for path, item in our_schema()["paths"].items():
        for method, spec in item.items():
            if method in HTTP_METHODS:
                found.append(Op(method, path, spec.get("operationId", ""), spec, views.get(spec.get("operationId"))))
    return tuple(found)


# --- JSON Schema reading (OpenAPI 3.0 `nullable` and 3.1 `type: [.., "null"]`/anyOf alike) ---

def resolve(schema: dict, document: dict) -> dict:
    seen = set()
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        if ref in seen or not ref.startswith("#/"):
            break
        seen.add(ref)
        target = document
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        # siblings of $ref (3.1) apply too
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def truthy(value) -> bool:
    return value is True or value == "true"


@dataclass
class Shape:
    types: set  # JSON types other than "null"; empty: any
    nullable: bool
    properties: dict
    required: set
    items: dict | None
    formats: set
    enum: list | None


def _enum_type(values) -> set:
    kinds = set()
    for value in values:
        if value is None:
            continue
        kinds.add({bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(value), "string"))
    return kinds


def shape(schema: dict, document: dict) -> Shape:
    """One schema flattened through $ref, allOf, anyOf/oneOf (a `null` branch makes it nullable)."""
    schema = resolve(schema or {}, document)
    result = Shape(set(), truthy(schema.get("nullable")), {}, set(), None, set(), None)
    kind = schema.get("type")
    for t in (kind if isinstance(kind, list) else [kind] if kind else []):
        if t == "null":
            result.nullable = True
        else:
            result.types.add(t)
    if "format" in schema:
        result.formats.add(schema["format"])
    if "enum" in schema:
        result.enum = list(schema["enum"])
        if None in result.enum:
            result.nullable = True
        if not result.types:
            result.types |= _enum_type(schema["enum"])
    if "const" in schema:
        result.enum = [schema["const"]]
        if schema["const"] is None:
            result.nullable = True
        elif not result.types:
            result.types |= _enum_type([schema["const"]])
    result.properties.update(schema.get("properties", {}))
    if isinstance(schema.get("required"), list):
        result.required |= set(schema["required"])
    if "items" in schema:
        result.items = schema["items"]
    for part in schema.get("allOf", []):  # every part holds: merge
        sub = shape(part, document)
        result.types = result.types & sub.types if result.types and sub.types else result.types | sub.types
        result.properties.update(sub.properties)
        result.required |= sub.required
        result.items = result.items or sub.items
        result.formats |= sub.formats
        result.enum = result.enum if result.enum is not None else sub.enum
        # allOf [X] with a non-nullable X: the outer `nullable` (3.0 idiom) still allows null
    branches = schema.get("anyOf", []) + schema.get("oneOf", [])
    for part in branches:  # one holds: union
        sub = shape(part, document)
        if sub.nullable and not sub.types:
            result.nullable = True
            continue
        result.nullable |= sub.nullable
        result.types |= sub.types
        result.properties.update(sub.properties)
        result.required |= sub.required
        result.items = result.items or sub.items
        result.formats |= sub.formats
        if sub.enum is not None:
            result.enum = (result.enum or []) + sub.enum
    if not result.types and result.properties:
        result.types.add("object")
    return result


# --- A small valid request body, from our own schema (for requests that must get past validation) ---

def example_value(schema: dict, document: dict, depth: int = 0):
    s = shape(schema, document)
    if s.enum:
        return next((v for v in s.enum if v is not None), None)
    kinds = s.types or {"string"}
    if "object" in kinds:
        if depth > 5:
            return {}
        return {name: example_value(s.properties[name], document, depth + 1)
                for name in sorted(s.required) if name in s.properties}
    if "array" in kinds:
        return []
    if "boolean" in kinds:
        return False
    if "integer" in kinds or "number" in kinds:
        raw = resolve(schema, document)
        return max(1, int(float(raw.get("minimum", 1))))
    if "date-time" in s.formats:
        return datetime.now(UTC).isoformat()
    if "date" in s.formats:
        return date.today().isoformat()
    return "x"


def minimal_body(op: Op):
    """The smallest body our schema accepts for `op` (required fields only), or None."""
    body = op.spec.get("requestBody")
    if not body:
        return None
    content = body.get("content", {})
    media = content.get("application/json") or next(iter(content.values()), {})
    return example_value(media.get("schema", {}), our_schema())
