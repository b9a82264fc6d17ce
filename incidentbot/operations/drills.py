"""Drills: a practice incident that plays a scenario's injects and grades the response.

A scenario (`drills/*.yml`) names the incident, the messages to post at given times
("injects") and the actions expected by deadlines. The runner opens a `drill` incident (its
own channel, never paged, announced or on the status page), then on every tick reconciles
the incident with the injects that are due: each inject is a keyed post recorded in the
incident card, so a runner that is stopped and started again neither repeats nor skips one.
At the end it posts a debrief, commits it as Markdown and closes the drill.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from incidentbot.core import config as configuration
from incidentbot.core import markers
from incidentbot.core import plan as planner
from incidentbot.core.commands import Change
from incidentbot.core.config import Config
from incidentbot.core.errors import ConfigError, InvalidInput
from incidentbot.core.model import Status
from incidentbot.core.render.messages import duration
from incidentbot.core.snapshot import Attribution, Snapshot
from incidentbot.core.text import markdown, markdown_cell, slack
from incidentbot.operations import incidents as operations
from incidentbot.operations import reading, sync

DIRECTORY = "drills"
PACKAGED = Path(__file__).resolve().parents[1] / "scenarios"  # shipped with the package
_DURATION = re.compile(r"^(\d+)\s*(s|m|h)$")
KINDS = ("commander", "role", "severity", "status", "update")


@dataclass(frozen=True, slots=True)
class Inject:
    at: timedelta
    text: str


@dataclass(frozen=True, slots=True)
class Expectation:
    what: str
    within: timedelta
    label: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    slug: str
    name: str
    title: str
    severity: int
    services: tuple[str, ...]
    description: str
    injects: tuple[Inject, ...]
    expect: tuple[Expectation, ...]
    reminders: bool = False

    @property
    def length(self) -> timedelta:
        times = [i.at for i in self.injects] + [e.within for e in self.expect]
        return max(times, default=timedelta(0))


def _duration(value: Any, where: str) -> timedelta:
    match = _DURATION.match(str(value).strip())
    if match is None:
        path, _, key = where.rpartition(": ")
        raise ConfigError(f"expected a duration like 90s, 5m or 1h, got {value!r}", path=path,
                          key=key)
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(seconds=amount * {"s": 1, "m": 60, "h": 3600}[unit])


def _fail(source: str, message: str) -> ConfigError:
    return ConfigError(message, path=source)


def parse(text: str, slug: str, config: Config, *, source: str = "scenario") -> Scenario:
    """A scenario from YAML; ConfigError naming the file and key when it is wrong."""
    data = configuration.safe_load(text, source=source)
    if not isinstance(data, dict):
        raise _fail(source, "expected a mapping with name, title and injects")
    allowed = {"name", "title", "severity", "services", "description", "injects", "expect",
               "reminders"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _fail(source, f"unknown key(s) {', '.join(unknown)}; expected "
                          + ", ".join(sorted(allowed)))
    for key in ("name", "title", "injects"):
        if not data.get(key):
            raise _fail(source, f"{key}: required")
    severity = data.get("severity", config.default_severity)
    if severity not in {s.level for s in config.severities}:
        raise _fail(source, "severity: expected one of "
                          + ", ".join(str(s.level) for s in config.severities))
    known = {s.slug for s in config.services}
    services = tuple(str(s) for s in data.get("services") or [])
    for slug_ in services:
        if known and slug_ not in known:
            raise _fail(source, f"services: unknown service {slug_!r}")
    injects = []
    for i, item in enumerate(data["injects"]):
        if not isinstance(item, dict) or not str(item.get("text", "")).strip():
            raise _fail(source, f"injects[{i}]: expected {{at: 2m, text: ...}}")
        injects.append(Inject(_duration(item.get("at"), f"{source}: injects[{i}].at"),
                              str(item["text"]).strip()))
    expect = []
    for i, item in enumerate(data.get("expect") or []):
        where = f"{source}: expect[{i}]"
        where_key = f"expect[{i}]"
        if not isinstance(item, dict) or item.get("what") not in KINDS:
            raise _fail(source, f"{where_key}.what: expected one of {', '.join(KINDS)}")
        value = item.get("value")
        if item["what"] in {"role", "status", "severity"} and value is None:
            raise _fail(source, f"{where_key}.value: required for {item['what']}")
        if item["what"] == "status" and str(value) not in {s.value for s in Status}:
            raise _fail(source, f"{where_key}.value: not a status: {value!r}")
        expect.append(Expectation(str(item["what"]), _duration(item.get("within"),
                                                               f"{where}.within"),
                                  str(item.get("label") or item["what"]),
                                  None if value is None else str(value)))
    return Scenario(slug=slug, name=str(data["name"]), title=str(data["title"]),
                    severity=int(severity), services=services,
                    description=str(data.get("description") or ""),
                    injects=tuple(sorted(injects, key=lambda i: i.at)),
                    expect=tuple(expect), reminders=bool(data.get("reminders", False)))


def load(name: str, config: Config, root: Path | None = None) -> Scenario:
    """drills/<name>.yml in the repository, else the scenario shipped with the package (or a
    path)."""
    path = Path(name)
    if not path.suffix:
        path = scenarios(root).get(name, Path(DIRECTORY) / f"{name}.yml")
    if not path.is_file():
        available = sorted(scenarios(root))
        raise InvalidInput(f"no drill scenario {name!r}; available: "
                           + (", ".join(available) or "none (add drills/<name>.yml)"))
    return parse(path.read_text("utf-8"), path.stem, config, source=str(path))


# -- playing ----------------------------------------------------------------------------------
def due_injects(scenario: Scenario, elapsed: timedelta) -> list[tuple[str, str]]:
    """(key, text) of the injects due at `elapsed` scenario time."""
    return [(f"inject:{i}", f":performing_arts: *[DRILL] {t_plus(inject.at)}:* "
                            f"{slack(inject.text)}")
            for i, inject in enumerate(scenario.injects) if inject.at <= elapsed]


@dataclass
class Result:
    expectation: Expectation
    done_after: timedelta | None

    @property
    def mark(self) -> str:
        if self.done_after is None:
            return "❌ not done"
        if self.done_after <= self.expectation.within:
            return f"✅ at {t_plus(self.done_after)}"
        return f"⚠️ late, at {t_plus(self.done_after)}"


def grade(scenario: Scenario, snapshot: Snapshot, config: Config,
          speed: float) -> list[Result]:
    """When each expectation was met, in scenario time, from the incident card's history
    (who changed what, when) and the updates posted."""
    opened = snapshot.issue.created_at
    history = [(datetime.fromisoformat(t.replace("Z", "+00:00")), what)
               for t, what, _by, _where in snapshot.card.history]
    notes = [c.created_at for c in snapshot.comments
             if snapshot.writers.trusts(c) and c.body.startswith(markers.NOTE)]
    results = []
    for e in scenario.expect:
        wanted: list[datetime] = []
        if e.what in {"commander", "role"}:
            role = "commander" if e.what == "commander" else (e.value or "")
            label = planner.role_label(config, role)
            wanted = [t for t, what in history if what.startswith(f"{label}:")
                      and not what.endswith(":")]
        elif e.what == "severity":
            name = config.severity(int(e.value or 0)).name
            wanted = [t for t, what in history if what == f"severity:{name}"]
        elif e.what == "status":
            wanted = [t for t, what in history if what == f"status:{e.value}"]
        elif e.what == "update":
            wanted = notes
        first = min(wanted, default=None)
        results.append(Result(e, (first - opened) * speed if first else None))
    return results


def debrief(scenario: Scenario, snapshot: Snapshot, results: list[Result]) -> str:
    """The debrief as Markdown (committed) — the Slack post is built from the same results."""
    lines = [f"# Drill debrief: {markdown(scenario.name)}", "",
             f"Incident [#{snapshot.issue.number}]({snapshot.issue.url}) · "
             f"`{snapshot.card.name}` · scenario `{scenario.slug}` · "
             f"{snapshot.issue.created_at:%Y-%m-%d %H:%M} UTC", "",
             "| Expected | By | Result |", "| --- | --- | --- |"]
    for r in results:
        lines.append(f"| {markdown_cell(r.expectation.label)} | "
                     f"{t_plus(r.expectation.within)} | {r.mark} |")
    met = sum(1 for r in results if r.done_after is not None
              and r.done_after <= r.expectation.within)
    lines += ["", f"**{met} of {len(results)}** expectations met on time.", "",
              "## Injects", ""]
    lines += [f"- {t_plus(i.at)}: {markdown(i.text)}" for i in scenario.injects]
    lines += ["", "## What the team did", ""]
    for stamp, what, by, where in snapshot.card.history:
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00")) - snapshot.issue.created_at
        lines.append(f"- {t_plus(at)}: {markdown(what)} by {markdown(by or 'someone')} "
                     f"({markdown(where)})")
    return "\n".join(lines) + "\n"


def debrief_post(scenario: Scenario, results: list[Result]) -> str:
    met = sum(1 for r in results if r.done_after is not None
              and r.done_after <= r.expectation.within)
    rows = "\n".join(f"• {slack(r.expectation.label)} (by {t_plus(r.expectation.within)})"
                     f": {r.mark}" for r in results)
    return (f":checkered_flag: *[DRILL] Debrief — {slack(scenario.name)}*: {met} of "
            f"{len(results)} on time.\n{rows}")


def run(c: operations.Connections, scenario: Scenario, *, speed: float = 1.0,
        number: int | None = None, sleep: Callable[[float], None] = time.sleep,
        reporter: str | None = None, max_ticks: int = 10_000,
        request_id: str | None = None) -> Iterator[str]:
    """Play `scenario` (opening the drill, or resuming drill #`number`) to its debrief.

    Yields a line per thing that happened. `speed` > 1 plays faster (the demo uses 60).
    """
    config = c.config
    if number is None:
        issue, _ = operations.open_incident(
            c, title=scenario.title, severity=scenario.severity, services=scenario.services,
            description=scenario.description or f"Drill: {scenario.name}", drill=True,
            reporter=reporter,
            request_id=request_id or f"drill-{scenario.slug}-{reporter}-{time.time():.0f}")
        number = issue.number
        yield f"drill #{number} opened: {issue.url}"
    sync.sync(c.tracker, c.chat, c.pager, config, number, now=c.clock(),
              drill_scenario=scenario.slug, drill_reminders=scenario.reminders)
    snapshot = reading.read(c.tracker, number, config)
    if not snapshot.fields.drill:
        raise InvalidInput(f"#{number} is not a drill")
    opened = snapshot.issue.created_at
    for _ in range(max_ticks):
        elapsed = (c.clock() - opened) * speed
        due = [(k, t) for k, t in due_injects(scenario, elapsed)
               if k not in snapshot.card.messages]
        if due or elapsed >= scenario.length:
            outcome = sync.sync(c.tracker, c.chat, c.pager, config, number, now=c.clock(),
                                extra_posts=due)
            for key, _text in due:
                index = int(key.split(":")[1])
                yield f"{t_plus(scenario.injects[index].at)}: inject posted"
            for failure in outcome.failed:
                yield f"warning: {failure}"
            snapshot = reading.read(c.tracker, number, config)
        if elapsed >= scenario.length and all(
                f"inject:{i}" in snapshot.card.messages for i in range(len(scenario.injects))):
            break
        upcoming = [i.at for i in scenario.injects if i.at > elapsed] + [scenario.length]
        wait = (min(upcoming) - elapsed).total_seconds() / speed
        sleep(max(0.05, min(wait, 30.0)))
    yield from finish(c, scenario, number, speed)


def finish(c: operations.Connections, scenario: Scenario, number: int,
           speed: float) -> Iterator[str]:
    """Grade, post and commit the debrief (each once), then close the drill."""
    config = c.config
    snapshot = reading.read(c.tracker, number, config)
    results = grade(scenario, snapshot, config, speed)
    path = (f"{config.postmortem.directory}/drills/"
            f"{snapshot.issue.created_at:%Y-%m-%d}-{snapshot.card.name}.md")
    c.tracker.write_file(path, debrief(scenario, snapshot, results),
                         f"Drill debrief of #{number}", c.tracker.default_branch())
    sync.sync(c.tracker, c.chat, c.pager, config, number, now=c.clock(),
              extra_posts=[("debrief", debrief_post(scenario, results))])
    yield f"debrief committed to {path}"
    for r in results:
        yield f"  {r.expectation.label}: {r.mark}"
    if snapshot.issue.state != "closed":
        operations.update_incident(c, number, Change(status=Status.CLOSED),
                                   by=Attribution("incidentbot", "drill"))
        yield f"drill #{number} closed"


def scenarios(root: Path | None = None) -> Mapping[str, Path]:
    """Scenario name -> file: the shipped ones (package data), replaced by the repository's
    drills/<name>.yml of the same name."""
    found = {p.stem: p for p in sorted(PACKAGED.glob("*.yml"))}
    found.update({p.stem: p for p in sorted(((root or Path.cwd()) / DIRECTORY).glob("*.yml"))})
    return dict(sorted(found.items()))


def t_plus(delta: timedelta) -> str:
    """T+90s as `T+1m30s`: drills count in seconds."""
    seconds = max(0, int(delta.total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    if minutes >= 60:
        return "T+" + duration(delta)
    if minutes and seconds:
        return f"T+{minutes}m{seconds:02d}s"
    return f"T+{minutes}m" if minutes else f"T+{seconds}s"
