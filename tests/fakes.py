"""In-memory fakes of the ports (IssueTracker, Chat), for testing the reconciler as code: no
server, no HTTP. They keep the rules the core relies on (a ref is created once, a channel name
is taken once, a message keyed twice is still two messages) and count every call, so a test
can say what a run wrote. The sandbox stays the place for adapter and contract tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from incidentbot.core.errors import Conflict
from incidentbot.core.ports import Channel, Comment, Issue, LabelEvent, Message

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


class FakeTracker:
    """One repository's issues, comments and git refs in memory."""

    def __init__(self, repository: str = "acme/incidents", login: str = "incidentbot[bot]"):
        self.repository = repository
        self._login = login
        self.issues: dict[int, Issue] = {}
        self._comments: dict[int, list[Comment]] = {}
        self.refs: dict[str, str] = {}
        self.commits: dict[str, str] = {}
        self.calls: Counter[str] = Counter()
        self.clock = T0

    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    # -- issues and comments
    def add_issue(self, title: str, labels: Sequence[str], *, body: str = "",
                  author: str = "alice", association: str = "MEMBER") -> Issue:
        number = len(self.issues) + 1
        now = self._tick()
        self.issues[number] = Issue(number, title, body, "open", tuple(labels), now, now,
                                    f"https://github.test/{self.repository}/issues/{number}",
                                    author=author, association=association)
        self._comments[number] = []
        return self.issues[number]

    def login(self) -> str | None:
        return self._login

    def whoami(self) -> str | None:
        return self._login

    def get_issue(self, number: int) -> Issue:
        self.calls["get_issue"] += 1
        return self.issues[number]

    def list_incidents(self, *, since: datetime | None = None, state: str = "all") -> list[Issue]:
        self.calls["list_incidents"] += 1
        return [i for i in self.issues.values()
                if (since is None or i.updated_at >= since) and state in ("all", i.state)]

    def comments(self, number: int) -> list[Comment]:
        self.calls["comments"] += 1
        return list(self._comments[number])

    def label_events(self, number: int) -> list[LabelEvent]:
        self.calls["label_events"] += 1
        return []

    def comment(self, number: int, body: str, *, author: str | None = None,
                association: str = "NONE") -> Comment:
        self.calls["comment"] += 1
        made = Comment(1000 + sum(len(c) for c in self._comments.values()), body,
                       author or self._login, self._tick(), f"#comment-{number}",
                       association=association,
                       author_type="User" if author else "Bot",
                       app=None if author else "incidentbot")
        self._comments[number].append(made)
        self._touch(number)
        return made

    def edit_comment(self, number: int, comment_id: int, body: str) -> None:
        self.calls["edit_comment"] += 1
        self._comments[number] = [replace(c, body=body) if c.id == comment_id else c
                                  for c in self._comments[number]]
        self._touch(number)

    def update_issue(self, number: int, *, labels: Sequence[str] | None = None,
                     state: str | None = None) -> Issue:
        self.calls["update_issue"] += 1
        issue = self.issues[number]
        self.issues[number] = replace(
            issue, labels=tuple(labels) if labels is not None else issue.labels,
            state=state or issue.state,
            closed_at=self.clock if state == "closed" else issue.closed_at)
        return self._touch(number)

    def set_state(self, number: int, state: str, *, reason: str | None = None) -> Issue:
        self.calls["set_state"] += 1
        return self.update_issue(number, state=state)

    def _touch(self, number: int) -> Issue:
        self.issues[number] = replace(self.issues[number], updated_at=self._tick())
        return self.issues[number]

    # -- git refs (the turns)
    def make_commit(self, message: str, parents: tuple[str, ...] = ()) -> str:
        self.calls["make_commit"] += 1
        sha = f"{len(self.commits) + 1:040x}"
        self.commits[sha] = message
        return sha

    def create_ref(self, ref: str, sha: str) -> bool:
        self.calls["create_ref"] += 1
        if ref in self.refs:
            return False
        self.refs[ref] = sha
        return True

    def get_ref(self, ref: str) -> str | None:
        return self.refs.get(ref)

    def commit_message(self, sha: str) -> str:
        return self.commits[sha]

    def move_ref(self, ref: str, sha: str) -> bool:
        self.refs[ref] = sha
        return True

    def matching_refs(self, prefix: str) -> dict[str, str]:
        return {r: sha for r, sha in sorted(self.refs.items()) if r.startswith(prefix)}


