"""Applying a plan: each action run against Slack (and the pager), recorded in the card's
ledger; one failed action never stops the others."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from incidentbot.core import markers, names
from incidentbot.core.card import CardState, Posted
from incidentbot.core.config import Config
from incidentbot.core.errors import Conflict, IncidentbotError, ServiceError
from incidentbot.core.ports import Channel, Chat, IssueTracker, Pager
from incidentbot.core.render import messages
from incidentbot.core.snapshot import CHANNEL, Action, Snapshot, digest, marker


@dataclass
class Outcome:
    """What one sync did, for the CLI and the tests. `changed`: whether the request it
    followed wrote anything on the issue (operations.update_incident says; a sync alone
    leaves it True)."""

    number: int
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    card: CardState | None = None
    changed: bool = True

    @property
    def ok(self) -> bool:
        return not self.failed


class Applier:
    def __init__(self, snapshot: Snapshot, chat: Chat, pager: Pager | None, config: Config,
                 repository: str, tracker: IssueTracker) -> None:
        self.tracker = tracker
        self.history = snapshot.card.history  # with this run's changes, once planned
        self.snapshot = snapshot
        self.chat = chat
        self.pager = pager
        self.config = config
        self.repository = repository
        self.state = snapshot.card
        self.fresh: set[str] = set()  # channels created in this run: no history to read
        self.complete = False  # the card holds every post made so far (see existing)
        self.keys: dict[str, Mapping[str, str]] = {}
        self.ids: dict[str, str] = {}
        self.logged: list[tuple[str, str, str, str]] = []  # history made by actions (paging)
        self.sender: Any = None  # outbound.Sender, made when a notification is due

    def channel(self, ref: str) -> str:
        """The id of `ref` (the incident channel, a `#name` or an id), asking Slack only when
        neither the card nor this run knows it."""
        known = self.known(ref)
        if known is None:
            known = self.ids[ref] = self.chat.channel_id(ref)
        return known

    def known(self, ref: str) -> str | None:
        """The id of `ref` without a request: the incident channel's from the card; an id as
        configured; a `#name` where this incident's announcement went (the card) or where a
        post of this run went (Slack's answer names it). None when only Slack knows."""
        if ref == CHANNEL:
            if self.state.channel_id is None:
                raise ServiceError("Slack", "the incident channel does not exist yet")
            return self.state.channel_id
        if not ref.startswith("#"):
            return ref
        if ref not in self.ids:
            found = next((p.channel for k, p in self.state.messages.items()
                          if k.startswith(f"announce:{ref}")), None)
            if found is None:
                return None
            self.ids[ref] = found
        return self.ids[ref]

    def existing(self, channel: str, key: str) -> str | None:
        """The ts of a keyed post an interrupted run already made, if any. None without a
        look when the card is known complete: the lease was free (the last run released it
        after saving the card) and the card's ledger records no failed side effect."""
        if channel in self.fresh or self.complete:
            return None
        if channel not in self.keys:
            oldest = self.snapshot.issue.created_at.timestamp() - 3600
            self.keys[channel] = self.chat.posted_keys(channel, oldest)
        return self.keys[channel].get(key)

    def run(self, action: Action) -> None:
        handler: Callable[[Action], None] = getattr(self, "do_" + action.kind)
        handler(action)

    # each do_* updates self.state only after the side effect succeeded
    def do_create_channel(self, action: Action) -> None:
        private = bool(action.get("private"))
        pattern = action.get("pattern")
        mark = marker(self.repository, self.snapshot.issue.number)
        for suffix in (0, *range(2, 10)):
            name = names.channel_name(pattern, self.state.name, self.snapshot.issue.number,
                                      suffix)
            try:
                channel = self.chat.create_channel(name, private=private)
                self.fresh.add(channel.id)
                break
            except Conflict:
                found = self.chat.find_channel(name)
                if found is not None and self._ours(found, mark):
                    channel = found
                    if found.is_archived:
                        continue  # an archived channel of ours: the successor gets a suffix
                    break
        else:
            raise ServiceError("Slack", f"no free channel name for {self.state.name}")
        self.state = replace(self.state, channel_id=channel.id, channel_name=channel.name,
                             private=private, purpose_set=mark in channel.purpose,
                             archived=False)

    def _ours(self, channel: Channel, mark: str) -> bool:
        if mark in channel.purpose:
            return True
        # Created by us and never given a purpose: a run that stopped right after creating.
        return channel.creator == self.chat.user_id() and not channel.purpose

    def do_rename_back(self, action: Action) -> None:
        name = self.state.channel_name or ""
        if name.endswith(action.text):
            renamed = self.chat.rename(self.channel(CHANNEL), name[: -len(action.text)])
            self.state = replace(self.state, channel_name=renamed.name)
        self.state = replace(self.state, archived=False, reopens=self.state.reopens + 1,
                             messages={k: v for k, v in self.state.messages.items()
                                       if not k.startswith("closed")})

    def do_purpose(self, action: Action) -> None:
        self.chat.set_purpose(self.channel(CHANNEL), action.text)
        self.state = replace(self.state, purpose_set=True)

    def do_invite(self, action: Action) -> None:
        channel = self.channel(CHANNEL)
        outcome = self.chat.invite(channel, action.users, fresh=channel in self.fresh)
        done = tuple(u for u, result in outcome.items() if result in {"invited", "member"})
        failed = {u: r for u, r in outcome.items() if r not in {"invited", "member"}}
        self.state = replace(
            self.state, invited=tuple(dict.fromkeys((*self.state.invited, *done))),
            invite_failed={**{k: v for k, v in self.state.invite_failed.items()
                              if k not in done}, **failed})
        if failed:
            raise ServiceError("Slack", "could not invite " + ", ".join(
                f"{u} ({r})" for u, r in sorted(failed.items())))

    def do_topic(self, action: Action) -> None:
        self.chat.set_topic(self.channel(CHANNEL), action.text)
        self.state = replace(self.state, topic=action.text)

    def do_bookmark(self, action: Action) -> None:
        channel = self.channel(CHANNEL)
        url = action.get("url")
        if channel not in self.fresh and url in self.chat.bookmarks(channel):
            pass  # an interrupted run added it
        else:
            self.chat.add_bookmark(channel, action.text, url)
        self.state = replace(self.state, bookmarks=(*self.state.bookmarks, url))

    def text(self, action: Action) -> str:
        if self.state.channel_id is None:
            return action.text
        return messages.fill_channel(action.text, self.state.channel_id)

    def do_post(self, action: Action) -> None:
        if action.key in self.state.messages:
            return  # a keyed post is made once (the postmortem's notice on its refresh too)
        # A channel known only by name needs no lookup when no history is to be read: Slack
        # takes a name in chat.postMessage and answers with the id (kept for this run).
        channel = self.known(action.channel)
        if channel is None and not self.complete:
            channel = self.channel(action.channel)
        text = self.text(action)
        ts = self.existing(channel, action.key) if channel is not None else None
        also = action.get("also")  # a second key this message carries (see plan: close)
        if ts is None and also and channel is not None \
                and self.existing(channel, also) is not None:
            text = self.text(replace(action, text=action.get("alone")))  # said already
        if ts is None or channel is None:
            thread = self.state.messages.get(action.get("thread")) if action.get("thread") \
                else None
            shown = _update_button(text, action.get("button")) if action.get("button") \
                else self.blocks(action)
            posted = self.chat.post(channel or action.channel, text, key=action.key,
                                    thread_ts=thread.ts if thread else None,
                                    broadcast=thread is not None, blocks=shown)
            ts, channel = posted.ts, posted.channel
            if action.channel != CHANNEL:
                self.ids[action.channel] = channel
        state = self.state.with_message(action.key, Posted(channel, ts))
        if also and also not in state.messages:
            state = state.with_message(also, Posted(channel, self.existing(channel, also) or ts))
        self.state = replace(state, digests={**self.state.digests,
                                             action.key: digest(text + self.filled(action))})

    def blocks(self, action: Action) -> list[dict[str, object]] | None:
        return json.loads(self.filled(action)) if action.get("blocks") else None

    def filled(self, action: Action) -> str:
        raw = action.get("blocks")
        if not raw or self.state.channel_id is None:
            return raw
        return messages.fill_channel(raw, self.state.channel_id)

    def do_update(self, action: Action) -> None:
        posted = self.state.messages[action.key]
        text = self.text(action)
        self.chat.update(posted.channel, posted.ts, text, blocks=self.blocks(action))
        self.state = replace(self.state, digests={**self.state.digests,
                                                  action.key: digest(text + self.filled(action))})

    def do_page(self, action: Action) -> None:
        if self.pager is None:
            raise IncidentbotError("paging wanted but PAGERDUTY_ROUTING_KEY is not set")
        self.pager.trigger(action.key, action.text, action.get("severity"),
                           {"issue": action.get("url")})
        self.state = replace(self.state, paged=action.key, page_resolved=False)
        self.logged.append((action.get("at"), "paging:triggered", action.get("by"),
                            action.get("source")))

    def do_page_resolve(self, action: Action) -> None:
        if self.pager is None:
            raise IncidentbotError("paging wanted but PAGERDUTY_ROUTING_KEY is not set")
        self.pager.resolve(action.key)
        self.state = replace(self.state, page_resolved=True)
        self.logged.append((action.get("at"), "paging:resolved", action.get("by"),
                            action.get("source")))

    def do_postmortem(self, action: Action) -> None:
        """Render and commit the postmortem, then link it in the channel and on the issue."""
        from incidentbot.operations import postmortem

        number = self.snapshot.issue.number
        history = (*self.history, *self.logged)
        facts = postmortem.gather(self.tracker, self.chat, self.config, number,
                                  card=replace(self.state, history=history))
        published = postmortem.publish(self.tracker, self.config, facts)
        self.state = replace(self.state, postmortem_url=published.url)
        mark = markers.POSTMORTEM.format(path=published.path)
        if not any(mark in c.body for c in self.snapshot.comments):
            self.tracker.comment(number, f"{mark}\n:memo: The postmortem is ready for the "
                                         f"team to write: {published.url} "
                                         f"(`{published.path}`)")
        if self.state.channel_id and not self.state.archived:
            channel = self.state.channel_id
            if published.url not in self.state.bookmarks:
                self.chat.add_bookmark(channel, "Postmortem", published.url)
                self.state = replace(self.state,
                                     bookmarks=(*self.state.bookmarks, published.url))
            self.do_post(Action("post", "postmortem", key="postmortem", text=published.notice))

    def do_recent_changes(self, action: Action) -> None:
        from incidentbot.operations import changes

        text = changes.for_channel(self.tracker, self.config, self.snapshot.issue,
                                   self.snapshot.fields.services, auto=self.snapshot.fields.auto)
        self.do_post(Action("post", action.effect, key=changes.KEY, text=text))

    def do_rename_to(self, action: Action) -> None:
        renamed = self.chat.rename(self.channel(CHANNEL), action.text)
        self.state = replace(self.state, channel_name=renamed.name)

    def do_notify(self, action: Action) -> None:
        from incidentbot.adapters import outbound

        target = next(t for t in self.config.notify if t.name == action.get("target"))
        self.sender = self.sender or outbound.connect()
        self.sender.send(target, action.key, action.text)
        self.state = replace(self.state, notified=(*self.state.notified, action.key)[-200:])

    def final_word_said(self, action: Action) -> None:
        """The channel is archived (or renamed) only once its final message is posted."""
        after = action.get("after")
        if after and after not in self.state.messages:
            raise ServiceError("Slack", "the closing message is not posted yet; the channel "
                                        "is archived after it")

    def do_archive(self, action: Action) -> None:
        self.final_word_said(action)
        self.chat.archive(self.channel(CHANNEL))
        self.state = replace(self.state, archived=True)

    def do_rename(self, action: Action) -> None:
        self.final_word_said(action)
        name = (self.state.channel_name or "")[: 80 - len(action.text)] + action.text
        if self.state.channel_name and not self.state.channel_name.endswith(action.text):
            renamed = self.chat.rename(self.channel(CHANNEL), name)
            self.state = replace(self.state, channel_name=renamed.name)
        self.state = replace(self.state, archived=True)


def _update_button(text: str, number: str) -> list[dict[str, object]]:
    """The nudge with a one-click way to post an update (the dispatcher opens the form)."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
        {"type": "actions", "elements": [{
            "type": "button", "action_id": "open_update", "value": number, "style": "primary",
            "text": {"type": "plain_text", "text": "Post an update"},
        }]},
    ]


# Actions that cannot run once the channel could not be made.
NEEDS_CHANNEL = {"purpose", "invite", "topic", "bookmark", "archive", "rename"}
