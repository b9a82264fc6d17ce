"""`incidentbot init`: the files a team's incident repository needs, written or checked.

GitHub's "Use this template" copies this whole repository, the package's source included,
and its workflows install incidentbot from that source (`pip install .`). `incidentbot init`
writes the same files into any repository, the workflows installing the released package
instead: the only differences are the three in `_DIFFERENCES`. `check` is what
`incidentbot doctor` says about either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from incidentbot import __version__
from incidentbot.core.configtypes import Config
from incidentbot.core.errors import InvalidInput

WORKFLOWS = ("incident.yml", "periodic.yml", "drill.yml", "postmortem.yml")
FORM = ".github/ISSUE_TEMPLATE/incident.yml"
CONFIG = "incidentbot.yml"
MANIFEST = "slack-app-manifest.yml"
INDEX = "incidents/README.md"
# Copied as they are (the workflows with `_DIFFERENCES`); the form follows incidentbot.yml.
COPIED = (*(f".github/workflows/{w}" for w in WORKFLOWS), MANIFEST, INDEX, "drills/README.md")
# The team's from the start (its settings; the index each postmortem adds a row to): written
# when missing, never replaced, not even with --force.
CREATE_ONLY = (CONFIG, INDEX)

# Where init's workflows differ from this repository's: what is installed, and the cache keys
# that named this repository's source. `{req}` is the requirement, `{key}` it made key-safe.
_DIFFERENCES = (
    ("pip install --disable-pip-version-check --quiet .\n",
     'pip install --disable-pip-version-check --quiet "{req}"\n'),
    ("pip install --disable-pip-version-check .\n",
     'pip install --disable-pip-version-check "{req}"\n'),
    ("${{ hashFiles('pyproject.toml', 'incidentbot/**') }}", "{key}"),
    ("cache-dependency-path: pyproject.toml", "cache-dependency-path: .github/workflows/{name}"),
)
# A pip requirement that is safe inside a double-quoted shell word: no quote, `$`, backtick,
# backslash or space (https://pip.pypa.io/en/stable/reference/requirement-specifiers/).
_REQUIREMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-\[\]=<>!~+:/@#,]*")
_INSTALL = re.compile(r"pip install\b[^\n]*?\s\"?([^\s\"]+)\"?[ \t]*$", re.MULTILINE)

STARTER_CONFIG = """\
# incidentbot's settings. Every key is described in incidentbot's docs/configuration.md;
# `incidentbot config check` validates this file and `incidentbot config schema` prints
# the JSON Schema for editor completion. Left out, the defaults apply: SEV1-SEV5, a
# postmortem for SEV1-3, on-call paged through PAGERDUTY_ROUTING_KEY for SEV1-2.
timezone: UTC

slack:
  announce: ["#incidents"]   # create the channel, then /invite @incidentbot there

# Your services: each may have owners, docs, health checks and dependencies.
# services:
#   - slug: checkout
#     name: Checkout
#     checks:
#       - {type: http, url: "https://shop.example.com/health"}
"""


def starter_dir() -> Path:
    """Where the shipped copies are: inside the installed package (the build puts them
    there), or the top level of a checkout of incidentbot."""
    package = Path(__file__).resolve().parents[1]  # incidentbot/, this being operations/init.py
    inside = package / "starter"
    return inside if inside.is_dir() else package.parent


def default_requirement() -> str:
    return f"incidentbot=={__version__}"


def workflow(name: str, requirement: str) -> str:
    """Our workflow `name`, installing `requirement` instead of this repository's source."""
    if not _REQUIREMENT.fullmatch(requirement):
        raise InvalidInput(f"--requirement: expected a pip requirement without spaces, quotes "
                           f"or $ (like incidentbot=={__version__}), got {requirement!r}")
    text = (starter_dir() / ".github" / "workflows" / name).read_text("utf-8")
    key = re.sub(r"[^A-Za-z0-9._-]+", "-", requirement)
    for ours, theirs in _DIFFERENCES:
        text = text.replace(ours, theirs.format(req=requirement, key=key, name=name))
    return text


def issue_form(config: Config) -> str:
    """Our issue form with the severities and services `config` has (the form and the
    config must agree: intake reads the answers by these words)."""
    text = (starter_dir() / FORM).read_text("utf-8")
    severities = [_option(f"{s.name} — {s.meaning}" if s.meaning else s.name, quote=True)
                  for s in config.severities]
    text = _replace_options(text, "severity", severities)
    default = next(i for i, s in enumerate(config.severities)
                   if s.level == config.default_severity)
    text = re.sub(r"(\n      default: )\d+\n", rf"\g<1>{default}\n", text, count=1)
    if not config.services:
        return re.sub(r"  - type: dropdown\n    id: services\n.*?(?=  - type: )", "", text,
                      count=1, flags=re.DOTALL)
    return _replace_options(text, "services", [_option(s.name) for s in config.services])


