"""`incidentbot demo`: one incident on the local sandbox, told in GitHub and Slack terms."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from incidentbot import github, names, slack
from incidentbot.config import Config
from incidentbot.model import LabelFields, Status, labels_for
from incidentbot.sandbox import Sandbox
from incidentbot.settings import Settings

TITLE = "Checkout returns 502 for a third of requests"
REPORTER = "U0ALICE001"  # alice, in the sandbox's seeded workspace


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


def run(config: Config) -> Iterator[str]:
    """Open an incident as alice would from Slack, and say what happened, step by step."""
    with Sandbox() as sb:
        settings = Settings.from_env(sb.env())
        tracker, chat = github.connect(settings), slack.connect(settings)
        yield "incidentbot demo: one incident on the local sandbox (nothing leaves this machine)"
        yield f"sandbox: {sb.url} (GitHub REST, Slack Web and PagerDuty emulators)"
        yield f"config:  {config.source}"
        yield ""

        created = tracker.ensure_labels(standard_labels(config))
        yield f"0. GitHub: {len(created)} labels created in {settings.repository} " \
              f"(status:*, severities, service:*, public, private, drill, auto)"

        service = config.services[0].slug if config.services else None
        severity = config.severity(min(2, len(config.severities)))
        yield (f"1. alice types `/incident open` in Slack: {TITLE!r}, {severity.name}"
               + (f", service {service}" if service else ""))

        fields = LabelFields(is_incident=True, status=Status.OPEN, severity=severity.level,
                             services=(service,) if service else ())
        issue = tracker.create_issue(
            TITLE, "Reported from Slack by alice.", sorted(labels_for(fields, config.severities)),
            marker=str(uuid.uuid4()),
        )
        yield f"2. GitHub: issue #{issue.number} opened in {settings.repository}"
        yield f"     title:  {issue.title}"
        yield f"     labels: {', '.join(sorted(issue.labels))}"
        yield f"     url:    {issue.url}"

        name = names.incident_name(issue.number, issue.created_at.date(), tracker.repository)
        channel = chat.create_channel(
            names.channel_name(config.slack.channel_pattern, name, issue.number)
        )
        owners = [p.slack for pid in (config.service(service).owners if service else ())
                  if (p := config.people.get(pid)) is not None and p.slack]
        invited = chat.invite(channel.id, [REPORTER, *owners])
        topic = f"{severity.name} · {Status.OPEN.value} · {service or 'no service'} · " \
                f"issue #{issue.number}"
        chat.set_topic(channel.id, topic)
        chat.post(channel.id, f"*{TITLE}*\n{severity.name} — {severity.meaning}\n"
                              f"Issue: {issue.url}")
        yield f"3. Slack: channel #{channel.name} created for incident {name}"
        yield f"     topic:   {topic}"
        yield f"     invited: {', '.join(invited) or 'nobody new'}"

        for ref in config.slack.announce:
            announcement = chat.post(
                chat.channel_id(ref),
                f":rotating_light: {severity.name} incident: {TITLE} — join #{channel.name}",
            )
            yield f"4. Slack: announced in {ref} (message {announcement.ts})"

        counts = {s: len(sb.calls_to(s)) for s in ("github", "slack", "pagerduty")}
        yield ""
        yield (f"API calls: GitHub {counts['github']}, Slack {counts['slack']}, "
               f"PagerDuty {counts['pagerduty']}")
        yield "Run `incidentbot sandbox` to keep a sandbox up and point the CLI at it."
        tracker.close()
