"""The sandbox stands apart from the product it emulates: it imports none of its modules."""

from __future__ import annotations

import ast
from pathlib import Path

import incidentbot.sandbox

SANDBOX = Path(incidentbot.sandbox.__file__).parent


def _imported(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """Every module a file imports (at the top or inside a function), relative ones resolved
    against `package`, the file's own package."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            found.append((node.lineno, base))
    return found


def _outside_the_sandbox(name: str) -> bool:
    return name.split(".")[0] == "incidentbot" and not (
        name == "incidentbot.sandbox" or name.startswith("incidentbot.sandbox."))


def test_no_sandbox_module_imports_a_product_module() -> None:
    modules = sorted(SANDBOX.rglob("*.py"))
    assert len(modules) > 5
    offenders = [f"{path.relative_to(SANDBOX.parent)}:{line}: imports {name}"
                 for path in modules
                 for line, name in _imported(ast.parse(path.read_text(), str(path)),
                                             _package(path))
                 if _outside_the_sandbox(name)]
    assert offenders == []


def _package(path: Path) -> str:
    return ".".join(("incidentbot", *path.relative_to(SANDBOX.parent).parent.parts))


def test_the_check_catches_a_product_import() -> None:
    tree = ast.parse("import incidentbot\nfrom .. import slack\nfrom . import faults\n"
                     "def f():\n    from incidentbot.adapters.slack import sign\n")
    names = [n for _, n in _imported(tree, "incidentbot.sandbox")]
    assert [n for n in names if _outside_the_sandbox(n)] == [
        "incidentbot", "incidentbot", "incidentbot.adapters.slack"]
    assert "incidentbot.sandbox" in names


def test_the_sandbox_signer_agrees_with_the_product_verifier() -> None:
    from incidentbot.adapters.slack_inbound import verify
    from incidentbot.sandbox.slack_requests import sign

    body = b"command=%2Fincident&text=open"
    signature = sign("s3cret", body, "1700000000")
    assert verify("s3cret", body, "1700000000", signature, now=1700000001)
    assert not verify("other", body, "1700000000", signature, now=1700000001)
