"""`/incident …` slash commands: open (the form), list, info, drills and the incident commands
typed in an incident channel."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from incidentbot.core import commands
from incidentbot.core.errors import IncidentbotError, InvalidInput
from incidentbot.core.model import read_labels
from incidentbot.core.render import views
from incidentbot.core.snapshot import Attribution, Snapshot
from incidentbot.core.text import slack_strong
from incidentbot.entrypoints.dispatcher import replies
from incidentbot.entrypoints.dispatcher.base import Handlers
from incidentbot.entrypoints.dispatcher.replies import (
    MARKER,
    Reply,
    code,
    ephemeral,
    mention,
    number_of,
    plain,
    slack_words,
    split_target,
)
from incidentbot.operations import incidents as operations
from incidentbot.operations import privacy, reading

log = logging.getLogger("incidentbot.entrypoints.dispatcher")


class SlashCommands(Handlers):
    def command(self, form: Mapping[str, str]) -> Reply:
        if not self._team_ok(form.get("team_id")):
            return Reply(403, "unknown workspace")
        text = " ".join(form.get("text", "").split())
        verb, _, rest = text.partition(" ")
        verb = verb.lower()
        if verb == "help":
            return ephemeral(views.help_text(self.config))
        if verb in {"", "open"}:
            trigger = form.get("trigger_id", "")
            origin = {"channel_id": form.get("channel_id", ""),
                      "response_url": form.get("response_url", "")}
            modal = views.open_modal(self.config, title=rest, origin=origin,
                                     reporter=form.get("user_id", ""))
            def show() -> None:
                try:
                    self.conn().chat.open_view(trigger, modal)
                except IncidentbotError as exc:
                    log.warning("open modal: %s", exc)
                    self.tell(form, ":warning: The form could not open in time; please run "
                                    "`/incident open` again.")

            # A trigger_id is good for 3 s: the form must not wait behind slow work, so it
            # opens from a pool of its own.
            self.later(show, what="open modal", fast=True)
            return Reply(200)
        if verb == "drill":
            return self._drill(form, rest)
        if verb == "list":
            self.later(lambda: self._list(form), what="list")
            return ephemeral("Looking up open incidents…")
        if verb == "info" and rest:
            self.later(lambda: self._info(form, rest), what="info")
            return Reply(200)
        target, rest = split_target(verb, rest)
        text = f"{verb} {rest}".strip()
        if verb in {"status", "sev", "severity", "role", "service", "resolve", "close",
                    "reopen", "update", "info"}:
            if verb in {"close", "sev", "severity"} and not self.may_close(form.get("user_id")):
                return ephemeral(":no_entry: Only the people listed in `slack.close_allowed` "
                                 "may close incidents or change their severity.")
            change = None
            if verb not in {"update", "info"}:
                try:
                    change = commands.parse(f"/{text}", self.config)
                except InvalidInput as exc:
                    return ephemeral(f":warning: {slack_words(exc)}")
            if verb in {"update", "info"}:  # `update` opens a form: its trigger expires
                self.later(lambda: self._in_channel(form, verb, change, target), what=verb,
                           fast=verb == "update")
            else:
                key = f"slack-command-{form.get('trigger_id') or form.get('response_url')}"
                self.durable("command", key, {"form": dict(form), "verb": verb,
                                              "text": text, "target": target,
                                              "request": dict(form)})
            return Reply(200)
        return ephemeral(f":warning: Unknown command `{code(verb)}`.\n"
                         + views.help_text(self.config))

    def _drill(self, form: Mapping[str, str], name: str) -> Reply:
        """Start a drill in its own thread (it runs for the scenario's length)."""
        from incidentbot.operations import drills

        available = list(drills.scenarios())
        if not name:
            return ephemeral("Which drill? `/incident drill <scenario>` with one of: "
                             + (", ".join(f"`{a}`" for a in available) or "none yet (add "
                                "drills/<name>.yml to the repository)"))
        try:
            scenario = drills.load(name, self.config)
        except IncidentbotError as exc:
            return ephemeral(f":warning: {exc}")
        user = form.get("user_id", "")

        def play() -> None:
            try:
                for line in drills.run(self.conn(), scenario, reporter=user):
                    log.info("drill %s: %s", scenario.slug, line)
                    if line.startswith("drill #") and "opened" in line:
                        self.tell(form, f":performing_arts: Drill *{plain(scenario.name)}* "
                                        f"started: {line.split(': ', 1)[1]}")
            except Exception:
                log.exception("drill %s failed", scenario.slug)

        threading.Thread(target=play, name=f"drill-{scenario.slug}", daemon=True).start()
        return ephemeral(f"Starting the drill *{plain(scenario.name)}*; its channel opens in "
                         "a moment. Nobody outside it is told or paged.")

    def may_close(self, user: str | None) -> bool:
        allowed = self.config.slack.close_allowed
        if not allowed:
            return True
        ids = {self.config.people[a].slack if a in self.config.people else a for a in allowed}
        return bool(user) and user in ids

    def incident_of(self, channel_id: str) -> int | None:
        """The incident whose channel this is (from the purpose marker), cached."""
        if channel_id in self._channels:
            return self._channels[channel_id]
        conn = self.conn()
        try:
            info = conn.chat.channel_info(channel_id)
        except IncidentbotError:
            return None
        found = MARKER.search(info.purpose)
        number = None
        if found and found.group(1).lower() == conn.tracker.repository.lower():
            number = int(found.group(2))
        self._channels[channel_id] = number
        return number

    def _job_command(self, payload: Mapping[str, Any]) -> None:
        verb, text = str(payload["verb"]), str(payload["text"])
        change = commands.parse(f"/{text}", self.config)
        target = payload.get("target")
        self._in_channel(payload["form"], verb, change,
                         int(target) if target is not None else None,
                         resumed=bool(payload.get("resumed")))

    def _in_channel(self, form: Mapping[str, str], verb: str,
                    change: commands.Change | None, target: int | None = None, *,
                    resumed: bool = False) -> None:
        number = target if target is not None else self.incident_of(form.get("channel_id", ""))
        if number is None:
            self.tell(form, ":warning: This is not an incident channel. Run the command in "
                            "the incident's channel, or `/incident list` to find it.")
            return
        if verb == "info":
            self._info(form, str(number))
            return
        if verb == "update":
            self.open_update_form(number, form)
            return
        if change is None:
            return
        c = self.conn()
        try:
            issue = self.incident_to_change(number, form)
        except IncidentbotError as exc:
            self.tell(form, f":warning: {slack_words(exc)}")
            return
        if issue is None:
            return
        fields = read_labels(issue.labels, self.config.severities,
                             issue_closed=issue.state == "closed")
        who = Attribution(form.get("user_id", ""), "Slack")
        try:
            key = f"slack-command-{form.get('trigger_id') or form.get('response_url')}"
            outcome = operations.update_incident(c, number, change, by=who, actor={who.by},
                                                 request_id=key, known=issue)
        except commands.NeedsConfirmation as exc:
            # The non-force close asks again, with a button: the same rule as `/close`.
            reason = f"{slack_words(exc)}. Close anyway?"
            self.tell(form, reason, views.confirm_close(number, fields.status, reason))
            return
        except IncidentbotError as exc:
            self.tell(form, f":warning: {slack_words(exc)}")
            return
        # Nothing written: said so, not "updated" (a resumed job may have written it all
        # itself before the restart: that is its update).
        self.tell(form, f"Done: #{number} updated." if outcome.changed or resumed
                  else replies.unchanged(number, fields, change, self.config))

    def _list(self, form: Mapping[str, str]) -> None:
        c = self.conn()
        # A private incident is left out for whoever is not in it: not even its number.
        # One viewer for the whole list: each channel's members are asked once at most.
        viewer = privacy.Viewer(c, form.get("user_id", ""))
        issues = [i for i in c.tracker.list_incidents(state="open") if viewer.may_see(i)]
        if not issues:
            self.tell(form, "No open incidents. :tada:")
            return
        lines = []
        for issue in sorted(issues, key=lambda i: i.number)[:50]:
            f = read_labels(issue.labels, self.config.severities)
            sev = self.config.severity(f.severity).name if f.severity else "unrated"
            lines.append(f"• <{issue.url}|#{issue.number}> {sev} · {f.status.value} · "
                         f"{plain(issue.title)}")
        self.tell(form, "\n".join(lines))

    def _info(self, form: Mapping[str, str], ref: str) -> None:
        """One incident by number, name or channel name, for a few GitHub requests: a name
        is never looked for among all incidents."""
        c = self.conn()
        number = number_of(ref)
        try:
            if number is None:
                found = reading.find(c.tracker, ref, self.config)
                if found is None:
                    self.tell(form, f":warning: No incident goes by `{code(ref)}` that its "
                                    "name alone tells; give its number: `/incident info 12` "
                                    "(`/incident list` shows the open ones).")
                    return
                # Refused by the name they typed: its number is not theirs to learn.
                if self.hidden(found.issue, form, snapshot=found, called=f"`{code(ref)}`"):
                    return
                snap: Snapshot | None = found
            else:
                snap = self.incident_to_show(number, form)
        except IncidentbotError as exc:
            self.tell(form, f":warning: {slack_words(exc)}")
            return
        if snap is None:
            return
        f = snap.fields
        sev = self.config.severity(f.severity).name if f.severity else "unrated"
        channel = f"<#{snap.card.channel_id}>" if snap.card.channel_id else "no channel yet"
        roles = ", ".join(f"{r}: {mention(p)}" for r, p in snap.card.roles.items()) or "none"
        title = slack_strong(plain(snap.issue.title))
        self.tell(form, f"<{snap.issue.url}|#{snap.issue.number}> {title}\n"
                        f"{sev} · {f.status.value} · services: "
                        f"{', '.join(f.services) or '—'} · {channel}\nRoles: {roles}")

    # -- interactivity -------------------------------------------------------------------
