"""Cold starts stay cheap: the CLI's help loads neither PyGithub nor slack-sdk."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("github", "slack_sdk", "requests", "incidentbot.sandbox", "jinja2")


@pytest.mark.parametrize("argv", [["--help"], ["config", "--help"], ["--version"]])
def test_help_does_not_import_heavy_modules(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from incidentbot.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


PURE = ["incidentbot.model", "incidentbot.names", "incidentbot.config", "incidentbot.schema",
        "incidentbot.configtypes", "incidentbot.configcheck",
        "incidentbot.errors", "incidentbot.settings", "incidentbot.ports",
        "incidentbot.datastore"]


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
