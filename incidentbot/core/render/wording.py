"""Slack message wording from `templates/slack/*.j2`: the team's files first, then ours.

One Jinja environment per repository root (sandboxed, autoescape off because the output is
Slack mrkdwn, undefined names are errors). Callers pass values already escaped for Slack:
templates hold words and layout, never the escaping, so a team's edit cannot let a title
ping `@channel`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from incidentbot.core.errors import InvalidInput
from incidentbot.core.text import templates_dir

PACKAGED = templates_dir() / "slack"
TEAM_DIR = Path("templates") / "slack"


@functools.lru_cache(maxsize=8)
def environment(root: str) -> Any:
    """The environment for a repository rooted at `root`: its `templates/slack/` overrides
    any of our files by name; Jinja reloads a file whose modification time changed."""
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    search = [str(Path(root) / TEAM_DIR), str(PACKAGED)]
    return SandboxedEnvironment(loader=FileSystemLoader(search), autoescape=False,
                                undefined=StrictUndefined, trim_blocks=True,
                                lstrip_blocks=True, keep_trailing_newline=False)


def render(name: str, *, root: Path | None = None, **values: Any) -> str:
    """The text of `templates/slack/<name>.j2` with `values` (already escaped)."""
    from jinja2 import TemplateError

    env = environment(str((root or Path.cwd()).resolve()))
    try:
        return str(env.get_template(f"{name}.j2").render(**values)).strip()
    except TemplateError as exc:
        raise InvalidInput(f"templates/slack/{name}.j2: {exc}") from None


def names() -> list[str]:
    """The templates a team may override (ours)."""
    return sorted(p.stem for p in PACKAGED.glob("*.j2"))
