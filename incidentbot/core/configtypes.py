"""incidentbot.yml as values: the settings dataclasses, their defaults and the default scale."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from incidentbot.core.model import Link, Role, Service, Severity

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
