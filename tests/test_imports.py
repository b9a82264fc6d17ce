"""The layers stay layers (core → adapters → operations → entry points), and cold starts stay
cheap: the CLI's help loads neither PyGithub nor slack-sdk."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("github", "slack_sdk", "requests", "incidentbot.sandbox", "jinja2")


@pytest.mark.parametrize("argv", [["--help"], ["config", "--help"], ["--version"]])
def test_help_does_not_import_heavy_modules(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from incidentbot.entrypoints.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def _modules_after(argv: list[str], env: dict[str, str],
                   names: tuple[str, ...] | None = None) -> tuple[str, list[str]]:
    """(what the command printed, which of `names` (the client libraries unless given) it
    imported), run in a new process through the console script's entry."""
    code = (
        "import sys\n"
        f"sys.argv = ['incidentbot', *{argv!r}]\n"
        "from incidentbot.entrypoints.console import main\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code\n"
        f"print(sorted(m for m in {names or LIBRARIES!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False, env={**os.environ, **env}, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    *said, last = out.stdout.strip().splitlines()
    return "\n".join(said), ast.literal_eval(last)


# What every Actions run would otherwise pay before its first request (issue 12).
LIBRARIES = ("github", "slack_sdk", "requests", "urllib3", "jwt", "cryptography")
ROOT = Path(__file__).resolve().parent.parent


def test_list_and_a_sync_with_nothing_to_do_import_no_client_library(sandbox) -> None:  # type: ignore[no-untyped-def]
    """`list` and a sync with nothing to do (the sweep's usual case) talk to GitHub through
    our REST client and to no one else: neither PyGithub nor slack-sdk nor requests loads."""
    from tests.helpers import connections

    c = connections(sandbox)
    from incidentbot.operations import incidents as operations

    issue, _ = operations.open_incident(c, title="Checkout returns 502", severity=2)
    env = {**sandbox.env(), "INCIDENTBOT_RETRY_BACKOFF": "0"}
    said, loaded = _modules_after(["list"], env)
    assert f"#{issue.number}" in said and "Checkout returns 502" in said
    assert loaded == []
    _modules_after(["sync", str(issue.number)], env)  # settles the card
    sandbox.clear_calls()
    said, loaded = _modules_after(["sync", str(issue.number)], env)
    assert said == f"#{issue.number}: ok (0 actions)"
    assert loaded == []
    assert sandbox.calls_to("slack") == []
    assert sandbox.calls_to("github") != []  # it did read the issue: through our client


def test_list_loads_neither_the_planner_nor_its_templates(sandbox) -> None:  # type: ignore[no-untyped-def]
    """`list` reads labels and nothing more: not the card, the planner or the reconciler,
    nor Jinja (the planner's messages), nor the Slack adapter's client, nor PagerDuty's
    on-call records, nor the stored help page (click prints `list --help`)."""
    from tests.helpers import connections

    c = connections(sandbox)
    from incidentbot.operations import incidents as operations

    operations.open_incident(c, title="Checkout returns 502", severity=2)
    said, loaded = _modules_after(["list"], {**sandbox.env(), "INCIDENTBOT_RETRY_BACKOFF": "0"},
                                  ("jinja2", "incidentbot.core.card", "incidentbot.core.plan",
                                   "incidentbot.operations.sync", "incidentbot.core.oncall",
                                   "slack_sdk", "incidentbot.entrypoints.helppage"))
    assert "Checkout returns 502" in said
    assert loaded == []


def test_an_event_that_is_no_incidents_loads_neither_config_nor_reconciler(
        tmp_path: Path) -> None:
    """The incident workflow runs `sync --from-event` on every comment and label of the
    repository: for a plain issue it reads the event file and stops, before the config, the
    reconciler or an HTTP client is loaded."""
    import json

    event = tmp_path / "event.json"
    event.write_text(json.dumps({"issue": {"number": 3, "labels": [{"name": "bug"}]}}))
    said, loaded = _modules_after(["sync", "--from-event"], {"GITHUB_EVENT_PATH": str(event)},
                                  ("yaml", "incidentbot.core.config", "http.client",
                                   "incidentbot.operations.sync", "jinja2"))
    assert said == "nothing to do: #3 is not labelled incident"
    assert loaded == []


def test_a_sync_with_work_loads_slack_sdk_only_then(sandbox) -> None:  # type: ignore[no-untyped-def]
    """The check above is not vacuous: a sync that must tell Slack imports slack-sdk."""
    from tests.helpers import connections

    c = connections(sandbox)
    from incidentbot.operations import incidents as operations

    issue, _ = operations.open_incident(c, title="Checkout returns 502", severity=2)
    sandbox.github_relabel("alice", issue.number, add=["sev:3"], remove=["sev:2"])
    said, loaded = _modules_after(["sync", str(issue.number)],
                                  {**sandbox.env(), "INCIDENTBOT_RETRY_BACKOFF": "0"})
    assert said.startswith(f"#{issue.number}: ok (") and "(0 actions)" not in said
    assert "slack_sdk" in loaded and "github" not in loaded


PACKAGE = Path(__file__).resolve().parent.parent / "incidentbot"
# Which layers each layer may import (docs/architecture.md draws the same picture).
MAY_IMPORT = {
    "core": {"core"},
    "adapters": {"core", "adapters"},
    "operations": {"core", "adapters", "operations"},
    "entrypoints": {"core", "adapters", "operations", "entrypoints", "sandbox"},
}
PURE_LIBRARIES = set(sys.stdlib_module_names) | {"yaml", "jinja2", "markupsafe"}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function alike."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            base = node.module
            found.add(base)
            if base in {"incidentbot", *(f"incidentbot.{layer}" for layer in MAY_IMPORT)}:
                found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_each_layer_imports_only_the_layers_beneath_it(layer: str) -> None:
    wrong = []
    for path in _modules(layer):
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "incidentbot" and len(parts) > 1 and parts[1] != "__version__":
                if parts[1] not in MAY_IMPORT[layer]:
                    wrong.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert wrong == []


def test_the_core_uses_no_library_that_does_io() -> None:
    wrong = []
    for path in _modules("core"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top != "incidentbot" and top not in PURE_LIBRARIES:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert wrong == []


def test_the_layer_check_sees_a_wrong_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from incidentbot.adapters import github\n")
    assert "incidentbot.adapters.github" in _imports(bad)


PURE = ["incidentbot.core.model", "incidentbot.core.names", "incidentbot.core.config",
        "incidentbot.core.schema", "incidentbot.core.errors", "incidentbot.core.settings",
        "incidentbot.core.ports", "incidentbot.adapters.datastore"]


@pytest.mark.parametrize("module", PURE)
def test_the_core_imports_only_stdlib_yaml_jinja_and_itself(module: str) -> None:
    code = (
        "import sys\n"
        f"before = set(sys.modules)\nimport {module}\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "new = {m for m in new if 'cython' not in m}  # PyYAML's C extension runtime\n"
        "allowed = set(sys.stdlib_module_names) | {'incidentbot', 'yaml', 'jinja2', "
        "'markupsafe', '_yaml'}\n"
        "print(sorted(new - allowed))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycle_between_the_packages_modules() -> None:
    """Module A imports B (at the top or inside a function) and B imports A, however far
    round: none. A cycle is where the layers stop explaining the code."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py") if "sandbox" not in p.parts}
    graph = {name: {i for i in _imports(path) if i in files and i != name}
             for name, path in files.items()}
    # A package's __init__ only hands names on; its submodules importing it is no cycle.
    graph = {n: {d for d in deps if not n.startswith(d + ".")} for n, deps in graph.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*trail[trail.index(dep):], dep] if dep in trail else [node, dep])
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
