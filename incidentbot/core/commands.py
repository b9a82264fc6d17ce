"""Incident commands, the same words in Slack (`/incident status fixing`) and in an issue
comment (`/status fixing`): parsed here into changes, validated against the configuration.

Pure: no I/O. The dispatcher, the CLI and the reconciler (for comments) all call `parse` and
`apply`, so a command cannot mean one thing in Slack and another on GitHub.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

from incidentbot.core.config import Config
from incidentbot.core.errors import InvalidInput
from incidentbot.core.model import LabelFields, Role, Service, Status, check_move

HELP = (
    "Commands: `/status <open|investigating|fixing|fixed|postmortem|closed>`, `/sev <n>`, "
    "`/role <commander|comms|tech|support> @login`, `/service add|remove <slug>`, "
    "`/resolve`, `/close [force|false-alarm]`, `/reopen [status]`"
)
_LINE = re.compile(r"^/(\w+)(?:[ \t]+(.*))?$")


@dataclass(frozen=True, slots=True)
class Change:
    """What a command asks for; None/empty means "leave as is"."""

    status: Status | None = None
    severity: int | None = None
    add_services: tuple[str, ...] = ()
    remove_services: tuple[str, ...] = ()
    roles: dict[str, str | None] = field(default_factory=dict)  # role -> person ref or None
    force: bool = False  # close although the severity wants a postmortem first
    false_alarm: bool = False  # close as not planned: no postmortem, not in the metrics
    # Only an explicit reopen (`/reopen`, `--reopen`) may move a closed incident: a status
    # typed on an old incident by mistake would otherwise open a second channel.
    reopen: bool = False


class NeedsConfirmation(InvalidInput):
    """The change is allowed, but only when the person says so again (`force`)."""


FALSE_ALARM = "false-alarm"


def is_false_alarm(args: list[str]) -> bool:
    """`/close false-alarm` (or `--false-alarm`): closed as not planned."""
    return any(a.lower().lstrip("-") in {FALSE_ALARM, "falsealarm"} for a in args)


def first_command(body: str) -> str | None:
    """The command line of a comment: its first non-blank line when it starts with `/`."""
    for line in body.strip().splitlines():
        line = line.strip()
        if line:
            return line if _LINE.match(line) else None
    return None


def command_lines(body: str) -> list[str]:
    """Every command line of a command comment (one whose first non-blank line is a
    command), in order: `/sev 1` then `/status fixed` both run. Lines that are not commands
    (a reason, a signature) are the comment's text."""
    if first_command(body) is None:
        return []
    return [line.strip() for line in body.splitlines() if _LINE.match(line.strip())]


def parse(line: str, config: Config) -> Change:
    """One command line into a Change; InvalidInput with the fix when it is wrong."""
    match = _LINE.match(line.strip())
    if match is None:
        raise InvalidInput(f"not a command: {line.strip()[:80]!r}. {HELP}")
    verb, rest = match.group(1).lower(), (match.group(2) or "").strip()
    args = rest.split()
    if verb == "status":
        return Change(status=_status(args))
    if verb == "resolve":
        return Change(status=Status.FIXED)
    if verb == "close":
        if is_false_alarm(args):
            return Change(status=Status.CLOSED, false_alarm=True)
        if args and args != ["force"] and args != ["--force"]:
            raise InvalidInput(f"/close takes nothing, `force` or `false-alarm`; got "
                               f"{rest[:40]!r}")
        return Change(status=Status.CLOSED, force=bool(args))
    if verb == "reopen":
        return Change(status=_status(args) if args else Status.INVESTIGATING, reopen=True)
    if verb in {"sev", "severity"}:
        return Change(severity=_severity(args, config))
    if verb == "role":
        return Change(roles=_role(args, config))
    if verb == "service":
        return _service(args, config)
    raise InvalidInput(f"unknown command /{verb}. {HELP}")


def _status(args: list[str]) -> Status:
    names = ", ".join(s.value for s in Status)
    if len(args) != 1:
        raise InvalidInput(f"/status needs one of: {names}")
    try:
        return Status(args[0].lower())
    except ValueError:
        raise InvalidInput(f"/status {args[0][:40]!r}: expected one of {names}") from None


def _severity(args: list[str], config: Config) -> int:
    levels = {str(s.level): s.level for s in config.severities}
    levels.update({s.name.lower(): s.level for s in config.severities})
    levels.update({s.label.lower(): s.level for s in config.severities})
    choices = ", ".join(str(s.level) for s in config.severities)
    if len(args) != 1 or args[0].lower() not in levels:
        got = args[0][:40] if args else "nothing"
        raise InvalidInput(f"/sev {got!r}: expected one of {choices}")
    return levels[args[0].lower()]


def role_of(word: str, config: Config) -> Role:
    aliases = {r.value: r for r in Role}
    aliases.update({"ic": Role.COMMANDER, "lead": Role.COMMANDER, "ops": Role.TECH})
    aliases.update({label.lower(): r for r, label in config.roles.items()})
    found = aliases.get(word.lower())
    if found is None:
        raise InvalidInput(f"unknown role {word[:40]!r}: expected one of "
                           + ", ".join(r.value for r in Role))
    return found


def _role(args: list[str], config: Config) -> dict[str, str | None]:
    if not 1 <= len(args) <= 2:
        raise InvalidInput("/role needs a role and a person: /role commander @login "
                           "(or `/role commander none` to clear it)")
    role = role_of(args[0], config)
    if len(args) == 1 or args[1].lower() in {"none", "-"}:
        return {role.value: None}
    return {role.value: person_ref(args[1], config)}


