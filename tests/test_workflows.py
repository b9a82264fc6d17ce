"""The workflows pass the GitHub workflow schema and zizmor, and never interpolate event text."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; `pip install -e '.[test]'` installs it")
    return found


def test_there_are_workflows() -> None:
    assert WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_github_schema(path: Path) -> None:
    out = subprocess.run([_tool("check-jsonschema"), "--builtin-schema",
                          "vendor.github-workflows", str(path)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_zizmor_finds_nothing() -> None:
    out = subprocess.run([_tool("zizmor"), "--offline", "--no-progress",
                          str(ROOT / ".github" / "workflows")],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_event_text_in_run_scripts(path: Path) -> None:
    text = path.read_text()
    # Only numbers and label names (compared, never executed) may appear in expressions.
    for expression in re.findall(r"\$\{\{(.*?)\}\}", text):
        for ref in re.findall(r"github\.event\.(?:issue|comment|pull_request)\.[\w.*]+",
                              expression):
            assert ref.endswith(".number"), f"{path.name}: {ref} interpolated"
    assert "persist-credentials: false" in text or "actions/checkout" not in text
    for uses in re.findall(r"uses:\s*(\S+)", text):
        assert re.search(r"@[0-9a-f]{40}$", uses), f"{uses} is not pinned by SHA"
