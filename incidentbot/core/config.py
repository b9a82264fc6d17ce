"""incidentbot.yml: load, validate against the shipped schema, fill defaults, report clearly."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from incidentbot.core import cron, names, schema
from incidentbot.core.errors import ConfigError, ConfigErrors
from incidentbot.core.model import HealthCheck, Link, Role, Service, Severity, Status

CONFIG_FILE = "incidentbot.yml"
CONFIG_ENV = "INCIDENTBOT_CONFIG"


# -- the default scale (docs/configuration.md shows it) -------------------------------------
DEFAULT_SEVERITIES: tuple[Severity, ...] = (
    Severity(1, "sev:1", "SEV1", "Critical: the product is down or data is at risk for many "
             "customers.", postmortem=True, page=True, update_every_minutes=30,
             invite_upstream=True),
    Severity(2, "sev:2", "SEV2", "Major: a core feature is broken or badly degraded.",
             postmortem=True, page=True, update_every_minutes=60, invite_upstream=True),
    Severity(3, "sev:3", "SEV3", "Minor: a feature is degraded; a workaround exists.",
             postmortem=True, update_every_minutes=240),
    Severity(4, "sev:4", "SEV4", "Low: small impact on few customers."),
    Severity(5, "sev:5", "SEV5", "Cosmetic: no functional impact."),
)
# A public incident's effect on its services' status, by severity level (others: degraded).
DEFAULT_IMPACTS: Mapping[str, str] = {"1": "major_outage", "2": "partial_outage",
                                      "3": "degraded_performance"}
DEFAULT_ROLES: Mapping[Role, str] = {
    Role.COMMANDER: "Incident commander",
    Role.COMMS: "Communications lead",
    Role.TECH: "Technical lead",
    Role.SUPPORT: "Support lead",
}


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str = ""
    slack: str | None = None
    github: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class SlackSettings:
    announce: tuple[str, ...] = ("#incidents",)
    channel_pattern: str = "inc-{name}"
    drill_channel_pattern: str = "drill-{name}"
    security_channel: str | None = None
    on_close: str = "archive"
    on_resolve: str = "none"
    resolved_suffix: str = "-resolved"
    teams: tuple[str, ...] = ()
    close_allowed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PostmortemSettings:
    directory: str = "incidents"
    template: str = "templates/postmortem.md.j2"
    review: str = "pull_request"
    branch_prefix: str = "postmortem/"


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A webhook told of every public update: `type` slack, teams or json; `url` is
    usually `$NAME`, read from the environment when posting (webhook URLs are secrets)."""

    type: str
    url: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class StatusPageSettings:
    title: str = "Status"
    url: str | None = None
    base_path: str = "/"
    output: str = "site"
    logo: str | None = None
    intro: str | None = None
    cname: str | None = None
    navbar: tuple[Link, ...] = ()
    statuses: Mapping[str, str] = field(default_factory=dict)  # our status -> public word
    impacts: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_IMPACTS))
    history_per_page: int = 25
    subscribers: tuple[Subscriber, ...] = ()


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    fail_after: int = 2
    recover_after: int = 2
    severity: int = 2
    public: bool = False
    concurrency: int = 20


@dataclass(frozen=True, slots=True)
class ReminderSettings:
    commander_after: int = 10  # minutes without a commander before the nudge


@dataclass(frozen=True, slots=True)
class GitHubSettings:
    writers: tuple[str, ...] = ("github-actions[bot]",)


@dataclass(frozen=True, slots=True)
class NotifyTarget:
    """Somewhere beyond Slack told of incidents: a Teams or JSON webhook, or email."""

    name: str
    kind: str  # teams | webhook | email
    url: str | None = None
    url_env: str | None = None
    to: tuple[str, ...] = ()
    severities: tuple[int, ...] = ()  # empty: every level


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """When drills and the report run by themselves: (scenario, cron) pairs and a cron."""

    drills: tuple[tuple[str, str], ...] = ()
    report: str | None = None


@dataclass(frozen=True, slots=True)
class PeriodicSettings:
    sweep: int = 30        # minutes back the sweep syncs changed incidents
    page_every: int = 60   # minutes: the page is rebuilt at least this often
    dispatcher_every: int | None = None  # minutes: the dispatcher's timer (None: off)


