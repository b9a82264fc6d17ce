"""incidentbot.yml: load, validate against the shipped schema, fill defaults, report clearly.

The settings' dataclasses live in configtypes, the cross-field rules in configcheck; every
name is importable from here as before.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from incidentbot.core import schema
from incidentbot.core.configcheck import check
from incidentbot.core.configtypes import (
    DEFAULT_IMPACTS,
    DEFAULT_ROLES,
    DEFAULT_SEVERITIES,
    Config,
    GitHubSettings,
    MonitorSettings,
    NotifyTarget,
    PeriodicSettings,
    Person,
    PostmortemSettings,
    ReminderSettings,
    ScheduleSettings,
    SlackSettings,
    StatusPageSettings,
    Subscriber,
)
from incidentbot.core.errors import ConfigError, ConfigErrors
from incidentbot.core.model import HealthCheck, Link, Role, Service, Severity, Status

__all__ = [
    "CONFIG_ENV", "CONFIG_FILE", "DEFAULT_IMPACTS", "DEFAULT_ROLES", "DEFAULT_SEVERITIES",
    "MAX_VALUES", "Config", "GitHubSettings", "HealthCheck", "Link", "MonitorSettings",
    "NotifyTarget", "PeriodicSettings", "Person", "PostmortemSettings", "ReminderSettings",
    "Role", "ScheduleSettings", "Service", "Severity", "SlackSettings", "Status",
    "StatusPageSettings", "Subscriber", "check", "compose", "dotted", "find", "load", "parse",
    "safe_load", "standard_labels", "summary",
]

CONFIG_FILE = "incidentbot.yml"
CONFIG_ENV = "INCIDENTBOT_CONFIG"


# -- reading YAML with line numbers ---------------------------------------------------------
class _Located:
    """A YAML document as plain values, with the line of every path in it."""

    def __init__(self) -> None:
        self.lines: dict[schema.Path, int] = {}
        self.problems: list[tuple[schema.Path, int, str]] = []

    def convert(self, node: yaml.Node, path: schema.Path) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._scalar(key_node)
                if isinstance(key, list | dict) or key is None:
                    self.problems.append((path, key_node.start_mark.line + 1,
                                          "expected a plain key"))
                    continue
                if key in result:
                    self.problems.append(((*path, key), key_node.start_mark.line + 1,
                                          "appears twice; keep one"))
                    continue
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                result[key] = self.convert(value_node, (*path, key))
                self.lines[(*path, key)] = key_node.start_mark.line + 1
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    @staticmethod
    def _scalar(node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return [] if isinstance(node, yaml.SequenceNode) else {}
        return _LOADER.construct_object(node, deep=True)

    def line_of(self, path: schema.Path) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


_LOADER = yaml.SafeLoader("")
# A real configuration has hundreds of values; aliases (`*name`) repeat a value without
# copying it, so a few lines of nested aliases can stand for billions (an "alias bomb").
MAX_VALUES = 20_000


def _expanded(node: yaml.Node, source: str) -> None:
    """Refuse a document whose aliases expand to more than MAX_VALUES values, naming the
    line where it crossed the bound; counted once per distinct node, so this is fast."""
    sizes: dict[int, int] = {}

    def size(n: yaml.Node) -> int:
        known = sizes.get(id(n))
        if known is not None:
            return known
        total = 1
        if isinstance(n, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in n.value)
        elif isinstance(n, yaml.SequenceNode):
            total += sum(size(item) for item in n.value)
        if total > MAX_VALUES:
            raise ConfigError(f"its aliases (*name) expand to more than {MAX_VALUES} values "
                              "(an alias bomb?): write the values out instead of repeating "
                              "anchors", path=source, line=n.start_mark.line + 1)
        sizes[id(n)] = total
        return total

    size(node)


def compose(text: str, *, source: str) -> yaml.Node | None:
    """The YAML document's node tree, refusing invalid YAML and alias bombs with file:line."""
    try:
        # libyaml's parser when PyYAML has it: ten times faster than the pure-Python one on
        # every start, with the same nodes and line numbers.
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if node is not None:
            _expanded(node, source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"not valid YAML: {reason}", path=source,
                          line=mark.line + 1 if mark else None) from None
    except RecursionError:
        raise ConfigError("not valid YAML: nested too deeply", path=source) from None
    return node


