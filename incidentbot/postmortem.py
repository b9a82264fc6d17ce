"""Postmortems: gather the facts, render `postmortem.md.j2`, keep what people wrote, commit.

Rendering is pure and deterministic (the same incident renders to the same bytes). Only the
regions between `<!-- incidentbot:begin NAME -->` and `<!-- incidentbot:end NAME -->` and
the front matter are regenerated on a second render; every other line is the team's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from incidentbot import publicstatus
from incidentbot import timeline as tl
from incidentbot.card import CardState
from incidentbot.config import Config
from incidentbot.errors import InvalidInput
from incidentbot.model import LabelFields
from incidentbot.ports import Chat, IssueTracker
from incidentbot.sync import digest, role_label
from incidentbot.text import markdown, markdown_cell, one_line, truncate

PACKAGED = Path(__file__).parent / "templates" / "postmortem.md.j2"
_REGION = re.compile(r"<!-- incidentbot:begin ([\w-]+) -->\n(.*?)<!-- incidentbot:end \1 -->",
                     re.DOTALL)
_FRONT = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
MESSAGE_MAX = 600


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything a postmortem says that the bot knows."""

    number: int
    name: str
    title: str
    issue_url: str
    fields: LabelFields
    opened: datetime
    closed: datetime | None
    roles: Mapping[str, str]  # role -> display name
    channel_name: str | None
    channel_url: str | None
    timeline: tl.Timeline


def path_for(config: Config, facts: Facts) -> str:
    return path_for_name(config, facts.opened, facts.name)


def _when(moment: datetime, zone: ZoneInfo) -> tuple[str, str]:
    utc = moment.astimezone(UTC)
    local = utc.astimezone(zone)
    return f"{utc:%Y-%m-%d %H:%M}", f"{local:%H:%M %Z}"


def context(facts: Facts, config: Config) -> dict[str, Any]:
    """The template's variables: every value from outside already escaped for Markdown."""
    zone = ZoneInfo(config.timezone)
    severity = config.severity(facts.fields.severity) if facts.fields.severity else None
    services = config.service_names(facts.fields.services)
    figures = facts.timeline.figures
    assert figures is not None
    front = {
        "number": facts.number, "name": facts.name, "title": one_line(facts.title),
        "severity": severity.name if severity else None, "services": list(facts.fields.services),
        "status": facts.fields.status.value,
        "opened": facts.opened.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "closed": (facts.closed.astimezone(UTC).isoformat().replace("+00:00", "Z")
                   if facts.closed else None),
        "roles": dict(sorted(facts.roles.items())),
        "links": {"issue": facts.issue_url, **({"slack": facts.channel_url}
                                               if facts.channel_url else {})},
    }
    entries = []
    for e in facts.timeline.entries:
        utc, local = _when(e.at, zone)
        text = markdown(truncate(one_line(e.text), MESSAGE_MAX))
        replies = f" _(+{e.replies} in thread)_" if e.replies else ""
        entries.append({"utc": utc, "local": local, "who": markdown(e.who),
                        "source": e.source, "text": text, "key": e.key, "replies": replies})
    opened_utc, opened_local = _when(facts.opened, zone)
    return {
        "front_matter": yaml.safe_dump(front, sort_keys=False, allow_unicode=True,
                                       width=1000).rstrip("\n"),
        "title": markdown(one_line(facts.title)),
        "number": facts.number, "name": facts.name, "issue_url": facts.issue_url,
        "severity": markdown_cell(f"{severity.name} — {severity.meaning}" if severity
                                  else "unrated"),
        "services": markdown_cell(", ".join(services) or "—"),
        "opened": f"{opened_utc} UTC ({opened_local})",
        "status": facts.fields.status.value,
        "public_status": publicstatus.word(facts.fields.status, config),
        "channel": markdown_cell(f"#{facts.channel_name}") if facts.channel_name else "",
        "channel_url": facts.channel_url or "",
        "roles": [(markdown_cell(role_label(config, r)), markdown_cell(p))
                  for r, p in sorted(facts.roles.items())],
        "figures": {
            "acknowledge": tl.human_duration(figures.time_to_acknowledge),
            "mitigate": tl.human_duration(figures.time_to_mitigate),
            "resolve": tl.human_duration(figures.time_to_resolve),
            "duration": tl.human_duration(figures.duration),
            "people": markdown_cell(", ".join(figures.people) or "—"),
        },
        "timezone": config.timezone,
        "timeline": entries,
        "status_page": config.status_page.url or "",
    }