@dataclass(frozen=True, slots=True)
class Config:
    """Everything incidentbot.yml says, with defaults filled in."""

    source: str = "(defaults)"
    repository: str | None = None
    timezone: str = "UTC"
    default_severity: int = 3
    slack: SlackSettings = field(default_factory=SlackSettings)
    severities: tuple[Severity, ...] = DEFAULT_SEVERITIES
    roles: Mapping[Role, str] = field(default_factory=lambda: dict(DEFAULT_ROLES))
    role_descriptions: Mapping[Role, str] = field(default_factory=dict)
    services: tuple[Service, ...] = ()
    people: Mapping[str, Person] = field(default_factory=dict)
    postmortem: PostmortemSettings = field(default_factory=PostmortemSettings)
    status_page: StatusPageSettings = field(default_factory=StatusPageSettings)
    monitor: MonitorSettings = field(default_factory=MonitorSettings)
    reminders: ReminderSettings = field(default_factory=lambda: ReminderSettings())
    github: GitHubSettings = field(default_factory=GitHubSettings)
    call: str | None = None  # a URL, or a pattern with {name} / {number}
    notify: tuple[NotifyTarget, ...] = ()
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    periodic: PeriodicSettings = field(default_factory=PeriodicSettings)

    def severity(self, level: int) -> Severity:
        for s in self.severities:
            if s.level == level:
                return s
        raise KeyError(level)

    def service(self, slug: str) -> Service:
        for s in self.services:
            if s.slug == slug:
                return s
        raise KeyError(slug)

    def service_names(self, slugs: Iterable[str]) -> list[str]:
        """Display names of services; an unknown slug stands for itself."""
        names = {s.slug: s.name for s in self.services}
        return [names.get(slug, slug) for slug in slugs]

    def person_by_slack(self, user_id: str) -> Person | None:
        return next((p for p in self.people.values() if p.slack == user_id), None)

    def person_by_github(self, login: str) -> Person | None:
        wanted = login.lower()
        return next((p for p in self.people.values() if (p.github or "").lower() == wanted), None)


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
    errors += [ConfigError(p.message, path=source, line=located.line_of(p.path),
                           key=dotted(p.path)) for p in schema.validate(data)]
    if errors:
        raise ConfigErrors(sorted(errors, key=lambda e: e.line or 0))
    config = _build(data, source)
    problems = check(config)
    if problems:
        found = [ConfigError(msg, path=source, line=located.line_of(p), key=dotted(p))
                 for p, msg in problems]
        raise ConfigErrors(sorted(found, key=lambda e: e.line or 0))
    return config


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


# -- rules the schema cannot say -------------------------------------------------------------
def check(config: Config) -> list[tuple[schema.Path, str]]:
    """Cross-field problems: duplicates, dangling references, patterns, time zones."""
    problems: list[tuple[schema.Path, str]] = []
    problems += _check_severities(config)
    problems += _check_services(config)
    for key in ("channel_pattern", "drill_channel_pattern"):
        problems += [(("slack", key), m) for m in _pattern_problems(getattr(config.slack, key))]
    problems += _check_timezone(config.timezone)
    problems += _check_people(config)
    for i, target in enumerate(config.notify):
        if target.kind == "email" and not target.to:
            problems.append((("notify", i), "an email target needs `to`"))
        if target.kind != "email" and not (target.url or target.url_env):
            problems.append((("notify", i), f"a {target.kind} target needs `url` or `url_env`"))
        levels = {s.level for s in config.severities}
        for j, level in enumerate(target.severities):
            if level not in levels:
                problems.append((("notify", i, "severities", j),
                                 f"expected one of the levels {sorted(levels)}, got {level}"))
    if len({t.name for t in config.notify}) != len(config.notify):
        problems.append((("notify",), "two targets have the same name"))
    crons: list[tuple[schema.Path, str]] = [(("schedule", "drills", i, "cron"), c)
             for i, (_s, c) in enumerate(config.schedule.drills)]
    if config.schedule.report:
        crons.append((("schedule", "report", "cron"), config.schedule.report))
    for path, expression in crons:
        try:
            cron.parse(expression)
        except ValueError as exc:
            problems.append((path, str(exc)))
    if config.call:
        try:
            config.call.format(name="n", number=1)
        except (KeyError, IndexError, ValueError):
            problems.append((("call",), "expected a URL whose only placeholders are {name} "
                                        f"and {{number}}, got {config.call!r}"))
    problems += _check_status_page(config)
    return problems


def _check_status_page(config: Config) -> list[tuple[schema.Path, str]]:
    """The page's settings are used, never accepted and ignored: a logo that is neither a URL
    nor a file next to incidentbot.yml, or an impact for a severity that does not exist, is
    refused here rather than silently missing from the page."""
    from pathlib import Path

    problems: list[tuple[schema.Path, str]] = []
    page = config.status_page
    levels = {str(s.level) for s in config.severities}
    for key in page.impacts:
        if key not in levels:
            problems.append((("status_page", "impacts", key),
                             f"expected a severity level ({', '.join(sorted(levels))}), "
                             f"got {key!r}"))
    if page.logo and not re.match(r"^https?://", page.logo):
        folder = Path(config.source).parent if config.source and \
            not config.source.startswith("(") else Path.cwd()
        if ".." in Path(page.logo).parts or Path(page.logo).is_absolute():
            problems.append((("status_page", "logo"), "expected an http(s) URL or a path "
                             f"inside the repository, got {page.logo!r}"))
        elif not (folder / page.logo).is_file():
            problems.append((("status_page", "logo"), f"expected an http(s) URL or a file "
                             f"next to incidentbot.yml; {page.logo!r} does not exist"))
    return problems


