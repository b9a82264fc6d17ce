"""Check answers against GitHub's official OpenAPI description (a trimmed copy, see SOURCE.md).

GitHub publishes OpenAPI 3.0, whose `nullable: true` is not JSON Schema: the description is
converted once (a nullable schema also accepts null), then each response body is validated
with jsonschema's Draft 2020-12 validator, `$ref`s resolved through a `referencing` registry
holding the whole description.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).parent / "openapi" / "github.json"
URI = "urn:github-openapi"


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: `nullable: true` becomes "or null". GitHub's `oneOf`s are
    not disjoint (a 409 body matches both basic-error and repository-rule-violation-error,
    whose fields are all optional), so real answers fail them: they are read as `anyOf`."""
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    converted = {("anyOf" if k == "oneOf" else k): _nullable(v) for k, v in node.items()
                 if k != "nullable"}
    if node.get("nullable") is True:
        kind = converted.get("type")
        if isinstance(kind, str) and "enum" not in converted:
            converted["type"] = [kind, "null"]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


@cache
def spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC.read_text("utf-8"))
    return data


@cache
def _registry() -> Registry:
    resource = Resource(contents=_nullable(spec()), specification=DRAFT202012)
    return Registry().with_resource(URI, resource)


def operations() -> list[tuple[str, str]]:
    """(METHOD, template) of every operation in the trimmed description."""
    return sorted((method.upper(), template) for template, item in spec()["paths"].items()
                  for method in item)


def find_operation(method: str, template: str) -> dict[str, Any]:
    try:
        found: dict[str, Any] = spec()["paths"][template][method.lower()]
    except KeyError:
        raise KeyError(f"{method} {template} is not in the description") from None
    return found


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _follow(pointer: list[str]) -> tuple[Any, list[str]]:
    """The node at `pointer`, following a `$ref` there; and where it really is."""
    node: Any = spec()
    for part in pointer:
        node = node[part]
    while isinstance(node, dict) and "$ref" in node:
        pointer = node["$ref"].removeprefix("#/").split("/")
        node = spec()
        for part in pointer:
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node, pointer


# Answers GitHub's REST docs describe for every endpoint, which the description lists only
# for some: 304 to a conditional GET ("Use conditional requests"), and the client errors of
# "Troubleshooting the REST API": 401, 403, 404 (missing or hidden) and 422 (validation).
GENERAL = {304: None, 401: "basic-error", 403: "basic-error", 404: "basic-error",
           422: "validation-error"}


def validate_response(method: str, template: str, status: int, body: Any) -> list[str]:
    """What is wrong with this answer, by the description; [] when nothing."""
    operation = find_operation(method, template)
    responses = operation.get("responses", {})
    key = str(status) if str(status) in responses else "default"
    if key not in responses:
        if status in GENERAL and (status != 304 or method == "GET"):
            schema = GENERAL[status]
            if schema is None:
                return [] if body in (None, "", b"") else ["a 304 has no body"]
            return _problems(body, ["components", "schemas", schema])
        return [f"status {status} is not documented for {method} {template} "
                f"(documented: {', '.join(sorted(responses))})"]
    where = ["paths", template, method.lower(), "responses", key]
    response, where = _follow(where)
    content = (response or {}).get("content") or {}
    if not content:
        return [] if body in (None, "", b"") else [f"status {status} has no documented body"]
    media = "application/json" if "application/json" in content else next(iter(content))
    if "schema" not in content[media]:
        return []
    return _problems(body, [*where, "content", media, "schema"])


def _problems(body: Any, pointer: list[str]) -> list[str]:
    ref = URI + "#/" + "/".join(_escape(p) for p in pointer)
    validator = Draft202012Validator({"$ref": ref}, registry=_registry())
    problems = []
    for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in error.absolute_path) or "(body)"
        problems.append(f"{path}: {error.message[:300]}")
    return problems
