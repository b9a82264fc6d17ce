"""Nothing in incidentbot.yml is accepted and ignored: every key the schema allows is read by
some module of the package (not only by config.py, which merely loads it).

READERS names, for each leaf key of the schema, the module that acts on it and an expression
found in that module's source. A key added to the schema without an entry here fails
`test_every_schema_key_has_a_reader`; an entry whose reader no longer reads it fails
`test_each_reader_reads_its_key`. A key nobody reads is refused in the schema instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import incidentbot
from incidentbot.core import schema

PACKAGE = Path(incidentbot.__file__).parent

# key (`[]` an item of a list, `*` any name) -> (module, an expression it reads the key with)
READERS: dict[str, tuple[str, str]] = {
    "repository": ("settings", "repository=get(\"GITHUB_REPOSITORY\") or repository"),
    "timezone": ("postmortem", "config.timezone"),
    "default_severity": ("intake", "config.default_severity"),
    "slack.announce[]": ("plan", "config.slack.announce"),
    "slack.channel_pattern": ("plan", "slack.channel_pattern"),
    "slack.drill_channel_pattern": ("plan", "slack.drill_channel_pattern"),
    "slack.security_channel": ("plan", "slack.security_channel"),
    "slack.on_close": ("plan", "slack.on_close"),
    "slack.on_resolve": ("flow", "slack.on_resolve"),
    "slack.resolved_suffix": ("flow", "slack.resolved_suffix"),
    "slack.teams[]": ("cli", "config.slack.teams"),
    "slack.close_allowed[]": ("commands", "slack.close_allowed"),
    "severities[].level": ("model", "s.level"),
    "severities[].label": ("model", "s.label"),
    "severities[].name": ("postmortem", "severity.name"),
    "severities[].meaning": ("views", "s.meaning"),
    "severities[].postmortem": ("sync", "postmortem"),
    "severities[].page": ("plan", "severity.page"),
    "severities[].update_every": ("periodic", "update_every_minutes"),
    "severities[].invite[]": ("people", "config.severity(snapshot.fields.severity).invite"),
    "severities[].announce[]": ("plan", "config.severity(snapshot.fields.severity).announce"),
    "severities[].private": ("plan", "config.severity(fields.severity).private"),
    "severities[].invite_upstream": ("flow", "invite_upstream"),
    "severities[].escalation_policy": ("oncall", "escalation_policy"),
    "roles.commander.title": ("flow", "config.roles"),
    "roles.commander.description": ("flow", "config.role_descriptions"),
    "roles.comms.title": ("flow", "config.roles"),
    "roles.comms.description": ("flow", "config.role_descriptions"),
    "roles.tech.title": ("flow", "config.roles"),
    "roles.tech.description": ("flow", "config.role_descriptions"),
    "roles.support.title": ("flow", "config.roles"),
    "roles.support.description": ("flow", "config.role_descriptions"),
    "services[].slug": ("statuspage", "service.slug"),
    "services[].name": ("statuspage", "service.name"),
    "services[].public": ("statuspage", "s.public and not s.private"),
    "services[].private": ("plan", "config.service(slug).private"),
    "services[].owners[]": ("people", "config.service(slug).owners"),
    "services[].docs[].title": ("plan", "d.title"),
    "services[].docs[].url": ("plan", "d.url) for d in service.docs"),
    "services[].checks[].type": ("probes", "PROBES[check.kind]"),
    "services[].checks[].url": ("probes", "check.url"),
    "services[].checks[].host": ("probes", "check.host"),
    "services[].checks[].port": ("probes", "check.port"),
    "services[].checks[].method": ("probes", "check.method"),
    "services[].checks[].headers.*": ("probes", "check.headers"),
    "services[].checks[].body": ("probes", "check.body"),
    "services[].checks[].expected_status[]": ("probes", "expected_status"),
    "services[].checks[].max_response_ms": ("probes", "max_response_ms"),
    "services[].checks[].contains": ("probes", "check.contains"),
    "services[].checks[].not_contains": ("probes", "not_contains"),
    "services[].checks[].follow_redirects": ("probes", "follow_redirects"),
    "services[].checks[].timeout_s": ("probes", "timeout_s"),
    "services[].checks[].cert_expiry_days": ("probes", "cert_expiry_days"),
    "services[].depends_on[]": ("flow", "depends_on"),
    "services[].repos[]": ("changes", "config.service(slug).repos"),
    "services[].group": ("statuspage", "service.group"),
    "services[].max_severity": ("commands", "max_severity"),
    "services[].max_severity_reason": ("commands", "max_severity_reason"),
    "services[].escalation_policy": ("oncall", "escalation_policy"),
    "people.*.name": ("evidence", "person.name"),
    "people.*.slack": ("people", "person.slack"),
    "people.*.github": ("evidence", "person.github"),
    "people.*.email": ("people", "person.email"),
    "postmortem.directory": ("postmortem", "postmortem.directory"),
    "postmortem.template": ("postmortem", "config.postmortem.template"),
    "postmortem.review": ("postmortem", "config.postmortem.review"),
    "postmortem.branch_prefix": ("postmortem", "branch_prefix"),
    "status_page.title": ("statuspage", "config.status_page.title"),
    "status_page.url": ("statusapi", "status_page.url"),
    "status_page.base_path": ("statusapi", "config.status_page.base_path"),
    "status_page.output": ("cli", "config.status_page.output"),
    "status_page.logo": ("statuspage", "config.status_page.logo"),
    "status_page.intro": ("statuspage", "config.status_page.intro"),
    "status_page.cname": ("statuspage", "config.status_page.cname"),
    "status_page.navbar[].title": ("statuspage", "config.status_page.navbar"),
    "status_page.navbar[].url": ("statuspage", "config.status_page.navbar"),
    "status_page.statuses.open": ("publicstatus", "status_page.statuses"),
    "status_page.statuses.investigating": ("publicstatus", "status_page.statuses"),
    "status_page.statuses.fixing": ("publicstatus", "status_page.statuses"),
    "status_page.statuses.fixed": ("publicstatus", "status_page.statuses"),
    "status_page.statuses.postmortem": ("publicstatus", "status_page.statuses"),
    "status_page.statuses.closed": ("publicstatus", "status_page.statuses"),
    "status_page.impacts.*": ("publicincidents", "config.status_page.impacts"),
    "status_page.history_per_page": ("statuspage", "config.status_page.history_per_page"),
    "status_page.subscribers[].type": ("subscriptions", "sub.type"),
    "status_page.subscribers[].url": ("subscriptions", "sub.url"),
    "notify[].name": ("notify", "target.name"),
    "notify[].type": ("notify", "target.kind"),
    "notify[].url": ("outbound", "target.url"),
    "notify[].url_env": ("outbound", "target.url_env"),
    "notify[].to[]": ("notify", "target.to"),
    "notify[].severities[]": ("notify", "target.severities"),
    "schedule.drills[].scenario": ("practice", "schedule.drills"),
    "schedule.drills[].cron": ("practice", "schedule.drills"),
    "schedule.report.cron": ("practice", "schedule.report"),
    "call": ("flow", "config.call"),
    "monitor.fail_after": ("periodic", "config.monitor.fail_after"),
    "monitor.recover_after": ("periodic", "config.monitor.recover_after"),
    "monitor.severity": ("periodic", "config.monitor.severity"),
    "monitor.public": ("periodic", "config.monitor.public"),
    "monitor.concurrency": ("periodic", "config.monitor.concurrency"),
    "github.writers[]": ("trust", "github.writers"),
    "reminders.commander_after": ("periodic", "commander_after"),
    "periodic.sweep": ("periodic", "config.periodic.sweep"),
    "periodic.page_every": ("periodic", "config.periodic.page_every"),
    "periodic.dispatcher_every": ("cli", "config.periodic.dispatcher_every"),
}


def leaves(node: Mapping[str, Any], path: str = "", seen: tuple[str, ...] = ()
           ) -> Iterator[str]:
    """Every key a person can write, through $refs, lists, maps and alternatives."""
    defs = schema.schema()["$defs"]
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from leaves(defs[name], path, (*seen, name))
        return
    alternatives = [a for key in ("oneOf", "anyOf") for a in node.get(key, [])
                    if "properties" in a or "$ref" in a]
    if "properties" in node:
        for key, child in node["properties"].items():
            yield from leaves(child, f"{path}.{key}" if path else key, seen)
    elif node.get("type") == "array" and isinstance(node.get("items"), Mapping):
        yield from leaves(node["items"], f"{path}[]", seen)
    elif isinstance(node.get("additionalProperties"), Mapping):
        yield from leaves(node["additionalProperties"], f"{path}.*", seen)
    elif not alternatives:
        yield path
    for alternative in alternatives:
        yield from leaves(alternative, path, seen)


def _source(module: str) -> str:
    """The module's source wherever it lives in the package; a package (`cli`): all of it."""
    found = sorted(PACKAGE.rglob(f"{module}.py")) or sorted(
        f for d in PACKAGE.rglob(module) if d.is_dir() for f in d.glob("*.py"))
    assert found, f"no module {module}.py in the package"
    return "".join(f.read_text("utf-8") for f in found)


def test_every_schema_key_has_a_reader() -> None:
    keys = set(leaves(schema.schema()))
    assert len(keys) > 80
    assert sorted(keys - set(READERS)) == [], "a key nobody reads: implement it or refuse it"
    assert sorted(set(READERS) - keys) == [], "an entry for a key the schema no longer has"


@pytest.mark.parametrize("key", sorted(READERS))
def test_each_reader_reads_its_key(key: str) -> None:
    module, expression = READERS[key]
    assert module not in {"config", "configtypes", "configcheck", "schema"}, \
        "loading or checking a key is not using it"
    assert expression in _source(module), f"{module}.py no longer reads {key}"
