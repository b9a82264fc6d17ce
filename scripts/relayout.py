"""Rewrite imports after the flat package moved into folders (issue 16).

Run with file paths (or none: every .py/.toml/.md/.yml under the tree). Idempotent: a module
already under its new dotted path is left alone. Kept in scripts/ so a branch written against
the flat layout can be carried over by running it again.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

LAYOUT = {
    "core": "model names config cron schema errors settings ports card markers commands trust "
            "identity flow intake people oncall timeline review notify publicstatus text upptime "
            "configtypes configcheck snapshot plan health facts",
    "core.render": "messages blocks views wording incident_graph statusapi statusbars upptimeapi "
                   "publicincidents publicupdates daystats",
    "adapters": "github slack pagerduty outbound databranch datastore journal probes monitordata "
                "daycache pagecache",
    "operations": "sync lease amend evidence changes postmortem followups metrics drills practice "
                  "periodic monitor statuspage subscriptions doctor init reading apply "
                  "comment_commands",
    "entrypoints": "cli dispatcher demo",
}
RENAMED = {"operations": "operations.incidents"}  # operations.py became operations/incidents.py
NEW: dict[str, str] = dict(RENAMED)
for package, names in LAYOUT.items():
    for name in names.split():
        NEW[name] = f"{package}.{name}"

# Names that left their module when it was split: `module.name` -> (import line, new spelling).
MOVED = {
    ("sync", "Attribution"): ("from incidentbot.core.snapshot import Attribution", "Attribution"),
    ("sync", "Snapshot"): ("from incidentbot.core.snapshot import Snapshot", "Snapshot"),
    ("sync", "Outcome"): ("from incidentbot.operations.apply import Outcome", "Outcome"),
    ("sync", "read"): ("from incidentbot.operations import reading", "reading.read"),
    ("sync", "writers_of"): ("from incidentbot.operations import reading", "reading.writers_of"),
    ("sync", "run_commands"): ("from incidentbot.operations import comment_commands",
                               "comment_commands.run_commands"),
    ("sync", "write_fields"): ("from incidentbot.operations import comment_commands",
                               "comment_commands.write_fields"),
    ("sync", "role_label"): ("from incidentbot.core import plan as planner", "planner.role_label"),
    ("sync", "is_private"): ("from incidentbot.core import plan as planner", "planner.is_private"),
    **{("monitor", n): ("from incidentbot.core import health", f"health.{n}") for n in (
        "UP", "DOWN", "DEGRADED", "INTERVAL", "FAIL_AFTER", "RECOVER_AFTER", "Sample", "Probe",
        "ServiceState", "Transition", "advance", "uptime", "Uptime", "coverage",
        "parse_samples")},
    **{("monitor", n): ("from incidentbot.adapters import probes", f"probes.{n}") for n in (
        "probe_http", "probe_tcp", "probe_tls", "run_checks", "check_service", "expand")},
}
MOVED_USE = re.compile(r"(?<![\w.])(?:sync|reconciler|monitor)\.([A-Za-z_]+)\b(?!\.py)")


def _moved(text: str) -> str:
    added: set[str] = set()

    def use(match: re.Match[str]) -> str:
        module = "monitor" if match[0].startswith("monitor") else "sync"
        found = MOVED.get((module, match[1]))
        if found is None:
            return match[0]
        added.add(found[0])
        return found[1]

    text = MOVED_USE.sub(use, text)
    first = re.search(r"^from incidentbot[^\n]*\n", text, re.M)
    if added and first:
        text = text[:first.start()] + "".join(f"{a}\n" for a in sorted(added)) + \
            text[first.start():]
    return text


IMPORT_FROM_PACKAGE = re.compile(
    r"^(?P<indent>[ \t]*)from incidentbot import (?P<names>\([^)]*\)|[^\n]*)", re.M)
DOTTED = re.compile(r"\bincidentbot\.(?P<mod>[a-z_]+)\b(?!\.(?:py|yml|json))")


def _split(names: str) -> list[tuple[str, str | None]]:
    body = names.strip()
    if body.startswith("("):
        body = body[1:-1]
    out = []
    for part in body.replace("\n", " ").split(","):
        part = part.split("#")[0].strip()
        if not part:
            continue
        bits = part.split(" as ")
        out.append((bits[0].strip(), bits[1].strip() if len(bits) > 1 else None))
    return out


def _from_package(match: re.Match[str]) -> str:
    indent = match["indent"]
    groups: dict[str, list[str]] = {}
    for name, alias in _split(match["names"]):
        target = NEW.get(name)
        if target is None:
            groups.setdefault("incidentbot", []).append(name + (f" as {alias}" if alias else ""))
            continue
        parent, leaf = ("incidentbot." + target).rsplit(".", 1)
        local = alias or name
        groups.setdefault(parent, []).append(leaf + (f" as {local}" if local != leaf else ""))
    return "\n".join(f"{indent}from {parent} import {', '.join(items)}"
                     for parent, items in groups.items())


def _dotted(match: re.Match[str]) -> str:
    mod = match["mod"]
    if mod not in NEW or mod in LAYOUT:  # `incidentbot.operations` is now the package itself
        return match[0]
    return f"incidentbot.{NEW[mod]}"


def rewrite(text: str) -> str:
    text = DOTTED.sub(_dotted, text)
    return _moved(IMPORT_FROM_PACKAGE.sub(_from_package, text))


def main(paths: list[str]) -> None:
    files = [Path(p) for p in paths] or [
        p for p in Path(".").rglob("*")
        if p.suffix in {".py", ".toml"} and not {".venv", "build", ".git"} & set(p.parts)]
    for path in files:
        old = path.read_text("utf-8")
        new = rewrite(old)
        if new != old:
            path.write_text(new, "utf-8")
            print(f"rewrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