def environment(search: Sequence[Path]) -> Any:
    """Jinja, sandboxed (a team's template runs with no access to Python), autoescape off
    because the output is Markdown (values are escaped for Markdown in `context`), and
    undefined variables are errors."""
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(loader=FileSystemLoader([str(p) for p in search]),
                                autoescape=False, undefined=StrictUndefined,
                                keep_trailing_newline=True, trim_blocks=False)


def template(config: Config, root: Path | None = None) -> Path:
    """The team's template (config.postmortem.template, relative to the repository root)
    when the file exists, else ours."""
    custom = (root or Path.cwd()) / config.postmortem.template
    return custom if custom.is_file() else PACKAGED


def render(facts: Facts, config: Config, *, root: Path | None = None) -> str:
    """The postmortem's Markdown; InvalidInput naming the template and line on a mistake."""
    from jinja2 import TemplateError, TemplateSyntaxError

    chosen = template(config, root)
    env = environment([chosen.parent])
    try:
        return str(env.get_template(chosen.name).render(**context(facts, config)))
    except TemplateSyntaxError as exc:
        raise InvalidInput(f"{chosen}:{exc.lineno}: {exc.message}") from None
    except TemplateError as exc:
        raise InvalidInput(f"{_where(exc, str(chosen))}: {exc}") from None


def _where(exc: BaseException, name: str) -> str:
    """`file:line` of the template frame an error came from."""
    tb = exc.__traceback__
    found = name
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def merge(existing: str | None, fresh: str) -> str:
    """`fresh`'s front matter and generated regions in `existing`, with the rest of
    `existing` (what people wrote) unchanged. A region people deleted stays deleted."""
    if not existing:
        return fresh
    regions = {m.group(1): m.group(0) for m in _REGION.finditer(fresh)}
    merged = _REGION.sub(lambda m: regions.get(m.group(1), m.group(0)), existing)
    front = _FRONT.match(fresh)
    if front is not None:
        merged = _FRONT.sub(lambda _: front.group(0), merged, count=1) \
            if _FRONT.match(merged) else front.group(0) + merged
    return merged


# -- the index ------------------------------------------------------------------------------
INDEX_HEAD = """# Postmortems

Every incident review, newest first. Kept by incidentbot: each new postmortem adds its row.

| Date | Incident | Severity | Services | Duration |
| --- | --- | --- | --- | --- |
"""
_ROW = re.compile(r"^\| (\d{4}-\d{2}-\d{2}) \| \[([^\]]+)\]\(([^)]+)\) \|.*\|$", re.MULTILINE)


def index(existing: str | None, facts: Facts, config: Config, path: str) -> str:
    """incidents/README.md with this incident's row added or refreshed, newest first."""
    rows: dict[str, str] = {}
    for m in _ROW.finditer(existing or ""):
        rows[m.group(2)] = m.group(0)
    severity = config.severity(facts.fields.severity).name if facts.fields.severity else "—"
    figures = facts.timeline.figures
    duration = tl.human_duration(figures.duration if figures else None)
    relative = path.removeprefix(config.postmortem.directory + "/")
    rows[facts.name] = (f"| {facts.opened:%Y-%m-%d} | [{facts.name}]({relative}) | {severity} | "
                        f"{markdown_cell(', '.join(facts.fields.services) or '—')} | "
                        f"{duration} |")
    ordered = sorted(rows.items(), key=lambda kv: (kv[1][2:12], kv[0]), reverse=True)
    return INDEX_HEAD + "\n".join(row for _, row in ordered) + "\n"


