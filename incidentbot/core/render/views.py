"""Slack modals and message blocks for the dispatcher, and reading their submissions (pure).

Limits from Slack's docs: a modal title, submit and close at most 24 characters; an option's
text at most 75; at most 100 options in a select; block ids and action ids at most 255.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from incidentbot.core import commands
from incidentbot.core.config import Config
from incidentbot.core.errors import InvalidInput
from incidentbot.core.model import Status
from incidentbot.core.text import truncate

OPEN_CALLBACK = "incident_open"
UPDATE_CALLBACK = "incident_update"
CONFIRM_CLOSE = "confirm_close"
TITLE_MAX = 150
SLACK_ID = re.compile(r"[UW][A-Z0-9]{6,}")


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, 75), "emoji": True}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _text(label), "value": value}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "label": _text(label),
                             "element": element, "optional": optional}
    if hint:  # a hint may be 2,000 characters (an option's text only 75)
        block["hint"] = {"type": "plain_text", "text": truncate(hint, 2000), "emoji": True}
    return block


def _role_inputs(config: Config, held: Mapping[str, str]) -> list[dict[str, Any]]:
    """A person picker per configured role (commander first), pre-set to who holds it; the
    role's description from the config is its hint."""
    out = []
    for role, label in config.roles.items():
        element: dict[str, Any] = {"type": "users_select", "action_id": "value",
                                   "placeholder": _text("Nobody yet")}
        who = held.get(role.value, "")
        if SLACK_ID.fullmatch(who):
            element["initial_user"] = who
        out.append(_input(f"role_{role.value}", label, element, optional=True,
                          hint=config.role_descriptions.get(role) or None))
    return out


def read_roles(values: Mapping[str, Any], config: Config) -> dict[str, str | None]:
    """role -> Slack user id (None: nobody) for every role picker in a submission."""
    out: dict[str, str | None] = {}
    for role in config.roles:
        block = f"role_{role.value}"
        if block not in values:
            continue
        user = _value(values, block).get("selected_user")
        out[role.value] = str(user) if user and SLACK_ID.fullmatch(str(user)) else None
    return out


def open_modal(config: Config, *, title: str = "", origin: Mapping[str, str],
               reporter: str = "") -> dict[str, Any]:
    """The `/incident open` modal; `origin` (channel, response_url) rides in private_metadata.
    The commander defaults to the reporter; the other leads can be named at once."""
    severities = [_option(str(s.level), f"{s.name} — {s.meaning}" if s.meaning else s.name)
                  for s in config.severities][:100]
    default = next(o for o in severities if o["value"] == str(config.default_severity))
    title_input: dict[str, Any] = {"type": "plain_text_input", "action_id": "value",
                                   "max_length": TITLE_MAX,
                                   "placeholder": _text("What is broken, in a few words")}
    if title.strip():
        title_input["initial_value"] = truncate(" ".join(title.split()), TITLE_MAX)
    blocks = [
        _input("title", "Title", title_input),
        _input("severity", "Severity", {"type": "static_select", "action_id": "value",
                                        "options": severities, "initial_option": default}),
    ]
    if config.services:
        blocks.append(_input("services", "Affected services", {
            "type": "multi_static_select", "action_id": "value",
            "options": [_option(s.slug, s.name) for s in config.services][:100]},
            optional=True))
    blocks += [
        _input("description", "What do we know?", {"type": "plain_text_input",
                                                   "action_id": "value", "multiline": True,
                                                   "max_length": 3000}, optional=True),
        _input("options", "Options", {"type": "checkboxes", "action_id": "value", "options": [
            _option("public", "Show on the public status page"),
            _option("page", "Page on-call now"),
            _option("drill", "This is a drill"),
        ]}, optional=True),
    ]
    blocks += _role_inputs(config, {"commander": reporter} if reporter else {})
    return {"type": "modal", "callback_id": OPEN_CALLBACK, "title": _text("Open an incident"),
            "submit": _text("Open"), "close": _text("Cancel"), "blocks": blocks,
            "private_metadata": json.dumps(dict(origin))[:3000]}