def _option(text: str, *, quote: bool = False) -> str:
    plain = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._()/-]*", text) and not quote
    return f"        - {text if plain else json.dumps(text, ensure_ascii=False)}\n"


def _replace_options(text: str, dropdown: str, options: Sequence[str]) -> str:
    block = re.compile(rf"(\n    id: {dropdown}\n(?:    .*\n)*?      options:\n)"
                       rf"(?:        - .*\n)+")
    if not block.search(text):
        raise ValueError(f"{FORM}: no `options:` under the {dropdown} dropdown")
    return block.sub(lambda m: m.group(1) + "".join(options), text, count=1)


# -- writing -------------------------------------------------------------------------------
@dataclass
class Result:
    """What `run` did, file by file (paths relative to the repository)."""

    root: Path
    wrote: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # CREATE_ONLY files the team changed
    workflows: dict[str, str] = field(default_factory=dict)

    def lines(self) -> Iterator[str]:
        for path in self.wrote:
            yield f"wrote {path}"
        for path in self.kept:
            yield f"kept {path} (yours" + ("; the issue form follows it)" if path == CONFIG
                                          else ")")
        if not self.wrote:
            yield (f"nothing to do: the {len(self.unchanged)} files are already as "
                   "`incidentbot init` writes them")
            return
        if self.unchanged:
            yield f"unchanged: {len(self.unchanged)} files already as init writes them"
        yield from next_steps(self.workflows)


def planned(root: Path, *, templates: bool = False, requirement: str | None = None,
            ) -> dict[str, str]:
    """Every file init writes under `root`, by relative path, with its text."""
    from incidentbot.core import config as configuration
    from incidentbot.core.text import templates_dir

    req = requirement or default_requirement()
    files = {f".github/workflows/{w}": workflow(w, req) for w in WORKFLOWS}
    files.update({p: (starter_dir() / p).read_text("utf-8") for p in COPIED if p not in files})
    existing = root / CONFIG
    files[CONFIG] = STARTER_CONFIG
    config = configuration.load(existing) if existing.exists() else \
        configuration.parse(STARTER_CONFIG, source=str(existing))
    files[FORM] = issue_form(config)
    if templates:
        shipped = templates_dir()
        for path in sorted(shipped.rglob("*.j2")):
            files[f"templates/{path.relative_to(shipped).as_posix()}"] = path.read_text("utf-8")
    return files


def run(root: Path, *, templates: bool = False, force: bool = False,
        requirement: str | None = None) -> Result:
    """Write the files; refuse, writing nothing, when one exists and differs (unless
    `force`: then it is replaced). CREATE_ONLY files that exist are the team's: kept."""
    files = planned(root, templates=templates, requirement=requirement)
    result = Result(root, workflows={p: t for p, t in files.items()
                                     if p.startswith(".github/workflows/")})
    for path in CREATE_ONLY:
        if (root / path).exists() and _read(root / path) != files[path]:
            del files[path]
            result.kept.append(path)
    differ = [p for p, text in files.items()
              if (root / p).exists() and _read(root / p) != text]
    if differ and not force:
        raise InvalidInput(f"{len(differ)} file(s) exist and differ from what init writes: "
                           f"{', '.join(differ)}; nothing was written. Compare them, then use "
                           f"--force to replace them ({' and '.join(CREATE_ONLY)} are never "
                           "replaced)")
    for path, text in files.items():
        target = root / path
        if target.exists() and _read(target) == text:
            result.unchanged.append(path)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
        result.wrote.append(path)
    return result


def _read(path: Path) -> str | None:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def next_steps(workflows: dict[str, str]) -> Iterator[str]:
    """What is left to do by hand: the Slack app, the secrets (names only), the labels."""
    from incidentbot.core.settings import PURPOSE

    secrets = sorted({m for text in workflows.values()
                      for m in re.findall(r"secrets\.([A-Z][A-Z0-9_]*)", text)})
    yield "next:"
    yield (f"  1. Slack: https://api.slack.com/apps → Create New App → From an app manifest → "
           f"paste {MANIFEST} (first replace https://incidents.example.com with the address "
           "of your dispatcher), install it, /invite @incidentbot to #incidents")
    yield "  2. GitHub: Settings → Secrets and variables → Actions → add these secrets:"
    for name in secrets:
        yield f"       {name}: {PURPOSE.get(name, 'read by the workflows')}"
    yield ("  3. where the dispatcher runs (`incidentbot serve`): GITHUB_TOKEN, SLACK_BOT_TOKEN,"
           " SLACK_SIGNING_SECRET")
    yield ("  4. `incidentbot doctor --fix`: creates the labels (a new repository has none) and "
           "checks all of the above")


