"""Every operation we serve under /api/v1/ against the reference spec (partner-api-v2024-01-18):
same path and method, same operationId, every parameter we accept is the spec's with a
compatible type (we may accept fewer), the scope the spec's description names, and each 2xx response has at least the spec's required
fields, recursively through $ref/allOf, with the same JSON types; we may answer `null` only where
the spec allows it. Each operation's differences are reported together.

Integers are accepted where the spec says `number` (every integer is a JSON number), not the
other way round. Enums and formats other than date/date-time are not compared."""
import re

import pytest

from tests.api.operations import operations, our_schema, reference_spec, reference_spec_path, resolve, shape

PREFIX = "/api/v1/"
OPS = [op for op in operations() if op.path.startswith(PREFIX)]
DATE_FORMATS = {"date", "date-time"}


def _types_fit(narrow: set, wide: set) -> bool:
    """Every value of type `narrow` is one of `wide` (no types: anything)."""
    if not wide:
        return True
    allowed = set(wide) | ({"integer"} if "number" in wide else set())
    return bool(narrow) and narrow <= allowed


def _formats_fit(ours: set, theirs: set) -> bool:
    ours, theirs = ours & DATE_FORMATS, theirs & DATE_FORMATS
    return not ours or not theirs or ours == theirs


def compare(ours: dict, theirs: dict, where: str, problems: list, *, response: bool, depth: int = 0):
    """Append to `problems` where our schema `ours` breaks the spec's `theirs`. A response of ours
    must fit the spec's (our types within theirs, null only where it allows null, its required
    fields there); a request the spec allows must fit ours (its types within ours)."""
    if depth > 12:
        return
    o, t = shape(ours, our_schema()), shape(theirs, reference_spec())
    if response and not _types_fit(o.types, t.types):
        problems.append(f"{where}: type {sorted(o.types) or 'any'}, the spec says {sorted(t.types)}")
        return
    if not response and o.types and not _types_fit(t.types, o.types):
        problems.append(f"{where}: we take {sorted(o.types)}, the spec sends {sorted(t.types) or 'any'}")
        return
    if not _formats_fit(o.formats, t.formats):
        problems.append(f"{where}: format {sorted(o.formats)}, the spec says {sorted(t.formats)}")
    if response and o.nullable and not t.nullable:
        problems.append(f"{where}: may be null, the spec does not allow null")
    if "object" in t.types or t.properties:
        if response:
            for name in sorted(t.required & set(t.properties)):
                if name not in o.properties:
                    problems.append(f"{where}.{name}: missing (required by the spec)")
        for name in sorted(set(o.properties) & set(t.properties)):
            compare(o.properties[name], t.properties[name], f"{where}.{name}", problems,
                    response=response, depth=depth + 1)
    if "array" in t.types and t.items is not None and o.items is not None:
        compare(o.items, t.items, f"{where}[]", problems, response=response, depth=depth + 1)


def _json_schema(response_or_body: dict) -> dict | None:
    content = response_or_body.get("content") or {}
    media = content.get("application/json") or next(iter(content.values()), None)
    return None if media is None else media.get("schema", {})


# Parameters of ours the spec lacks, each for a reason. The spec's `pageable` of this operation is
# a Spring object (number/size/sort) no client can send as the spec writes it; the list is paged
# with the API's own `page`/`perPage`, as every other list.
OUR_PARAMETERS = {("get-wallet-transactions-invoice", "page"), ("get-wallet-transactions-invoice", "perPage")}


