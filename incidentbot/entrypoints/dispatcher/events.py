"""Channel events: an incident channel archived or deleted by someone, and messages pinned
or marked as updates."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from incidentbot.core import markers
from incidentbot.entrypoints.dispatcher.base import Handlers
from incidentbot.entrypoints.dispatcher.replies import Reply, markdown_inline
from incidentbot.operations import reading

log = logging.getLogger("incidentbot.entrypoints.dispatcher")


class ChannelEvents(Handlers):
    def _events(self, body: bytes) -> Reply:
        return self.events(json.loads(body.decode("utf-8")))

    def events(self, payload: Any) -> Reply:
        """An Events API envelope (HTTP or Socket Mode)."""
        if not isinstance(payload, dict):
            return Reply(400, "not an event")
        if payload.get("type") == "url_verification":
            return Reply(200, {"challenge": str(payload.get("challenge", ""))})
        if payload.get("type") != "event_callback":
            return Reply(200)
        if not self._team_ok(payload.get("team_id")):
            return Reply(403, "unknown workspace")
        if not self._seen_work.add(f"event-{payload.get('event_id', '')}"):
            return Reply(200)  # Slack's retry of an event we already have
        event = payload.get("event") or {}
        kind = event.get("type")
        if kind == "pin_added" or (kind == "reaction_added"
                                   and event.get("reaction") == "pushpin"):
            self.later(lambda: self._mark(event), what=kind)
        elif kind in {"channel_archive", "channel_left"}:
            self.later(lambda: self._channel_lost(event), what=kind)
        return Reply(200)

    def _channel_lost(self, event: Mapping[str, Any]) -> None:
        """An incident channel archived by a person, or the bot removed from it: say so on
        the issue once, with what to do; the reconciler then reports what it cannot do."""
        channel = str(event.get("channel", ""))
        number = self.incident_of(channel)
        if number is None:
            return
        c = self.conn()
        snap = reading.read(c.tracker, number, self.config)
        if snap.issue.state == "closed" and event.get("type") == "channel_archive":
            return  # the bot archived it at close
        mark = f"<!-- incidentbot:channel-lost {channel} {event.get('type')} -->"
        if any(mark in x.body for x in snap.comments):
            return
        who = event.get("user")
        person = self.config.person_by_slack(str(who)) if who else None
        by = (f" by @{person.github}" if person and person.github else
              f" by {markdown_inline(str(who))}" if who else "")
        if event.get("type") == "channel_archive":
            text = (f":warning: The Slack channel #{snap.card.channel_name} was archived"
                    f"{by} while the incident is open. Reopen this issue after closing it, or "
                    "unarchive the channel in Slack, to get a working channel back.")
        else:
            text = (f":warning: incidentbot was removed from #{snap.card.channel_name}{by}. "
                    "Nothing more can be posted there: invite it back with "
                    "`/invite @incidentbot`, then run `incidentbot sync "
                    f"{number} --repair`.")
        c.tracker.comment(number, f"{mark}\n{text}")
        self._channels.pop(channel, None)

    def _mark(self, event: Mapping[str, Any]) -> None:
        """A pinned or :pushpin:-ed message in an incident channel: a timeline comment, once."""
        if event.get("type") == "pin_added":
            item = event.get("item") or {}
            channel = str(item.get("channel") or event.get("channel_id") or "")
            message = item.get("message") or {}
        else:
            item = event.get("item") or {}
            channel = str(item.get("channel", ""))
            message = {"ts": item.get("ts")}
        ts = str(message.get("ts") or "")
        number = self.incident_of(channel)
        if number is None or not ts:
            return
        c = self.conn()
        mark = markers.PIN.format(channel=channel, ts=ts)
        if any(mark in x.body for x in c.tracker.comments(number)):
            return
        text = message.get("text")
        author = message.get("user") or event.get("user") or "someone"
        if text is None:
            text = c.chat.message_text(channel, ts)
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(ts)))
        who = self.config.person_by_slack(str(author))
        name = str(author)
        if who is not None:
            name = f"@{who.github}" if who.github else (who.name or who.id)
        from incidentbot.core.text import markdown

        c.tracker.comment(number, f"{mark}\n:pushpin: **Key event** from Slack, posted by "
                                  f"{markdown(name)} at {when}:\n\n> "
                                  + markdown(str(text)).replace("\n", "\n> "))
