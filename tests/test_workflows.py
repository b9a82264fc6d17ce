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


def test_every_workflow_matches_github_schema() -> None:
    # One run for every file (it names each file that fails): the tool's start-up, not the
    # checking, is what costs.
    out = subprocess.run([_tool("check-jsonschema"), "--builtin-schema",
                          "vendor.github-workflows", *map(str, WORKFLOWS)],
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


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_url_comes_from_the_environment(path: Path) -> None:
    """GitHub Enterprise Server runs the workflows as shipped: hosts come from
    GITHUB_SERVER_URL (git) and GITHUB_API_URL (REST), never written in."""
    text = path.read_text()
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())  # not comments
    assert not re.search(r"github\.com", code.replace(
        "users.noreply.github.com", "")), f"{path.name} names github.com"
    assert "api.github.com" not in code
    for url in re.findall(r"https?://\S+", code):
        assert url.startswith(("$GITHUB_SERVER_URL", "$GITHUB_API_URL")), url
    for call in re.findall(r"\$\{?(GITHUB_\w+_URL)", code):
        assert call in {"GITHUB_SERVER_URL", "GITHUB_API_URL"}
    if "git push" in code or "git clone" in code:
        assert "$GITHUB_SERVER_URL" in code, f"{path.name} pushes without GITHUB_SERVER_URL"


def test_the_periodic_job_reaches_git_through_github_server_url() -> None:
    """The push happens in Python: its remote is built from GITHUB_SERVER_URL."""
    from incidentbot.core import config
    from incidentbot.operations import periodic

    options = periodic.options_from(
        config.Config(), data="data", data_branch="status-data", site_branch="gh-pages",
        env={"GITHUB_SERVER_URL": "https://ghe.example.com", "GITHUB_REPOSITORY": "a/b",
             "GITHUB_TOKEN": "t"})
    for branch in (options.data_branch, options.site_branch):
        assert branch is not None
        assert branch.remote == "https://ghe.example.com/a/b.git"
    text = (ROOT / ".github" / "workflows" / "periodic.yml").read_text()
    assert "--data-branch status-data" in text and "--site-branch gh-pages" in text


def test_one_schedule_does_all_periodic_work() -> None:
    scheduled = [p.name for p in WORKFLOWS if re.search(r"^\s+schedule:", p.read_text(), re.M)]
    assert scheduled == ["periodic.yml"]
    text = (ROOT / ".github" / "workflows" / "periodic.yml").read_text()
    assert "group: repository-push" in text and "incidentbot periodic" in text


def test_the_incident_workflow_skips_exactly_the_card_s_own_comment_events() -> None:
    """The card's edits start no sync: incident.yml recognises it by how it begins."""
    from incidentbot.core import card

    text = (ROOT / ".github" / "workflows" / "incident.yml").read_text()
    begins = card.render(card.CardState(name="20261130-brave-otter")).split("·")[0].strip()
    assert f"startsWith(github.event.comment.body, '{begins}')" in text
