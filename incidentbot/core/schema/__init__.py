"""The JSON Schema of incidentbot.yml, and the small validator the loader runs it with.

The schema file is the one source: editors complete from it, `config.load` validates with it
(here, to report `file:line: key: expected ...`), and the tests check it against the
reference `jsonschema` implementation.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

Path = tuple[str | int, ...]


@cache
def schema() -> dict[str, Any]:
    """The schema of incidentbot.yml, as shipped with the package."""
    # Beside this file (not importlib.resources, whose import costs a tenth of a cold start).
    with open(os.path.join(os.path.dirname(__file__), "incidentbot.schema.json"),
              encoding="utf-8") as file:
        text = file.read()
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True, slots=True)
class Problem:
    """One place where a document breaks the schema; `path` leads to it from the root."""

    path: Path
    message: str


def describe(value: Any) -> str:
    """How a value is shown in an error: short, and in YAML's terms."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return json.dumps(shown)
    return str(value)


_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}
_TYPE_CHECKS: Mapping[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, Mapping),
    "null": lambda v: v is None,
}


def resolve(node: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """Follow a local `$ref` (`#/$defs/x`), merging any sibling keywords over the target."""
    root = root if root is not None else schema()
    ref = node.get("$ref")
    if ref is None:
        return node
    target: Any = root
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    merged = {**resolve(target, root), **{k: v for k, v in node.items() if k != "$ref"}}
    return merged


def expected(node: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> str:
    """What a schema node asks for, in words a person reading an error understands."""
    node = resolve(node, root)
    if "x-expected" in node:
        return str(node["x-expected"])
    if "enum" in node:
        return "one of " + ", ".join(describe(v) for v in node["enum"])
    if "anyOf" in node:
        return " or ".join(expected(n, root) for n in node["anyOf"])
    types = node.get("type")
    if isinstance(types, str):
        return _TYPE_WORDS[types]
    if isinstance(types, list):
        return " or ".join(_TYPE_WORDS[t] for t in types)
    return "a value"


def validate(
    value: Any, node: Mapping[str, Any] | None = None, root: Mapping[str, Any] | None = None
) -> list[Problem]:
    """Every problem of `value` against the schema (the subset of JSON Schema it uses)."""
    root = root if root is not None else schema()
    return list(_check(value, node if node is not None else root, root, ()))


def _check(value: Any, node: Mapping[str, Any], root: Mapping[str, Any],
           path: Path) -> Iterator[Problem]:
    node = resolve(node, root)
    if "anyOf" in node:
        if not any(not validate(value, branch, root) for branch in node["anyOf"]):
            yield Problem(path, f"expected {expected(node, root)}, got {describe(value)}")
        return
    if "enum" in node and value not in node["enum"]:
        yield Problem(path, f"expected {expected(node, root)}, got {describe(value)}")
        return
    types = node.get("type")
    if types is not None:
        allowed = [types] if isinstance(types, str) else list(types)
        if not any(_TYPE_CHECKS[t](value) for t in allowed):
            yield Problem(path, f"expected {expected(node, root)}, got {describe(value)}")
            return
    yield from _check_scalar(value, node, root, path)
    if isinstance(value, list):
        yield from _check_array(value, node, root, path)
    elif isinstance(value, Mapping):
        yield from _check_object(value, node, root, path)


def _check_scalar(value: Any, node: Mapping[str, Any], root: Mapping[str, Any],
                  path: Path) -> Iterator[Problem]:
    want = expected(node, root)
    if isinstance(value, str):
        pattern = node.get("pattern")
        if pattern is not None and re.search(pattern, value) is None:
            yield Problem(path, f"expected {want}, got {describe(value)}")
        if len(value) < node.get("minLength", 0):
            yield Problem(path, "expected a non-empty string" if node["minLength"] == 1 else
                          f"expected at least {node['minLength']} characters, got {len(value)}")
        if "maxLength" in node and len(value) > node["maxLength"]:
            yield Problem(path, f"expected at most {node['maxLength']} characters, "
                                f"got {len(value)}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in node and value < node["minimum"]:
            yield Problem(path, f"expected at least {node['minimum']}, got {value}")
        if "maximum" in node and value > node["maximum"]:
            yield Problem(path, f"expected at most {node['maximum']}, got {value}")


def _check_array(value: Sequence[Any], node: Mapping[str, Any], root: Mapping[str, Any],
                 path: Path) -> Iterator[Problem]:
    if len(value) < node.get("minItems", 0):
        yield Problem(path, f"expected at least {node['minItems']} item(s), got {len(value)}")
    if "maxItems" in node and len(value) > node["maxItems"]:
        yield Problem(path, f"expected at most {node['maxItems']} items, got {len(value)}")
    if node.get("uniqueItems"):
        seen: list[Any] = []
        for index, item in enumerate(value):
            if item in seen:
                yield Problem((*path, index), f"{describe(item)} is listed twice")
            seen.append(item)
    items = node.get("items")
    if items is not None:
        for index, item in enumerate(value):
            yield from _check(item, items, root, (*path, index))


def _check_object(value: Mapping[str, Any], node: Mapping[str, Any], root: Mapping[str, Any],
                  path: Path) -> Iterator[Problem]:
    properties: Mapping[str, Any] = node.get("properties", {})
    for key in node.get("required", ()):
        if key not in value:
            yield Problem((*path, key), f"missing; expected {expected(properties[key], root)}")
    names = node.get("propertyNames")
    extra = node.get("additionalProperties", True)
    for key, item in value.items():
        if names is not None and not isinstance(key, str):
            yield Problem((*path, str(key)), "expected a string key")
            continue
        if names is not None and re.search(names["pattern"], key) is None:
            yield Problem((*path, key), "not a valid id; expected lowercase letters, digits, "
                                        "'.', '_' or '-'")
            continue
        if key in properties:
            yield from _check(item, properties[key], root, (*path, key))
        elif extra is False:
            yield Problem((*path, key), _unknown_key(key, properties))
        elif isinstance(extra, Mapping):
            yield from _check(item, extra, root, (*path, key))


def _unknown_key(key: Any, properties: Mapping[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(str(key), list(properties), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key{hint}; expected one of: {', '.join(properties)}"


def defaults(node: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The `default` of each property of an object node."""
    node = resolve(node, root)
    return {
        key: resolve(sub, root)["default"]
        for key, sub in node.get("properties", {}).items()
        if "default" in resolve(sub, root)
    }
