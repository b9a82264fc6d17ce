"""Package code checks with explicit errors, never `assert` (which `python -O` strips)."""

from __future__ import annotations

import ast
from pathlib import Path

import incidentbot

PACKAGE = Path(incidentbot.__file__).parent


def test_no_assert_statement_in_package_code() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 20
    found = [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
             for path in modules
             for node in ast.walk(ast.parse(path.read_text(), str(path)))
             if isinstance(node, ast.Assert)]
    assert found == []
