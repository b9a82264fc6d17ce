"""The rules of incidentbot.yml the schema cannot say: duplicates, dangling references,
channel patterns, time zones, crons, and settings that name files or levels."""

from __future__ import annotations

import re

from incidentbot.core import cron, names, schema
from incidentbot.core.configtypes import Config


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
