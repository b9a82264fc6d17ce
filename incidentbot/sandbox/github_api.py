"""PLACEHOLDER: being written."""
from typing import Any
from incidentbot.sandbox.http import Request, Response
class GitHubEmulator:
    service = "github"
    def __init__(self, *, repository: str, token: str) -> None: ...
    def operation(self, request: Request) -> str: return f"{request.method} {request.path}"
    def handle(self, request: Request) -> Response: return Response.json(404, {"message": "Not Found"})
    def reset(self) -> None: ...
    def dump(self) -> dict[str, Any]: return {}
    def load(self, data: Any) -> None: ...
