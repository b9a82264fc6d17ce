"""Check answers against GitHub's official OpenAPI description (a trimmed copy, see SOURCE.md).

GitHub publishes OpenAPI 3.0, whose `nullable: true` is not JSON Schema: the description is
converted once (a nullable schema also accepts null), then each response body is validated
with jsonschema's Draft 2020-12 validator, `$ref`s resolved through a `referencing` registry
holding the whole description. `oneOf`, `anyOf` and `allOf` mean what JSON Schema says.

The check is as strict as the description: a status the operation does not list (and no
`default`) is a problem, and so is a body on a 204, a 304 or any response without content.
Where GitHub answers beyond its own description, the caller says so by name (see
tests/sandbox/test_github_openapi.py), not this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import relevance
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).parent / "openapi" / "github.json"
URI = "urn:github-openapi"
NO_BODY = {204, 304}


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema 2020-12: `nullable: true` becomes "or null"."""
    if isinstance(node, list):
        return [to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    converted = {k: to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        kind = converted.get("type")
        if isinstance(kind, str) and "enum" not in converted:
            converted["type"] = [kind, "null"]
        else:  # an enum, a $ref or a combinator: null is one more alternative
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


@cache
def spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC.read_text("utf-8"))
    return data


@cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = DRAFT202012.create_resource(to_json_schema(spec()))
    registry: Registry[Any] = Registry().with_resource(URI, resource)
    return registry


def operations() -> list[tuple[str, str]]:
    """(METHOD, template) of every operation in the trimmed description."""
    return sorted((method.upper(), template) for template, item in spec()["paths"].items()
                  for method in item)


def find_operation(method: str, template: str) -> dict[str, Any]:
    try:
        found: dict[str, Any] = spec()["paths"][template][method.lower()]
    except KeyError:
        raise KeyError(f"{method.upper()} {template} is not in the description") from None
    return found


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _follow(pointer: list[str]) -> tuple[Any, list[str]]:
    """The node at `pointer`, following a `$ref` there; and where it really is."""
    node: Any = spec()
    for part in pointer:
        node = node[part]
    while isinstance(node, dict) and "$ref" in node:
        pointer = [p.replace("~1", "/").replace("~0", "~")
                   for p in node["$ref"].removeprefix("#/").split("/")]
        node = spec()
        for part in pointer:
            node = node[part]
    return node, pointer


def _empty(body: Any) -> bool:
    return body in (None, "", b"")


def validate_response(method: str, template: str, status: int, body: Any) -> list[str]:
    """What is wrong with this answer, by the description; [] when nothing."""
    method = method.upper()
    responses = find_operation(method, template).get("responses", {})
    key = str(status) if str(status) in responses else "default"
    if key not in responses:
        return [f"status {status} is not documented for {method} {template} "
                f"(documented: {', '.join(sorted(responses))})"]
    response, where = _follow(["paths", template, method.lower(), "responses", key])
    content = (response or {}).get("content") or {}
    if status in NO_BODY or not content:
        return [] if _empty(body) else [f"status {status} has no body, but one was sent"]
    media = "application/json" if "application/json" in content else next(iter(content))
    if "schema" not in content[media]:
        return []
    return _problems(body, [*where, "content", media, "schema"])


def validate_schema(body: Any, name: str) -> list[str]:
    """What is wrong with `body` as an instance of #/components/schemas/`name`."""
    if name not in spec()["components"]["schemas"]:
        raise KeyError(f"no schema {name!r} in the description")
    return _problems(body, ["components", "schemas", name])


def _problems(body: Any, pointer: list[str]) -> list[str]:
    ref = URI + "#/" + "/".join(_escape(p) for p in pointer)
    validator = Draft202012Validator({"$ref": ref}, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{_path(error.absolute_path) or '(body)'}: {_describe(error)}" for error in errors]


def _path(parts: Iterable[Any]) -> str:
    return "/".join(str(p) for p in parts)


def _describe(error: ValidationError) -> str:
    """jsonschema's message, without a copy of a long instance; for a failed oneOf or anyOf,
    why each alternative failed."""
    if error.validator in ("oneOf", "anyOf"):
        if not error.context:  # a oneOf that more than one alternative matched
            return f"matches more than one alternative of its {error.validator}"
        first: dict[Any, ValidationError] = {}
        for sub in sorted(error.context, key=relevance):
            first.setdefault(sub.schema_path[0], sub)
        why = "; ".join(f"#{n}: {_path(sub.path) + ': ' if sub.path else ''}{_describe(sub)}"
                        for n, sub in sorted(first.items()))
        return f"matches none of the alternatives of its {error.validator} ({why})"
    message = error.message
    instance = repr(error.instance)
    if len(instance) > 60 and message.startswith(instance):
        message = instance[:40] + "…" + message[len(instance):]
    return str(message)[:300]