def person_ref(who: str, config: Config) -> str:
    """A person reference from `@login`, a Slack mention `<@U123>`, or a people id."""
    who = who.strip()
    mention = re.fullmatch(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", who)
    if mention:
        return mention.group(1)
    if re.fullmatch(r"[UW][A-Z0-9]{8,}", who):
        return who
    login = who.removeprefix("@")
    known = ", ".join(sorted(config.people)) or "none yet"
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?", login) or (
            login == who and login not in config.people):
        # A bare word is a person from incidentbot.yml; anything else is spelled as such,
        # so a typo ("nobody", "bbo") is refused instead of becoming a role holder.
        raise InvalidInput(f"{who[:40]!r} is not a person incidentbot knows: write @login for "
                           "a GitHub login, a Slack user id (U0123ABCD) or mention, or one of "
                           f"the people in incidentbot.yml ({known})")
    person = config.people.get(login) or config.person_by_github(login)
    if person is not None and person.slack:
        return person.slack
    return "@" + (person.github if person is not None and person.github else login)


def _service(args: list[str], config: Config) -> Change:
    if len(args) < 2 or args[0].lower() not in {"add", "remove"}:
        raise InvalidInput("/service needs add or remove and a slug: /service add checkout")
    slugs = tuple(dict.fromkeys(a.lower() for a in args[1:]))
    known = {s.slug for s in config.services}
    unknown = [s for s in slugs if known and s not in known]
    if unknown:
        raise InvalidInput(f"unknown service {', '.join(unknown)}: known services are "
                           + ", ".join(sorted(known)))
    if args[0].lower() == "add":
        return Change(add_services=slugs)
    return Change(remove_services=slugs)


def check_policy(fields: LabelFields, change: Change, config: Config, *,
                 actor: Collection[str] | None) -> None:
    """The team's rules for a change, the same from Slack, a comment and the CLI.

    `actor`: every name the person goes by (Slack id, GitHub login, people id); None for an
    operator on the CLI with their own token (who could change the labels on GitHub anyway).
    Raises InvalidInput (refused) or NeedsConfirmation (allowed with `force`)."""
    closing = change.status is Status.CLOSED and fields.status is not Status.CLOSED
    allowed = config.slack.close_allowed
    if allowed and actor is not None and (closing or change.severity is not None):
        names = {a.lower() for a in allowed}
        for pid in allowed:
            person = config.people.get(pid)
            if person is not None:
                names |= {x.lower() for x in (person.slack, person.github) if x}
        if not names & {a.lower().lstrip("@") for a in actor if a}:
            raise InvalidInput("only the people listed in `slack.close_allowed` may close "
                               "incidents or change their severity")
    severity = config.severity(fields.severity) if fields.severity else None
    if closing and not change.force and not change.false_alarm and not fields.drill \
            and severity is not None \
            and severity.postmortem and fields.status.rank < Status.POSTMORTEM.rank:
        raise NeedsConfirmation(
            f"{severity.name} needs a postmortem and this incident has none yet (status "
            f"{fields.status.value}): move it to `postmortem` first, or close it anyway "
            "(`/close force`, `incidentbot close N --force`)")


def apply(fields: LabelFields, change: Change, config: Config) -> LabelFields:
    """The fields after `change`; TransitionNotAllowed / InvalidInput change nothing."""
    updated = fields
    if change.status is not None and change.status != fields.status:
        if fields.status is Status.CLOSED and not change.reopen:
            raise InvalidInput(f"the incident is closed; to reopen it at {change.status.value}"
                               f", use `/reopen {change.status.value}`")
        check_move(fields.status, change.status)
        updated = replace(updated, status=change.status)
    if change.severity is not None:
        config.severity(change.severity)  # KeyError cannot happen: parse checked
        updated = replace(updated, severity=change.severity)
    if change.add_services or change.remove_services:
        services = [s for s in updated.services if s not in change.remove_services]
        services += [s for s in change.add_services if s not in services]
        updated = replace(updated, services=tuple(sorted(services)))
    if updated.severity != fields.severity or updated.services != fields.services:
        check_caps(updated.severity, updated.services, config)
    return updated


def check_caps(severity: int | None, services: Sequence[str], config: Config) -> None:
    """InvalidInput, with the reason, when `severity` is more severe than the affected
    services allow (`services[].max_severity`). An incident is as severe as its most
    important service lets it be: one uncapped service lifts the cap. The one check for
    Slack, comments, the CLI and issues opened or relabelled on GitHub."""
    allowed = allowed_severity(services, config)
    if severity is None or allowed is None or severity >= allowed[0]:
        return
    cap, service = allowed
    reason = service.max_severity_reason or "its max_severity in incidentbot.yml"
    raise InvalidInput(f"{service.name} incidents can be {_level(cap, config)} at most, "
                       f"not {_level(severity, config)}: {reason}")


def allowed_severity(services: Sequence[str], config: Config) -> tuple[int, Service] | None:
    """The most severe level the affected services allow, and the service that sets it;
    None when any of them (or none at all) is uncapped."""
    found: tuple[int, Service] | None = None
    for slug in services:
        try:
            service = config.service(slug)
        except KeyError:
            continue
        if service.max_severity is None:
            return None
        if found is None or service.max_severity < found[0]:
            found = (service.max_severity, service)
    return found


def _level(level: int, config: Config) -> str:
    try:
        return config.severity(level).name
    except KeyError:
        return str(level)
