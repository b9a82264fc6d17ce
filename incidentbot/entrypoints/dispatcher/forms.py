"""Interactions: the open and update forms submitted, and the announcement's buttons (join,
take a role, confirm a close)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from incidentbot.core import commands
from incidentbot.core import plan as planner
from incidentbot.core.errors import IncidentbotError, InvalidInput
from incidentbot.core.model import read_labels
from incidentbot.core.render import blocks, views
from incidentbot.core.snapshot import Attribution
from incidentbot.entrypoints.dispatcher.base import Handlers
from incidentbot.entrypoints.dispatcher.replies import (
    Reply,
    bind,
    closed,
    code,
    ephemeral,
    plain,
    reopen_advice,
    slack_words,
    typed,
)
from incidentbot.operations import amend, reading
from incidentbot.operations import incidents as operations

log = logging.getLogger("incidentbot.entrypoints.dispatcher")


class Forms(Handlers):
    def interaction(self, payload: Mapping[str, Any]) -> Reply:
        if not isinstance(payload, dict):
            return ephemeral("That request could not be read.")
        team = (payload.get("team") or {}).get("id")
        if not self._team_ok(team):
            return Reply(403, "unknown workspace")
        kind = payload.get("type")
        user = (payload.get("user") or {}).get("id", "")
        if kind == "view_submission":
            view = payload.get("view") or {}
            callback = view.get("callback_id")
            if callback == views.OPEN_CALLBACK:
                return self._submit_open(view, user)
            if callback == views.UPDATE_CALLBACK:
                return self._submit_update(view, user)
            return Reply(200)
        if kind == "block_actions":
            for action in payload.get("actions") or []:
                if action.get("action_id") in {blocks.JOIN, blocks.TAKE_COMMAND}:
                    request = {"response_url": payload.get("response_url", ""),
                               "channel_id": (payload.get("channel") or {}).get("id", ""),
                               "user_id": user}
                    work = self._join if action["action_id"] == blocks.JOIN \
                        else self._take_command
                    self.later(bind(work, request, str(action.get("value", ""))),
                               what=str(action["action_id"]))
                if action.get("action_id") == "open_update":
                    request = {"response_url": payload.get("response_url", ""),
                               "channel_id": (payload.get("channel") or {}).get("id", ""),
                               "user_id": user,
                               "trigger_id": str(payload.get("trigger_id", ""))}
                    self.later(bind(self._update_form, request, str(action.get("value", ""))),
                               what="update form", fast=True)
                if action.get("action_id") == views.CONFIRM_CLOSE and self.may_close(user):
                    request = {"response_url": payload.get("response_url", ""),
                               "channel_id": (payload.get("channel") or {}).get("id", ""),
                               "user_id": user}
                    value = str(action.get("value", ""))
                    key = f"slack-confirm-{payload.get('trigger_id') or action.get('action_ts')}"
                    self.durable("confirm_close", key, {"request": request, "value": value})
            return Reply(200)
        return Reply(200)  # view_closed, shortcuts we do not offer: nothing to do

    def _submit_open(self, view: Mapping[str, Any], user: str) -> Reply:
        try:
            wanted = views.read_open(view, self.config)
        except InvalidInput as exc:
            block, _, message = str(exc).partition(": ")
            return Reply(200, {"response_action": "errors", "errors": {block: message}})
        origin = views.metadata(view)
        # The same submission twice (a double click, Slack's retry) opens one incident.
        key = f"slack-view-{view.get('id', '')}-{view.get('hash', '')}"
        if not self._seen_work.add(key):
            return Reply(200)
        request = {**origin, "user_id": user}
        self.durable("open", key, {"wanted": asdict(wanted), "user": user, "key": key,
                                   "origin": dict(origin), "request": request})
        return Reply(200)

    def _job_open(self, payload: Mapping[str, Any]) -> None:
        wanted = views.OpenRequest(**{**payload["wanted"],
                                      "services": tuple(payload["wanted"]["services"])})
        user, key = str(payload["user"]), str(payload["key"])
        origin, request = payload["origin"], payload["request"]
        c = self.conn()
        try:
            issue, outcome = operations.open_incident(
                c, title=wanted.title, severity=wanted.severity, services=wanted.services,
                description=wanted.description, public=wanted.public, page=wanted.page,
                drill=wanted.drill, reporter=user, by=Attribution(user, "Slack"),
                request_id=key, repeat=bool(payload.get("resumed")),
                roles=wanted.roles or None)
        except IncidentbotError as exc:
            self.tell(request, f":warning: The incident could not be opened: {exc}")
            return
        channel = outcome.card.channel_id if outcome.card else None
        where = f" Join <#{channel}>." if channel else ""
        # What did not happen is said to whoever opened it, not only kept on the card.
        failed = sorted((name, effect.detail) for name, effect in
                        (outcome.card.effects.items() if outcome.card else ())
                        if not effect.ok)
        missed = "".join(f"\n:warning: Not done: {plain(name)}"
                         + (f" — {plain(detail)}" if detail else "") for name, detail in failed)
        self.tell(request, f"Opened <{issue.url}|#{issue.number}>.{where}{missed}")
        origin_channel = origin.get("channel_id")
        announced = {p.channel for k, p in (outcome.card.messages.items()
                                            if outcome.card else ()) if
                     k.startswith("announce:")}
        if origin_channel and channel and origin_channel not in {channel, *announced}:
            try:
                c.chat.post(origin_channel, f":rotating_light: <@{user}> opened "
                            f"<{issue.url}|#{issue.number}> {plain(wanted.title)} — "
                            f"join <#{channel}>", key=f"notice:{issue.number}")
            except IncidentbotError as exc:
                log.info("no notice in %s: %s", origin_channel, exc)

    def _submit_update(self, view: Mapping[str, Any], user: str) -> Reply:
        origin = views.metadata(view)
        values = (view.get("state") or {}).get("values") or {}
        try:
            number = int(origin.get("number", ""))
            status = ((values.get("status") or {}).get("value") or {}).get("selected_option")
            severity = ((values.get("severity") or {}).get("value") or {}).get(
                "selected_option")
            note = ((values.get("note") or {}).get("value") or {}).get("value") or ""
            title = typed(values, "title")
            description = typed(values, "description")
            roles = views.read_roles(values, self.config)
            public = any(o.get("value") == "public" for o in (
                (values.get("publish") or {}).get("value") or {}).get("selected_options") or [])
            change = operations.change_from_options(
                self.config, status=status["value"] if status else None,
                severity=int(severity["value"]) if severity else None)
        except (ValueError, TypeError, KeyError):
            return Reply(200, {"response_action": "errors",
                               "errors": {"status": "choose a status"}})
        except InvalidInput as exc:
            return Reply(200, {"response_action": "errors", "errors": {"status": str(exc)}})
        key = f"slack-view-{view.get('id', '')}-{view.get('hash', '')}"
        if not self._seen_work.add(key):
            return Reply(200)
        request = {**origin, "user_id": user}
        self.durable("update", key, {
            "number": number, "status": change.status.value if change.status else None,
            "severity": change.severity, "note": note, "user": user, "request": request,
            "key": key, "title": title, "description": description,
            "roles": dict(roles) if roles else None, "public": public})
        return Reply(200)

    def _job_update(self, payload: Mapping[str, Any]) -> None:
        user, request = str(payload["user"]), payload["request"]
        change = operations.change_from_options(self.config, status=payload["status"],
                                                severity=payload["severity"])
        key, number = str(payload["key"]), int(payload["number"])
        c = self.conn()
        try:
            issue = self.incident_to_change(number, request)
            if issue is None:
                return
            done = amend.update(c, number, change, note=str(payload["note"]),
                                title=payload.get("title"),
                                description=payload.get("description"),
                                roles=payload.get("roles"), by=Attribution(user, "Slack"),
                                actor={user}, request_id=key,
                                public=bool(payload.get("public")), known=issue)
        except IncidentbotError as exc:
            self.tell(request, f":warning: {slack_words(exc)}")
            return
        if done.stays_closed is not None:
            # The form was opened before the incident was closed: what it says is kept, the
            # status it still shows is not (only a reopen moves a closed incident).
            kept = "your update was saved on the issue" if done.saved else "nothing changed"
            self.tell(request, f"#{number} was closed while your form was open, so it stays "
                               f"closed; {kept}. "
                               f"{reopen_advice(number, done.stays_closed.value)}.")

    def _update_form(self, request: dict[str, str], value: str) -> None:
        """The reminder's button: the update form for the incident it names."""
        if value.isdigit():
            self.open_update_form(int(value), request)

    def open_update_form(self, number: int, request: Mapping[str, str]) -> None:
        """The update form, pre-filled with the incident's current status and severity; not
        for a closed incident, nor a private one the person is not in."""
        snap = self.incident_to_show(number, request)
        if snap is None:
            return
        if snap.issue.state == "closed":
            self.tell(request, f"#{number} is closed. {reopen_advice(number)} "
                               "(or another status).")
            return
        modal = views.update_modal(self.config, number=number, status=snap.fields.status,
                                   severity=snap.fields.severity,
                                   origin={"channel_id": request.get("channel_id", ""),
                                           "response_url": request.get("response_url", "")},
                                   title=snap.issue.title,
                                   description=amend.split_body(snap.issue.body)[0],
                                   roles=snap.card.roles)
        self.conn().chat.open_view(request.get("trigger_id", ""), modal)

    def _job_confirm_close(self, payload: Mapping[str, Any]) -> None:
        self._confirm_close(dict(payload["request"]), str(payload["value"]))

    def _join(self, request: dict[str, str], value: str) -> None:
        """The announcement's Join button: into the incident's channel, if it is open."""
        if not value.isdigit():
            return
        c = self.conn()
        snap = reading.read(c.tracker, int(value), self.config)
        channel = snap.card.channel_id
        if channel is None or snap.card.archived or snap.issue.state == "closed":
            self.tell(request, closed(snap.issue.number, snap.issue.url))
            return
        if planner.is_private(snap.fields, self.config):
            self.tell(request, f"#{value} is private: its commander invites who is needed.")
            return
        result = c.chat.invite(channel, [request["user_id"]]).get(request["user_id"], "")
        if result in {"invited", "member"}:
            self.tell(request, f"You are in <#{channel}>.")
        else:
            self.tell(request, f":warning: Slack would not add you to <#{channel}> "
                               f"({code(result)}); ask someone in it to invite you.")

    def _take_command(self, request: dict[str, str], value: str) -> None:
        """The announcement's Take command button: the person who clicked commands."""
        if not value.isdigit():
            return
        user, number, c = request["user_id"], int(value), self.conn()
        issue = self.incident_to_change(number, request)
        if issue is None:
            return
        if issue.state == "closed":  # as Join says: a closed incident takes no commander
            self.tell(request, closed(number, issue.url))
            return
        try:
            operations.update_incident(c, number, commands.Change(roles={"commander": user}),
                                       by=Attribution(user, "Slack"), actor={user},
                                       known=issue)
        except IncidentbotError as exc:
            self.tell(request, f":warning: {slack_words(exc)}")
            return
        self.tell(request, f"You are the incident commander of #{value} now.")

    def _confirm_close(self, request: dict[str, str], value: str) -> None:
        number_text, _, asked_in = value.partition(":")
        c = self.conn()
        try:
            number = int(number_text)
            issue = c.tracker.get_issue(number)
        except (ValueError, IncidentbotError):
            self.tell(request, ":warning: That button is no longer valid.")
            return
        if self.hidden(issue, request):
            return
        fields = read_labels(issue.labels, self.config.severities,
                             issue_closed=issue.state == "closed")
        if fields.status.value != asked_in:
            self.tell(request, f"#{number} has moved on (now {fields.status.value}); nothing "
                               "was changed. Run `/incident close` again if you still mean it.")
            return
        try:
            operations.close_incident(c, number, by=Attribution(request["user_id"], "Slack"),
                                      force=True, actor={request["user_id"]})
        except IncidentbotError as exc:
            self.tell(request, f":warning: {exc}")
            return
        self.tell(request, f"Closed #{number}.")

    # -- Events API ----------------------------------------------------------------------