class FakeChat:
    """A Slack workspace in memory: channels, their messages and bookmarks."""

    def __init__(self, channels: Sequence[str] = ("incidents",)) -> None:
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.members: dict[str, set[str]] = {}
        self.marks: dict[str, list[str]] = {}
        self.calls: Counter[str] = Counter()
        for name in channels:
            self._new(name, private=False)

    def _new(self, name: str, *, private: bool) -> Channel:
        made = Channel(f"C{len(self.channels) + 1:08d}", name, is_private=private)
        self.channels[made.id] = made
        self.messages[made.id], self.members[made.id], self.marks[made.id] = [], set(), []
        return made

    def by_name(self, name: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.name == name), None)

    def texts(self, name: str) -> list[str]:
        found = self.by_name(name)
        return [m["text"] for m in self.messages[found.id]] if found else []

    def user_id(self) -> str:
        return "UBOT0001"

    def create_channel(self, name: str, *, private: bool = False) -> Channel:
        self.calls["create_channel"] += 1
        if self.by_name(name) is not None:
            raise Conflict("Slack", f"{name}: name_taken")
        return self._new(name, private=private)

    def find_channel(self, name: str) -> Channel | None:
        self.calls["find_channel"] += 1
        return self.by_name(name)

    def channel_id(self, ref: str) -> str:
        found = self.by_name(ref.lstrip("#"))
        return found.id if found else ref

    def set_topic(self, channel: str, topic: str) -> None:
        self.calls["set_topic"] += 1
        self.channels[channel] = replace(self.channels[channel], topic=topic)

    def set_purpose(self, channel: str, purpose: str) -> None:
        self.calls["set_purpose"] += 1
        self.channels[channel] = replace(self.channels[channel], purpose=purpose)

    def channel_members(self, channel: str) -> frozenset[str]:
        self.calls["channel_members"] += 1
        return frozenset(self.members[channel])

    def invite(self, channel: str, users: Sequence[str], *,
               fresh: bool = False) -> dict[str, str]:
        self.calls["invite"] += 1
        outcome = {u: "member" if u in self.members[channel] else "invited" for u in users}
        self.members[channel].update(users)
        return outcome

    def post(self, channel: str, text: str, *, key: str | None = None,
             thread_ts: str | None = None, broadcast: bool = False,
             blocks: Sequence[Mapping[str, Any]] | None = None) -> Message:
        self.calls["post"] += 1
        channel = self.channel_id(channel)
        ts = f"{1_800_000_000 + sum(len(m) for m in self.messages.values())}.000100"
        self.messages[channel].append({"ts": ts, "text": text, "key": key})
        return Message(channel, ts, text)

    def update(self, channel: str, ts: str, text: str, *,
               blocks: Sequence[Mapping[str, Any]] | None = None) -> None:
        self.calls["update"] += 1
        for m in self.messages[self.channel_id(channel)]:
            if m["ts"] == ts:
                m["text"] = text

    def posted_keys(self, channel: str, oldest: float) -> Mapping[str, str]:
        self.calls["posted_keys"] += 1
        return {m["key"]: m["ts"] for m in self.messages[self.channel_id(channel)] if m["key"]}

    def bookmarks(self, channel: str) -> list[str]:
        self.calls["bookmarks"] += 1
        return list(self.marks[channel])

    def add_bookmark(self, channel: str, title: str, url: str) -> None:
        self.calls["add_bookmark"] += 1
        self.marks[channel].append(title)

    def archive(self, channel: str) -> None:
        self.calls["archive"] += 1
        self.channels[channel] = replace(self.channels[channel], is_archived=True)

    def rename(self, channel: str, name: str) -> Channel:
        self.calls["rename"] += 1
        self.channels[channel] = replace(self.channels[channel], name=name)
        return self.channels[channel]


class FakePager:
    """PagerDuty's Events API: alerts by dedup key, triggered once, resolved once."""

    def __init__(self) -> None:
        self.alerts: dict[str, str] = {}  # dedup key -> "triggered" or "resolved"
        self.calls: Counter[str] = Counter()

    def trigger(self, dedup_key: str, summary: str, severity: str,
                details: Mapping[str, Any]) -> None:
        self.calls["trigger"] += 1
        self.alerts[dedup_key] = "triggered"

    def resolve(self, dedup_key: str) -> None:
        self.calls["resolve"] += 1
        self.alerts[dedup_key] = "resolved"