def update_modal(config: Config, *, number: int, status: Status, severity: int | None,
                 origin: Mapping[str, str], title: str = "", description: str = "",
                 roles: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The `/incident update` modal, pre-filled with the incident's current values: title,
    description, status, severity, leads, and an update for stakeholders."""
    statuses = [_option(s.value, s.value) for s in Status if s is not Status.CLOSED]
    severities = [_option(str(s.level), s.name) for s in config.severities]
    status_element: dict[str, Any] = {"type": "static_select", "action_id": "value",
                                      "options": statuses}
    current = next((o for o in statuses if o["value"] == status.value), None)
    if current:
        status_element["initial_option"] = current
    severity_element: dict[str, Any] = {"type": "static_select", "action_id": "value",
                                        "options": severities}
    chosen = next((o for o in severities if o["value"] == str(severity)), None)
    if chosen:
        severity_element["initial_option"] = chosen
    title_element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value",
                                     "max_length": TITLE_MAX}
    if title.strip():
        title_element["initial_value"] = truncate(" ".join(title.split()), TITLE_MAX)
    description_element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value",
                                           "multiline": True, "max_length": 3000}
    if description.strip():
        description_element["initial_value"] = truncate(description.strip(), 3000)
    blocks = [
        _input("title", "Title", title_element),
        _input("description", "What do we know?", description_element, optional=True),
        _input("status", "Status", status_element),
        _input("severity", "Severity", severity_element),
        *_role_inputs(config, roles or {}),
        _input("note", "Update for stakeholders", {"type": "plain_text_input",
                                                   "action_id": "value", "multiline": True,
                                                   "max_length": 3000}, optional=True,
               hint="Posted in the channel and as a comment on the issue."),
        _input("publish", "Status page", {"type": "checkboxes", "action_id": "value",
                                          "options": [_option(
                                              "public", "Publish to the status page")]},
               optional=True),
    ]
    metadata = {**origin, "number": str(number)}
    return {"type": "modal", "callback_id": UPDATE_CALLBACK,
            "title": _text(f"Update #{number}"[:24]), "submit": _text("Update"),
            "close": _text("Cancel"), "blocks": blocks,
            "private_metadata": json.dumps(metadata)[:3000]}


@dataclass(frozen=True, slots=True)
class OpenRequest:
    title: str
    severity: int
    services: tuple[str, ...]
    description: str
    public: bool
    page: bool
    drill: bool
    roles: Mapping[str, str | None] = field(default_factory=dict)


def _value(values: Mapping[str, Any], block: str) -> Any:
    return (values.get(block) or {}).get("value") or {}


def read_open(view: Mapping[str, Any], config: Config) -> OpenRequest:
    """The submitted open modal; InvalidInput whose message starts with the block id."""
    values = (view.get("state") or {}).get("values") or {}
    title = " ".join(str(_value(values, "title").get("value") or "").split())
    if not title:
        raise InvalidInput("title: give the incident a title")
    severity_option = _value(values, "severity").get("selected_option") or {}
    try:
        severity = int(severity_option.get("value", config.default_severity))
        config.severity(severity)
    except (KeyError, ValueError, TypeError):
        raise InvalidInput("severity: choose one of the listed severities") from None
    known = {s.slug for s in config.services}
    services = tuple(o.get("value", "") for o in
                     _value(values, "services").get("selected_options") or [])
    if any(s not in known for s in services):
        raise InvalidInput("services: choose from the listed services")
    try:
        commands.check_caps(severity, services, config)
    except InvalidInput as exc:
        raise InvalidInput(f"severity: {exc}") from None
    options = {o.get("value") for o in _value(values, "options").get("selected_options") or []}
    if {"drill", "public"} <= options:
        raise InvalidInput("options: a drill never reaches the status page; untick Public")
    if {"drill", "page"} <= options:
        raise InvalidInput("options: a drill never pages anyone; untick Page")
    description = str(_value(values, "description").get("value") or "")
    roles = {r: who for r, who in read_roles(values, config).items() if who}
    return OpenRequest(title[:TITLE_MAX], severity, services, description,
                       "public" in options, "page" in options, "drill" in options, roles)


def metadata(view: Mapping[str, Any]) -> dict[str, str]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def confirm_close(number: int, status: Status, reason: str) -> list[dict[str, Any]]:
    """Blocks asking to confirm a close; the button carries the status it was asked in, so a
    stale button does nothing once the incident has moved on."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": reason}},
        {"type": "actions", "elements": [{
            "type": "button", "style": "danger", "action_id": CONFIRM_CLOSE,
            "text": _text("Close anyway"), "value": f"{number}:{status.value}",
        }]},
    ]


def help_text(config: Config) -> str:
    levels = ", ".join(str(s.level) for s in config.severities)
    lines = [
        "*/incident* — run incidents from Slack; the GitHub issue is the record.",
        "• `/incident` or `/incident open [title]` — open an incident (a form asks the rest)",
        "• `/incident list` — open incidents · `/incident info <number|name>`",
        "In an incident channel:",
        "• `/incident status <investigating|fixing|fixed|postmortem>` · `/incident resolve`",
        f"• `/incident sev <{levels}>`",
        "• `/incident role <commander|comms|tech|support> @person`",
        "• `/incident service add|remove <slug>` · `/incident update` · `/incident info`",
        "• `/incident close` · `/incident close --false-alarm` (no postmortem, not in metrics)",
        "From any channel, name the incident: `/incident close 12`, `resolve 12`, "
        "`update 12`, `status fixing #12`.",
    ]
    return "\n".join(lines)


def section(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}]