def safe_load(text: str, *, source: str) -> Any:
    """yaml.safe_load for files people write (scenarios, Upptime configs, front matter),
    with compose()'s refusals: a bad file is a ConfigError naming it, never a hang."""
    node = compose(text, source=source)
    if node is None:
        return None
    try:
        return yaml.SafeLoader("").construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                          path=source, line=mark.line + 1 if mark else None) from None


def dotted(path: schema.Path) -> str:
    """`severities[2].label` for ("severities", 2, "label")."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# -- loading ---------------------------------------------------------------------------------
def find(cwd: str | Path | None = None) -> Path | None:
    """The config file to use: $INCIDENTBOT_CONFIG, else ./incidentbot.yml if it exists."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        return Path(named)
    candidate = Path(cwd or ".") / CONFIG_FILE
    return candidate if candidate.exists() else None


def load(path: str | Path | None = None) -> Config:
    """The configuration from `path` (or the file `find()` names), or the defaults if none.

    Raises ConfigErrors naming file, line and key for every problem found; nothing partial is
    returned.
    """
    chosen = Path(path) if path is not None else find()
    if chosen is None:
        return Config()
    try:
        text = chosen.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(chosen)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot be read: {exc}", path=str(chosen)) from None
    return parse(text, source=str(chosen))


def parse(text: str, *, source: str = CONFIG_FILE) -> Config:
    """The configuration a YAML text describes; ConfigErrors when it is wrong."""
    node = compose(text, source=source)
    if node is None:
        return Config(source=source)
    located = _Located()
    try:
        data = located.convert(node, ())
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", path=source) from None
    errors = [ConfigError(msg, path=source, line=line, key=dotted(p))
              for p, line, msg in located.problems]
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping of settings, got {schema.describe(data)}",
                          path=source, line=1)
    lines = text.splitlines()
    for p in schema.validate(data):
        line = located.line_of(p.path)
        errors.append(ConfigError(p.message + _comment_hint(p.message, lines, line),
                                  path=source, line=line, key=dotted(p.path)))
    if errors:
        raise ConfigErrors(sorted(errors, key=lambda e: e.line or 0))
    config = _build(data, source)
    problems = check(config)
    if problems:
        found = [ConfigError(msg, path=source, line=located.line_of(p), key=dotted(p))
                 for p, msg in problems]
        raise ConfigErrors(sorted(found, key=lambda e: e.line or 0))
    return config


def _comment_hint(message: str, lines: list[str], line: int | None) -> str:
    """A null where a value was written with `#` (`announce: #incidents`): YAML read it as
    a comment, so say so."""
    if not message.endswith("got null") or line is None or not 0 < line <= len(lines):
        return ""
    _key, colon, rest = lines[line - 1].partition(":")
    if colon and rest.lstrip().startswith("#"):
        quoted = f'"{rest.strip()}"'
        if message.startswith("expected a list"):
            quoted = f"[{quoted}]"
        return f" (YAML reads `{rest.strip()}` as a comment: quote it, {quoted})"
    return ""


# -- building the dataclasses from validated data --------------------------------------------
def _defs(name: str) -> Mapping[str, Any]:
    return schema.schema()["$defs"][name]  # type: ignore[no-any-return]


def _with_defaults(data: Mapping[str, Any] | None, node: Mapping[str, Any]) -> dict[str, Any]:
    return {**schema.defaults(node), **(data or {})}