def _check_severities(config: Config) -> list[tuple[schema.Path, str]]:
    problems: list[tuple[schema.Path, str]] = []
    levels: set[int] = set()
    labels: set[str] = set()
    for i, s in enumerate(config.severities):
        if s.level in levels:
            problems.append((("severities", i, "level"), f"level {s.level} is used twice"))
        if s.label.lower() in labels:
            problems.append((("severities", i, "label"), f"label {s.label!r} is used twice"))
        if not s.label.endswith(str(s.level)) or s.label[:-len(str(s.level))][-1:].isdigit():
            problems.append((("severities", i, "label"),
                             f"expected a label ending in its level {s.level}, got {s.label!r}"))
        levels.add(s.level)
        labels.add(s.label.lower())
        for j, who in enumerate(s.invite):
            problems += _person_ref(config, who, ("severities", i, "invite", j))
    if [s.level for s in config.severities] != sorted(levels):
        problems.append((("severities",), "expected levels in order, most severe (1) first"))
    if config.default_severity not in levels:
        problems.append((("default_severity",), f"expected one of the levels "
                         f"{', '.join(map(str, sorted(levels)))}, got {config.default_severity}"))
    return problems


def _check_services(config: Config) -> list[tuple[schema.Path, str]]:
    problems: list[tuple[schema.Path, str]] = []
    slugs = [s.slug for s in config.services]
    for i, service in enumerate(config.services):
        if service.slug in slugs[:i]:
            problems.append((("services", i, "slug"), f"slug {service.slug!r} is used twice"))
        for j, dep in enumerate(service.depends_on):
            if dep not in slugs:
                problems.append((("services", i, "depends_on", j),
                                 f"expected the slug of a service, got {dep!r}"))
            elif dep == service.slug:
                problems.append((("services", i, "depends_on", j), "a service cannot depend "
                                                                   "on itself"))
        if service.max_severity is not None and \
                service.max_severity not in {s.level for s in config.severities}:
            problems.append((("services", i, "max_severity"), "expected one of the levels "
                             + ", ".join(str(s.level) for s in config.severities)
                             + f", got {service.max_severity}"))
        for j, who in enumerate(service.owners):
            problems += _person_ref(config, who, ("services", i, "owners", j))
        for j, c in enumerate(service.checks):
            need = {"http": ("url",), "tcp": ("host", "port"), "tls": ("host",)}[c.kind]
            if c.kind == "tls" and c.url:
                continue
            for attr in need:
                if getattr(c, attr) is None:
                    problems.append((("services", i, "checks", j),
                                     f"a {c.kind} check needs {attr!r}"))
    return problems


def _person_ref(config: Config, who: str, path: schema.Path) -> list[tuple[schema.Path, str]]:
    who = who.lstrip("@")
    if re.fullmatch(r"[UW][A-Z0-9]{6,}", who) or who in config.people:
        return []
    known = ", ".join(config.people) or "none are configured"
    return [(path, f"expected a person id from `people` ({known}) or a Slack user id, "
                   f"got {who!r}")]


def _check_people(config: Config) -> list[tuple[schema.Path, str]]:
    problems: list[tuple[schema.Path, str]] = []
    seen: dict[tuple[str, str], str] = {}
    for pid, person in config.people.items():
        for attr in ("slack", "github"):
            value = getattr(person, attr)
            if value is None:
                continue
            key = (attr, value.lower())
            if key in seen:
                problems.append((("people", pid, attr),
                                 f"{value!r} is also {seen[key]!r}'s {attr}"))
            seen[key] = pid
    return problems


def _pattern_problems(pattern: str) -> list[str]:
    try:
        used = names.pattern_placeholders(pattern)
    except ValueError as exc:
        return [f"not a valid pattern: {exc}"]
    unknown = [p for p in used if p not in names.PLACEHOLDERS]
    if unknown:
        return [f"unknown placeholder {{{unknown[0]}}}; expected "
                f"{', '.join('{' + p + '}' for p in names.PLACEHOLDERS)}"]
    if not {"name", "number"} & set(used):
        return ["expected {name} or {number} in the pattern, so each incident gets its own "
                "channel"]
    sample = pattern.format(name="20261122-brave-otter", number=1234, date="20261122",
                            words="brave-otter")
    if not names.is_valid_channel_name(sample):
        return [f"gives channel names Slack refuses ({sample!r}); use lowercase letters, "
                "digits, '-' and '_'"]
    return []


def _check_timezone(name: str) -> list[tuple[schema.Path, str]]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return [(("timezone",), f"expected an IANA time zone name, like Europe/Berlin, "
                                f"got {name!r}")]
    return []


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