def differences(op) -> list[str]:
    spec = reference_spec()
    item = spec["paths"].get(op.path)
    if item is None:
        return [f"path {op.path} is not in the spec"]
    theirs = item.get(op.method)
    if theirs is None:
        return [f"method {op.method.upper()} of {op.path} is not in the spec (it has {sorted(item)})"]
    problems = []
    if op.operation_id != theirs.get("operationId"):
        problems.append(f"operationId {op.operation_id!r}, the spec says {theirs.get('operationId')!r}")
    # the spec writes each operation's scope in its description: "Required scope: `invoices:read`"
    their_scope = re.search(r"Required scope: `([^`]+)`", theirs.get("description", ""))
    if their_scope and op.scope != their_scope.group(1):
        problems.append(f"scope {op.scope!r}, the spec requires {their_scope.group(1)!r}")

    # parameters: ours ⊆ the spec's (path-level parameters count for the spec's operation too)
    their_params = {(p["in"], p["name"]): p for p in
                    (resolve(p, spec) for p in item.get("parameters", []) + theirs.get("parameters", []))}
    for param in op.spec.get("parameters", []):
        param = resolve(param, our_schema())
        key = (param["in"], param["name"])
        if key not in their_params:
            if (op.operation_id, param["name"]) not in OUR_PARAMETERS:
                problems.append(f"{param['in']} parameter {param['name']!r} is not in the spec")
            continue
        compare(param.get("schema", {}), their_params[key].get("schema", {}), f"{param['in']} parameter "
                f"{param['name']!r}", problems, response=False)
    ours = {(p["in"], p["name"]) for p in op.spec.get("parameters", [])}
    for where, name in their_params:
        if where == "path" and (where, name) not in ours:
            problems.append(f"path parameter {name!r} of the spec is not ours")

    # request body: there is one where the spec has one, and the spec's fields that we take have
    # types we take (fields of ours that the spec lacks are extensions; not compared)
    our_body, their_body = op.spec.get("requestBody"), theirs.get("requestBody")
    if bool(our_body) != bool(their_body):
        problems.append("we take a request body, the spec has none" if our_body else
                        "the spec takes a request body, we take none")
    elif our_body:
        compare(_json_schema(our_body) or {}, _json_schema(resolve(their_body, spec)) or {}, "request body",
                problems, response=False)

    # 2xx responses: ours ⊇ the spec's required fields, same types
    for status, response in op.spec.get("responses", {}).items():
        if not str(status).startswith("2"):
            continue
        their_response = theirs.get("responses", {}).get(str(status))
        if their_response is None:
            problems.append(f"response {status}: not in the spec (it has "
                            f"{sorted(s for s in theirs.get('responses', {}) if s.startswith('2'))})")
            continue
        our_json, their_json = _json_schema(response), _json_schema(resolve(their_response, spec))
        if their_json is None:
            if our_json is not None:
                problems.append(f"response {status}: we send a body, the spec has none")
            continue
        if our_json is None:
            problems.append(f"response {status}: no body, the spec has one")
            continue
        compare(our_json, their_json, f"response {status}", problems, response=True)
    return problems


def test_the_reference_spec_is_there_and_we_serve_operations():
    assert reference_spec_path().exists(), f"reference spec missing: {reference_spec_path()}"
    assert reference_spec()["info"]["version"] == "2024-01-18"
    assert OPS, "no operation under /api/v1/"
    assert all(op.operation_id for op in OPS), [str(op) for op in OPS if not op.operation_id]


@pytest.mark.parametrize("op", OPS, ids=str)
def test_operation_follows_the_reference_spec(op):
    problems = differences(op)
    assert not problems, f"{op} ({op.operation_id}) differs from the spec:\n  " + "\n  ".join(problems)


def test_the_comparison_sees_differences():
    """The checker is not blind: a made-up schema breaking the spec in each way is reported."""
    spec = reference_spec()
    their = spec["paths"]["/api/v1/charge-points/{chargePointId}"]["get"]["responses"]["200"]
    broken = {"type": "object", "properties": {
        "id": {"type": "string"}, "teamId": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "location": {"type": "object", "properties": {"address": {"type": "object", "properties": {
            "zip": {"type": "integer"}}}}},
        "connectors": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "boolean"}}}},
        "maxKw": {"type": "integer"}, "createdAt": {"type": "string", "format": "date"},
    }}
    problems = []
    compare(broken, _json_schema(their), "r", problems, response=True)
    text = "\n".join(problems)
    assert "r.id: type ['string'], the spec says ['integer']" in text
    assert "r.teamId: may be null" in text
    assert "r.location.address.zip: type ['integer']" in text
    assert "r.connectors[].name: type ['boolean']" in text
    assert "r.evseId: missing" in text and "r.isActive: missing" in text
    assert "r.createdAt: format ['date']" in text
    assert "r.maxKw" not in text  # an integer is a number
