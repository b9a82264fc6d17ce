"""Trim GitHub's official OpenAPI description to the routes the sandbox serves.

    cd /tmp && npm pack @octokit/openapi && tar xzf octokit-openapi-*.tgz
    python scripts/trim_openapi.py /tmp/package/generated/api.github.com.json

writes tests/sandbox/openapi/github.json: those operations and every component they refer
to, without descriptions and examples (13 MB down to what the conformance test needs).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "sandbox" / "openapi" / "github.json"
DROP = {"description", "summary", "example", "examples", "externalDocs", "x-github",
        "x-githubEnterpriseOverlays", "x-github-breaking-changes", "tags", "operationId"}
# Maps whose keys are names, not keywords: a property called "description" (a label's) stays.
NAMED = {"properties", "patternProperties", "$defs", "paths", "schemas", "responses",
         "parameters", "headers", "requestBodies", "content", "encoding", "mapping"}


def strip(node: Any, *, named: bool = False) -> Any:
    """`node` without the documentation keywords in DROP; `named`: its keys are names."""
    if isinstance(node, dict):
        return {k: strip(v, named=not named and k in NAMED) for k, v in node.items()
                if named or k not in DROP}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def resolve(spec: dict[str, Any], ref: str) -> Any:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def trim(spec: dict[str, Any], routes: list[tuple[str, str]]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, template in routes:
        operation = spec["paths"][template][method.lower()]
        paths.setdefault(template, {})[method.lower()] = strip(operation)
    components: dict[str, dict[str, Any]] = {}
    pending = refs(paths)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, kind, name = ref.removeprefix("#/").split("/", 2)
        node = strip(resolve(spec, ref))
        components.setdefault(kind, {})[name] = node
        pending |= refs(node) - seen
    return {"openapi": spec["openapi"], "info": {"title": spec["info"]["title"],
                                                 "version": spec["info"]["version"]},
            "paths": paths, "components": components}


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    from incidentbot.sandbox.github_routes import ROUTES

    source = Path(argv[1])
    spec = json.loads(source.read_text("utf-8"))
    trimmed = trim(spec, list(ROUTES))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(trimmed, sort_keys=True, indent=1) + "\n", "utf-8")
    print(f"{OUT.relative_to(ROOT)}: {len(ROUTES)} operations, "
          f"{sum(len(v) for v in trimmed['components'].values())} components, "
          f"{OUT.stat().st_size:,} bytes (from {source.stat().st_size:,})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
