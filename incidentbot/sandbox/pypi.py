"""PyPI's JSON API as far as `incidentbot doctor` asks it: whether a release exists.

`GET /pypi/<project>/<version>/json` answers 200 with the release's metadata when the
version is published, else 404 `{"message": "Not Found"}`, as pypi.org does
(https://docs.pypi.org/api/json/#get-a-release). Project names are compared normalized
(PEP 503: case, runs of `-`, `_` and `.`). The sandbox publishes the installed incidentbot's
version (from its distribution's metadata: the sandbox imports no product module); tests
publish or withdraw others with `publish` and `withdraw`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from incidentbot.sandbox.http import Request, Response

PREFIX = "/pypi/"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class PackageIndexEmulator:
    service = "pypi"

    def __init__(self) -> None:
        self.releases: dict[str, set[str]] = {}
        self.reset()

    def operation(self, request: Request) -> str:
        return f"{request.method} {PREFIX}…/json"

    def reset(self) -> None:
        try:
            self.releases = {"incidentbot": {metadata.version("incidentbot")}}
        except metadata.PackageNotFoundError:  # run from a source tree never installed
            self.releases = {}

    def dump(self) -> dict[str, Any]:
        return {"releases": {k: sorted(v) for k, v in self.releases.items()}}

    def load(self, data: Mapping[str, Any]) -> None:
        self.releases = {k: set(v) for k, v in data.get("releases", {}).items()}

    def publish(self, project: str, version: str) -> None:
        self.releases.setdefault(normalize(project), set()).add(version)

    def withdraw(self, project: str, version: str) -> None:
        self.releases.get(normalize(project), set()).discard(version)

    def handle(self, request: Request) -> Response:
        parts = request.path[len(PREFIX):].strip("/").split("/")
        if request.method != "GET":
            return Response(405, b"Method Not Allowed", {"Content-Type": "text/plain"})
        if len(parts) != 3 or parts[2] != "json":
            return Response.json(404, {"message": "Not Found"})
        project, version = normalize(parts[0]), parts[1]
        if version not in self.releases.get(project, set()):
            return Response.json(404, {"message": "Not Found"})
        return Response.json(200, {"info": {"name": project, "version": version},
                                   "urls": [], "vulnerabilities": []})