# -- checking (for `incidentbot doctor`) ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class Check:
    """One line of `incidentbot doctor`: what was checked, whether it is fine, how to fix it."""

    name: str
    ok: bool
    detail: str = ""
    fix: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        text = f"[{mark}] {self.name}"
        if self.detail:
            text += f": {self.detail}"
        if not self.ok and self.fix:
            text += f"\n       fix: {self.fix}"
        return text


def root_of(config: Config) -> Path:
    """The repository a configuration belongs to: its file's folder, else the current one."""
    if config.source.startswith("("):
        return Path.cwd()
    return Path(config.source).resolve().parent


def check(root: Path, config: Config,
          released: Callable[[str], tuple[bool | None, str]] | None = None) -> Iterator[Check]:
    """The workflows are there and install an incidentbot that exists (`released(version)`
    asks the package index about a pinned release); the form agrees with incidentbot.yml."""
    folder = root / ".github" / "workflows"
    missing = [w for w in WORKFLOWS if not (folder / w).is_file()]
    installs = {w: [t for t in _INSTALL.findall((folder / w).read_text("utf-8"))
                    if t == "." or t.startswith("./") or "incidentbot" in t.lower()]
                for w in WORKFLOWS if w not in missing}
    without = sorted(w for w, targets in installs.items() if not targets)
    from_source = sorted(w for w, targets in installs.items()
                         if any(t == "." or t.startswith("./") for t in targets))
    source = (root / "pyproject.toml").is_file() and (root / "incidentbot").is_dir()
    if missing:
        yield Check("workflows", False, "missing: " + ", ".join(missing),
                      "run `incidentbot init` in the repository to write them")
    elif without:
        yield Check("workflows", False, f"{', '.join(without)} install"
                      f"{'s' if len(without) == 1 else ''} no incidentbot",
                      "run `incidentbot init --force` to write them again")
    elif from_source and not source:
        yield Check("workflows", False, f"{', '.join(from_source)} install incidentbot from "
                      "this repository's source, which is not here",
                      "run `incidentbot init --force` to install the released package")
    else:
        what = sorted({t for targets in installs.values() for t in targets})
        yield _released(what, released) or Check(
            "workflows", True, f"{len(WORKFLOWS)} present, installing "
            + ", ".join("this repository's source" if t == "." else t for t in what))
    yield _form(root, config)


_PIN = re.compile(r"incidentbot==([0-9A-Za-z.+!-]+)", re.IGNORECASE)


def _released(targets: list[str],
              released: Callable[[str], tuple[bool | None, str]] | None) -> Check | None:
    """A failed check when a pinned `incidentbot==X` is not on the package index (the
    workflows' `pip install` would fail at the first incident); None when all is well or
    the index could not be asked (said, not failed: the network may be what is missing)."""
    if released is None:
        return None
    for target in targets:
        pin = _PIN.fullmatch(target.strip())
        if pin is None:
            continue
        exists, why = released(pin.group(1))
        if exists is False:
            return Check("workflows", False, f"they install {target}, which is not on the "
                         "package index: `pip install` would fail in every run",
                         "pin a published release in the workflows' `pip install` lines "
                         "(`pip index versions incidentbot` lists them)")
        if exists is None:
            return Check("workflows", True, f"{len(WORKFLOWS)} present, installing {target} "
                         f"(could not ask the package index whether it exists: {why})")
    return None


def _form(root: Path, config: Config) -> Check:
    import yaml

    from incidentbot.core import intake

    path = root / FORM
    if not path.is_file():
        return Check("issue form", False, f"{FORM} is missing",
                       "run `incidentbot init` to write it from incidentbot.yml")
    try:
        form = yaml.safe_load(path.read_text("utf-8"))
        dropdowns = {b.get("id"): b["attributes"].get("options") or []
                     for b in form["body"] if b.get("type") == "dropdown"}
    except (yaml.YAMLError, KeyError, TypeError, AttributeError):
        return Check("issue form", False, f"{FORM} is not an issue form",
                       "run `incidentbot init --force` to write it again")
    problems = []
    levels = [intake.severity(str(o), config) for o in dropdowns.get("severity", [])]
    if levels != [s.level for s in config.severities]:
        problems.append("its severities are not incidentbot.yml's")
    named = [intake.services(str(o), config) for o in dropdowns.get("services", [])]
    if sorted(s for n in named for s in n) != sorted(s.slug for s in config.services) \
            or not all(named):
        problems.append("its services are not incidentbot.yml's")
    return Check("issue form", not problems, "; ".join(problems) or "in step with "
                   "incidentbot.yml", "edit its dropdowns, or `incidentbot init --force` "
                   "writes it again from incidentbot.yml")