# -- action items -------------------------------------------------------------------------
_ITEM = re.compile(r"^- \[ \] (?P<what>.+?)(?: — @(?P<owner>[\w-]+))?"
                   r"(?: — due (?P<due>\d{4}-\d{2}-\d{2}))?\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ActionItem:
    what: str
    owner: str | None
    due: str | None


def action_items(text: str) -> list[ActionItem]:
    """Unchecked items of the Action items section (the template's example excluded)."""
    section = text.split("## Action items", 1)[-1].split("\n## ", 1)[0]
    items = []
    for m in _ITEM.finditer(section):
        what = m.group("what").strip()
        if what.startswith("_") and what.endswith("_"):
            continue
        items.append(ActionItem(what, m.group("owner"), m.group("due")))
    return items


# -- gathering and publishing -------------------------------------------------------------
def gather(tracker: IssueTracker, chat: Chat | None, config: Config, number: int, *,
           card: CardState | None = None) -> Facts:
    """Read the issue, its events and comments, and the channel's history (when there is a
    channel and a chat), and build the facts. `card` is the reconciler's newer memory when
    it writes the postmortem in the middle of a run."""
    from incidentbot import sync

    snap = sync.read(tracker, number, config)
    state = card or snap.card
    bots = {snap.bot_login, "incidentbot"}
    events = [tl.Event(e.created_at, e.kind, e.actor, label=e.label)
              for e in tracker.events(number)]
    events += [tl.Event(c.created_at, "commented", c.author, text=c.body, url=c.url)
               for c in snap.comments if c.author != snap.bot_login]
    messages: list[tl.SlackMessage] = []
    threads: dict[str, list[tl.SlackMessage]] = {}
    names: dict[str, str] = {}
    if chat is not None and state.channel_id:
        bots.add(chat.user_id())
        raw, raw_threads = chat.history(state.channel_id)
        messages = [_message(m) for m in raw]
        threads = {ts: [_message(m) for m in replies] for ts, replies in raw_threads.items()}

    def name_of(who: str) -> str:
        if who in names:
            return names[who]
        person = config.person_by_slack(who) or config.person_by_github(who) \
            or config.people.get(who)
        if person is not None:
            found = person.github or person.name or person.id
        elif chat is not None and re.fullmatch(r"[UW][A-Z0-9]{6,}", who):
            found = chat.user_name(who)
        else:
            found = who
        names[who] = found
        return found

    reporter = state.reporter or snap.issue.author
    built = tl.build(opened=snap.issue.created_at, reporter=reporter, events=events,
                     messages=messages, bots=bots, name_of=name_of,
                     closed=snap.issue.closed_at, thread_replies=threads,
                     changed_by=[(what, by, where) for _, what, by, where in state.history])
    roles = {role: name_of(ref.lstrip("@")) for role, ref in state.roles.items()}
    return Facts(number=number, name=state.name, title=snap.issue.title,
                 issue_url=snap.issue.url, fields=snap.fields, opened=snap.issue.created_at,
                 closed=snap.issue.closed_at, roles=roles, channel_name=state.channel_name,
                 channel_url=None, timeline=built)


def _message(m: Mapping[str, Any]) -> tl.SlackMessage:
    reactions = tuple(r.get("name", "") for r in m.get("reactions") or [])
    return tl.SlackMessage(ts=str(m.get("ts", "0")), user=m.get("user"),
                           text=str(m.get("text", "")), subtype=m.get("subtype"),
                           bot=bool(m.get("bot_id")), thread_ts=m.get("thread_ts"),
                           reply_count=int(m.get("reply_count") or 0),
                           pinned=bool(m.get("pinned_to")), reactions=reactions)


@dataclass(frozen=True, slots=True)
class Published:
    path: str
    text: str
    url: str
    changed: bool


def publish(tracker: IssueTracker, config: Config, facts: Facts, *,
            root: Path | None = None) -> Published:
    """Commit the postmortem and the index: on a review branch with a pull request
    (postmortem.review: pull_request) or straight to the default branch (direct)."""
    path = path_for(config, facts)
    base = tracker.default_branch()
    review = config.postmortem.review == "pull_request"
    branch = f"{config.postmortem.branch_prefix}{facts.name}" if review else base
    if review:
        tracker.ensure_branch(branch, base)
    existing = tracker.read_file(path, branch)
    text = merge(existing[0] if existing else None, render(facts, config, root=root))
    changed = tracker.write_file(path, text, f"Postmortem of #{facts.number} {facts.name}",
                                 branch)
    index_path = f"{config.postmortem.directory}/README.md"
    current_index = tracker.read_file(index_path, branch)
    tracker.write_file(index_path, index(current_index[0] if current_index else None, facts,
                                         config, path),
                       f"Index the postmortem of #{facts.number}", branch)
    repo_url = facts.issue_url.split("/issues/")[0]
    if review:
        url = tracker.ensure_pull(
            branch, base, f"Postmortem: #{facts.number} {one_line(facts.title)}"[:250],
            f"The postmortem of #{facts.number}, pre-filled by incidentbot. Fill in the "
            f"summary, impact, root cause and action items, then merge.\n\n"
            f"Closes nothing; the incident is #{facts.number}.")
    else:
        url = f"{repo_url}/blob/{base}/{path}"
    return Published(path, text, url, changed)


FOLLOWUP_LABEL = "incident-followup"


def open_followups(tracker: IssueTracker, config: Config, number: int) -> list[str]:
    """An issue for each unchecked action item of the postmortem on the default branch (the
    merged review), each once (found again by its marker), listed on the incident."""
    from incidentbot import sync

    snap = sync.read(tracker, number, config)
    path = path_for_name(config, snap.issue.created_at, snap.card.name)
    found = tracker.read_file(path, tracker.default_branch())
    if found is None:
        raise InvalidInput(f"{path} is not on the default branch yet: merge the review first")
    tracker.ensure_labels([(FOLLOWUP_LABEL, "0e8a16", "An action item from a postmortem")])
    lines = []
    opened = []
    known = tracker.list_labelled(FOLLOWUP_LABEL)
    for item in action_items(found[0]):
        marker = f"followup {snap.card.name} {digest(item.what)}"
        done = next((i for i in known if f"incidentbot:request {marker} " in i.body), None)
        if done is not None:
            opened.append(done)
            lines.append(f"#{done.number} {item.what} (opened before)")
            continue
        due = f"\n\nDue: {item.due}" if item.due else ""
        owner = f"\nOwner: @{item.owner}" if item.owner else ""
        issue = tracker.create_issue(
            truncate(item.what, 200),
            f"Action item from the postmortem of #{number} ({path}).{owner}{due}",
            [FOLLOWUP_LABEL], marker=marker)
        opened.append(issue)
        lines.append(f"#{issue.number} {item.what}")
    if opened:
        mark = "<!-- incidentbot:followups -->"
        body = mark + "\n**Action items**\n\n" + "\n".join(
            f"- [ ] #{i.number} {markdown(i.title)}" for i in opened)
        existing = [c for c in snap.comments if c.body.startswith(mark)]
        if existing:
            tracker.edit_comment(number, existing[0].id, body)
        else:
            tracker.comment(number, body)
    return lines or ["no unchecked action items"]


def path_for_name(config: Config, opened: datetime, name: str) -> str:
    return f"{config.postmortem.directory}/{opened:%Y-%m}/{name}.md"