def _minutes(value: int | str | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    number, unit = re.fullmatch(r"(\d+)\s*(m|min|h|d)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"m": 1, "min": 1, "h": 60, "d": 1440}[unit]


def _severity(d: Mapping[str, Any]) -> Severity:
    d = _with_defaults(d, _defs("severity"))
    level = d["level"]
    return Severity(
        level=level,
        label=d.get("label", f"sev:{level}"),
        name=d.get("name", f"SEV{level}"),
        meaning=d.get("meaning", ""),
        postmortem=d["postmortem"],
        page=d["page"],
        update_every_minutes=_minutes(d.get("update_every")),
        invite=tuple(d["invite"]),
        announce=tuple(d["announce"]),
        private=d["private"],
        invite_upstream=d.get("invite_upstream", level <= 2),
        escalation_policy=d.get("escalation_policy"),
    )


def _check_from(d: Mapping[str, Any]) -> HealthCheck:
    d = _with_defaults(d, _defs("check"))
    return HealthCheck(
        kind=d["type"], url=d.get("url"), host=d.get("host"), port=d.get("port"),
        method=d["method"], headers=dict(d["headers"]), body=d.get("body"),
        expected_status=tuple(d["expected_status"]), max_response_ms=d.get("max_response_ms"),
        contains=d.get("contains"), not_contains=d.get("not_contains"),
        follow_redirects=d["follow_redirects"], timeout_s=float(d["timeout_s"]),
        cert_expiry_days=d["cert_expiry_days"],
    )


def _service(d: Mapping[str, Any]) -> Service:
    d = _with_defaults(d, _defs("service"))
    return Service(
        slug=d["slug"], name=d.get("name", d["slug"]), public=d["public"], private=d["private"],
        owners=tuple(o.lstrip("@") for o in d["owners"]),
        docs=tuple(Link(x["title"], x["url"]) for x in d["docs"]),
        checks=tuple(_check_from(c) for c in d["checks"]),
        depends_on=tuple(d["depends_on"]), group=d.get("group"),
        repos=tuple(d.get("repos", ())),
        max_severity=d.get("max_severity"), max_severity_reason=d.get("max_severity_reason", ""),
        escalation_policy=d.get("escalation_policy"),
    )


def _impacts(data: Mapping[str, Any], top: Mapping[str, Any],
             page: Mapping[str, Any]) -> dict[str, str]:
    """The page's impacts by severity level. The defaults name levels 1-3: a team whose scale
    lacks some of them keeps the rest (what a team writes itself is checked, not trimmed)."""
    impacts = {str(k): str(v) for k, v in page["impacts"].items()}
    if "impacts" in (data.get("status_page") or {}) or "severities" not in top:
        return impacts
    levels = {str(s.get("level")) for s in top["severities"] if isinstance(s, Mapping)}
    return {k: v for k, v in impacts.items() if k in levels}


def _build(data: Mapping[str, Any], source: str) -> Config:
    top = _with_defaults(data, schema.schema())
    slack = _with_defaults(top.get("slack"), _defs("slack"))
    postmortem = _with_defaults(top.get("postmortem"), _defs("postmortem"))
    page = _with_defaults(top.get("status_page"), _defs("status_page"))
    monitor = _with_defaults(top.get("monitor"), _defs("monitor"))
    periodic = top.get("periodic") or {}
    roles = (
        {Role(k): (v or {}).get("title", DEFAULT_ROLES[Role(k)]) for k, v in top["roles"].items()}
        if "roles" in top else dict(DEFAULT_ROLES)
    )
    return Config(
        source=source,
        repository=top.get("repository"),
        timezone=top["timezone"],
        default_severity=top["default_severity"],
        slack=SlackSettings(
            announce=tuple(slack["announce"]), channel_pattern=slack["channel_pattern"],
            drill_channel_pattern=slack["drill_channel_pattern"],
            security_channel=slack["security_channel"], on_close=slack["on_close"],
            on_resolve=slack["on_resolve"],
            resolved_suffix=slack["resolved_suffix"], teams=tuple(slack["teams"]),
            close_allowed=tuple(slack["close_allowed"]),
        ),
        severities=(tuple(_severity(s) for s in top["severities"]) if "severities" in top
                    else DEFAULT_SEVERITIES),
        roles=roles,
        role_descriptions={Role(k): (v or {})["description"]
                           for k, v in (top.get("roles") or {}).items()
                           if (v or {}).get("description")},
        services=tuple(_service(s) for s in top["services"]),
        people={pid: Person(id=pid, **p) for pid, p in top["people"].items()},
        postmortem=PostmortemSettings(**postmortem),
        status_page=StatusPageSettings(
            **{k: v for k, v in page.items() if k not in {"navbar", "impacts", "subscribers"}},
            subscribers=tuple(Subscriber(x["type"], x["url"]) for x in page["subscribers"]),
            navbar=tuple(Link(x["title"], x["url"]) for x in page["navbar"]),
            impacts=_impacts(data, top, page),
        ),
        monitor=MonitorSettings(**monitor),
        github=GitHubSettings(writers=tuple(
            (top.get("github") or {}).get("writers", ["github-actions[bot]"]))),
        call=top.get("call"),
        schedule=ScheduleSettings(
            drills=tuple((d["scenario"], d["cron"])
                         for d in (top.get("schedule") or {}).get("drills", [])),
            report=((top.get("schedule") or {}).get("report") or {}).get("cron")),
        notify=tuple(NotifyTarget(
            name=n.get("name") or f"{n['type']}-{i + 1}", kind=n["type"], url=n.get("url"),
            url_env=n.get("url_env"), to=tuple(n.get("to") or ()),
            severities=tuple(n.get("severities") or ())) for i, n in enumerate(top["notify"])),
        reminders=ReminderSettings(commander_after=_minutes(
            (top.get("reminders") or {}).get("commander_after", "10m")) or 10),
        periodic=PeriodicSettings(
            sweep=_minutes(periodic.get("sweep", "30m")) or 30,
            page_every=_minutes(periodic.get("page_every", "1h")) or 60,
            dispatcher_every=_minutes(periodic.get("dispatcher_every"))),
    )



def summary(config: Config) -> list[str]:
    """A few lines for `incidentbot config check`."""
    scale = ", ".join(
        f"{s.name} ({s.label}{', postmortem' if s.postmortem else ''}"
        f"{', pages' if s.page else ''})" for s in config.severities
    )
    lines = [
        f"config: {config.source}",
        f"repository: {config.repository or '(from $GITHUB_REPOSITORY)'}",
        f"severities: {scale}; default {config.severity(config.default_severity).name}",
        f"roles: {', '.join(f'{r.value} ({t})' for r, t in config.roles.items())}",
        f"services: {len(config.services)}"
        + (f" ({', '.join(s.slug for s in config.services)})" if config.services else ""),
        f"health checks: {sum(len(s.checks) for s in config.services)}",
        f"people: {len(config.people)}",
        f"slack: announce in {', '.join(config.slack.announce) or 'nowhere'}; channels "
        f"{config.slack.channel_pattern}; on close: {config.slack.on_close}",
        f"postmortems: {config.postmortem.directory}/ via {config.postmortem.review}",
        f"status page: {config.status_page.title!r} -> {config.status_page.output}/",
    ]
    return lines


def standard_labels(config: Config) -> list[tuple[str, str, str]]:
    """Every label incidentbot uses, with a colour and a description, for a new repository."""
    labels = [("incident", "b60205", "An incident managed by incidentbot")]
    labels += [(f"status:{s.value}", "fbca04", f"Incident status: {s.value}") for s in Status]
    labels += [(s.label, "d93f0b", f"{s.name}: {s.meaning}"[:100]) for s in config.severities]
    labels += [(f"service:{s.slug}", "1d76db", s.name[:100]) for s in config.services]
    labels += [("public", "0e8a16", "Shown on the public status page"),
               ("private", "5319e7", "Security incident: private channel, never public"),
               ("drill", "c5def5", "A practice incident"),
               ("auto", "bfdadc", "Opened by a health check")]
    return labels
