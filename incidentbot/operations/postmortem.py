"""Postmortems: gather the facts, render `postmortem.md.j2`, keep what people wrote, commit.

Rendering is pure and deterministic (the same incident renders to the same bytes). Only the
regions between `<!-- incidentbot:begin NAME -->` and `<!-- incidentbot:end NAME -->` and
the front matter are regenerated on a second render; every other line is the team's.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from incidentbot.core import names, publicstatus
from incidentbot.core import timeline as tl
from incidentbot.core.config import Config
from incidentbot.core.errors import InvalidInput, ServiceError
from incidentbot.core.facts import Facts
from incidentbot.core.plan import role_label
from incidentbot.core.ports import IssueTracker, Pull
from incidentbot.core.text import markdown, markdown_cell, one_line, templates_dir, truncate
from incidentbot.operations import evidence
from incidentbot.operations.followups import FOLLOWUP_LABEL as FOLLOWUP_LABEL  # re-exported
from incidentbot.operations.followups import TYPES as TYPES
from incidentbot.operations.followups import ActionItem as ActionItem
from incidentbot.operations.followups import action_item as action_item
from incidentbot.operations.followups import action_items as action_items
from incidentbot.operations.followups import open_followups as open_followups

PACKAGED = templates_dir() / "postmortem.md.j2"
# A region's begin marker carries a digest of what incidentbot last wrote in it, so a region
# a person corrected is recognised (and kept) rather than silently overwritten.
_REGION = re.compile(r"<!-- incidentbot:begin ([\w-]+)(?: ([0-9a-f]{12}))? -->\n(.*?)"
                     r"<!-- incidentbot:end \1 -->", re.DOTALL)
_FRONT = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
MESSAGE_MAX = 600


gather = evidence.gather
# Re-exported: the follow-ups live in their own module.


def path_for(config: Config, facts: Facts) -> str:
    return names.postmortem_path(config.postmortem.directory, facts.opened, facts.name)


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
    entries = [_entry(e, zone) for e in facts.timeline.entries]
    opened_utc, opened_local = _when(facts.opened, zone)
    start = figures.start
    impact = ""
    if figures.mitigated is not None:
        lo, hi = _when(start, zone), _when(figures.mitigated, zone)
        impact = (f"{lo[0]} – {hi[0][11:] if hi[0][:10] == lo[0][:10] else hi[0]} UTC "
                  f"({tl.human_duration(figures.mitigated - start)})")
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
        "false_alarm": figures.false_alarm,
        "public_status": publicstatus.word(facts.fields.status, config),
        "channel": markdown_cell(f"#{facts.channel_name}") if facts.channel_name else "",
        "channel_url": facts.channel_url or "",
        "roles": [(markdown_cell(role_label(config, r)), markdown_cell(p))
                  for r, p in sorted(facts.roles.items())],
        "description": [markdown(line) for line in facts.description.splitlines()],
        "detected_by": "health checks" if facts.fields.auto else "a person",
        "figures": {
            "started": f"{_when(start, zone)[0]} UTC ({_when(start, zone)[1]})",
            "detect": tl.human_duration(figures.time_to_detect),
            "acknowledge": tl.human_duration(figures.time_to_acknowledge),
            "mitigate": tl.human_duration(figures.time_to_mitigate),
            "resolve": tl.human_duration(figures.time_to_resolve),
            "duration": tl.human_duration(figures.duration),
            "impact": impact or "—",
            "people": markdown_cell(", ".join(figures.people) or "—"),
        },
        "outages": [{"name": markdown_cell(o.name), "down": tl.human_duration(o.down),
                     "degraded": tl.human_duration(o.degraded)} for o in facts.outages],
        "timezone": config.timezone,
        "timeline": entries,
        "public_updates": [{**e, "text": e["text"].removeprefix("Public update: ")}
                           for e in entries if e["kind"] == "public"],
        "owner": markdown_cell(facts.owner),
        "reviewers": [markdown_cell(r) for r in facts.reviewers],
        "related": [{"number": i.number, "url": i.url, "title": markdown(one_line(i.title)),
                     "opened": f"{i.created_at.astimezone(UTC):%Y-%m-%d}",
                     "services": markdown(", ".join(config.service_names(
                         label.removeprefix("service:") for label in i.labels
                         if label.startswith("service:"))))} for i in facts.related],
        "recent_changes": [_recent(c, zone) for c in facts.recent_changes],
        "changes_known": facts.changes_known,
        "graph": facts.graph, "meeting": facts.meeting,
        "status_page": config.status_page.url or "",
    }


def _recent(c: Any, zone: ZoneInfo) -> dict[str, Any]:
    utc, local = _when(c.at, zone)
    return {"utc": utc, "local": local, "repo": markdown(c.repo), "what": markdown(c.what),
            "who": markdown(c.who), "url": c.url}


def _entry(e: tl.Entry, zone: ZoneInfo) -> dict[str, Any]:
    utc, local = _when(e.at, zone)
    who = markdown(e.who)
    return {"utc": utc, "local": local, "who": who, "source": e.source,
            "by": (f"{who} ({e.source}, outside the team)" if e.kind == "outside"
                   else f"{who} ({e.source})" if who else e.source), "kind": e.kind,
            "text": markdown(truncate(one_line(e.text), MESSAGE_MAX)), "key": e.key,
            "replies": f" _(+{e.replies} in thread)_" if e.replies else ""}


def environment(search: Sequence[Path]) -> Any:
    """Jinja, sandboxed (a team's template runs with no access to Python), autoescape off
    because the output is Markdown (values are escaped for Markdown in `context`), and
    undefined variables are errors."""
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(loader=FileSystemLoader([str(p) for p in search]),
                                autoescape=False, undefined=StrictUndefined,
                                keep_trailing_newline=True, trim_blocks=False)


@functools.lru_cache(maxsize=8)
def _cached_environment(folder: str) -> Any:
    """One environment per template folder: Jinja then compiles a template once and
    again only when its file changes (auto_reload checks the modification time)."""
    return environment([Path(folder)])


def template(config: Config, root: Path | None = None) -> Path:
    """The team's template (config.postmortem.template, relative to the repository root)
    when the file exists, else ours."""
    custom = (root or Path.cwd()) / config.postmortem.template
    return custom if custom.is_file() else PACKAGED


def render(facts: Facts, config: Config, *, root: Path | None = None) -> str:
    """The postmortem's Markdown; InvalidInput naming the template and line on a mistake."""
    from jinja2 import TemplateError, TemplateSyntaxError

    chosen = template(config, root)
    env = _cached_environment(str(chosen.parent))
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


def _stamp(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()[:12]


def _stamped(m: re.Match[str]) -> str:
    name, content = m.group(1), m.group(3)
    return f"<!-- incidentbot:begin {name} {_stamp(content)} -->\n{content}" \
        f"<!-- incidentbot:end {name} -->"


def merge(existing: str | None, fresh: str) -> str:
    """`fresh`'s front matter and generated regions in `existing`, with the rest of
    `existing` (what people wrote) unchanged. A region people deleted stays deleted, and
    one they edited (its text no longer what its begin marker's digest says incidentbot
    wrote) is kept as they left it (see edited_regions)."""
    return merged_with_edits(existing, fresh)[0]


def edited_regions(text: str) -> tuple[str, ...]:
    """The generated regions a person changed since incidentbot last wrote them."""
    return tuple(m.group(1) for m in _REGION.finditer(text)
                 if m.group(2) and m.group(3).strip() and _stamp(m.group(3)) != m.group(2))


def merged_with_edits(existing: str | None, fresh: str) -> tuple[str, tuple[str, ...]]:
    """merge(), and the names of the regions kept because a person edited them."""
    fresh = _REGION.sub(_stamped, fresh)
    if not existing:
        return fresh, ()
    regions = {m.group(1): m.group(0) for m in _REGION.finditer(fresh)}
    kept = edited_regions(existing)
    merged = _REGION.sub(lambda m: m.group(0) if m.group(1) in kept
                         else regions.get(m.group(1), m.group(0)), existing)
    front = _FRONT.match(fresh)
    if front is not None:
        merged = _FRONT.sub(lambda _: front.group(0), merged, count=1) \
            if _FRONT.match(merged) else front.group(0) + merged
    return merged, kept


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


# -- publishing ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Published:
    path: str
    text: str
    url: str
    changed: bool
    notice: str = ""  # what the channel is told: the draft, its owner, reviewers, meeting
    kept: tuple[str, ...] = ()  # generated regions left as a person edited them


@dataclass(frozen=True, slots=True)
class Target:
    """Where the postmortem is committed: `branch` (the review branch, or `base` for
    `postmortem.review: direct` and a merged review) and its pull request when there is
    one. `ready`: the branch exists (publishing made sure of it)."""

    base: str
    branch: str
    pull: Pull | None
    review: bool  # postmortem.review: pull_request
    ready: bool = False


def target(tracker: IssueTracker, config: Config, facts: Facts) -> Target:
    """Where `publish` would commit (reads only)."""
    base = tracker.default_branch()
    wanted = config.postmortem.review == "pull_request"
    branch = f"{config.postmortem.branch_prefix}{facts.name}" if wanted else base
    pull = tracker.find_pull(branch, base) if wanted else None
    if pull is not None and pull.merged_at is not None:
        branch = base  # the review is merged: the file lives on the default branch now
    return Target(base, branch, pull, wanted, ready=branch == base)


@dataclass(frozen=True, slots=True)
class Draft:
    """What `publish` commits, worked out with reads only: `incidentbot postmortem --print`
    shows exactly this."""

    path: str
    text: str  # the rendered postmortem merged with what people wrote on the branch
    facts: Facts  # with the owner, the reviewers, the graph and the meeting named
    review: Any  # core.review.Review: the owner and reviewers as logins
    target: Target
    kept: tuple[str, ...] = ()  # generated regions left as a person edited them


def draft(tracker: IssueTracker, config: Config, facts: Facts, *, root: Path | None = None,
          where: Target | None = None) -> Draft:
    """The postmortem as `publish` would commit it: the owner is the review's assignee
    (else the commander), the reviewers the role holders and services' owners, merged with
    the file already on the branch. Nothing is written."""
    from incidentbot.core import review as reviews

    where = where or target(tracker, config, facts)
    path = path_for(config, facts)
    pull = where.pull
    plan = reviews.plan(facts, config, assignees=pull.assignees if pull else (),
                        author=pull.author if pull else tracker.login())
    facts = replace(facts, owner=reviews.shown(config, plan.owner) if plan.owner else "",
                    reviewers=tuple(reviews.shown(config, x) for x in plan.reviewers),
                    meeting=f"{facts.name}.ics" if reviews.wants_meeting(facts, config)
                    else "", graph=f"{facts.name}.svg" if facts.outages else "")
    existing = tracker.read_file(path, where.branch)
    if existing is None and not where.ready:
        existing = tracker.read_file(path, where.base)  # the branch would start from it
    text, kept = merged_with_edits(existing[0] if existing else None,
                                   render(facts, config, root=root))
    return Draft(path, text, facts, plan, where, kept)


def publish(tracker: IssueTracker, config: Config, facts: Facts, *,
            root: Path | None = None) -> Published:
    """Commit the postmortem and the index: on a review branch with a pull request
    (postmortem.review: pull_request) or straight to the default branch (direct). The
    pull request gets its owner assigned and reviewers requested; a merged review's file is
    refreshed on the default branch. Beside it: the graph and the meeting's invitation."""
    from incidentbot.core import review as reviews

    where = target(tracker, config, facts)
    if not where.ready:
        tracker.ensure_branch(where.branch, where.base)
        where = replace(where, ready=True)
    made = draft(tracker, config, facts, root=root, where=where)
    facts, plan, path, text = made.facts, made.review, made.path, made.text
    base, branch, pull = where.base, where.branch, where.pull
    folder = path.rsplit("/", 1)[0]
    repo_url = facts.issue_url.split("/issues/")[0]
    figures = facts.timeline.figures
    resolved = (figures.resolved if figures else None) or facts.opened
    meeting = facts.meeting
    if facts.graph:
        tracker.write_file(f"{folder}/{facts.graph}", graph(facts),
                           f"Health checks graph of #{facts.number}", branch)
    if meeting:
        tracker.write_file(f"{folder}/{meeting}", reviews.ics(
            facts, config, plan, resolved=resolved, url=f"{repo_url}/blob/{branch}/{path}"),
            f"Review meeting of #{facts.number}", branch)
    changed = tracker.write_file(path, text, f"Postmortem of #{facts.number} {facts.name}",
                                 branch)
    index_path = f"{config.postmortem.directory}/README.md"
    current_index = tracker.read_file(index_path, branch)
    tracker.write_file(index_path, index(current_index[0] if current_index else None, facts,
                                         config, path),
                       f"Index the postmortem of #{facts.number}", branch)
    if where.review:
        url = pull.url if pull is not None else tracker.ensure_pull(
            branch, base, f"Postmortem: #{facts.number} {one_line(facts.title)}"[:250],
            f"The postmortem of #{facts.number}, pre-filled by incidentbot. Fill in the "
            f"summary, impact, contributing factors and action items, then merge.\n\n"
            f"Closes nothing; the incident is #{facts.number}.")
        number = int(url.rstrip("/").rsplit("/", 1)[-1])
        if plan.owner and (pull is None or not pull.assignees):
            tracker.assign(number, [plan.owner])
        _request(tracker, number, [x for x in plan.reviewers
                                   if pull is None or x not in pull.reviewers])
    else:
        url = f"{repo_url}/blob/{base}/{path}"
    invitation = f"{repo_url}/blob/{branch}/{folder}/{meeting}" if meeting else None
    when = reviews.meeting_start(resolved, ZoneInfo(config.timezone)) if meeting else None
    notice = reviews.notice(config, plan, url=url, path=path, meeting=invitation, when=when)
    if made.kept:
        notice += "\n" + kept_notice(made.kept)
    return Published(path, text, url, changed, notice, made.kept)


def kept_notice(kept: Sequence[str]) -> str:
    """What a run says of the regions it left as people edited them."""
    return (f"Kept as edited by hand, not regenerated: {', '.join(kept)} (delete a region's "
            "text between its markers to have incidentbot fill it in again).")


def _request(tracker: IssueTracker, number: int, logins: list[str]) -> None:
    """Reviewers asked at once; when GitHub refuses the lot (someone is not a
    collaborator), one by one, so the others are still asked."""
    if not logins:
        return
    try:
        tracker.request_reviewers(number, logins)
    except ServiceError:
        for login in logins:
            try:
                tracker.request_reviewers(number, [login])
            except ServiceError:
                continue


def graph(facts: Facts) -> str:
    """The supporting graph: an hour either side of the incident."""
    from incidentbot.core.render import incident_graph

    figures = facts.timeline.figures
    start = figures.start if figures else facts.opened
    end = facts.closed or max(s.t for o in facts.outages for s in o.samples)
    mitigated = figures.mitigated if figures else None
    return incident_graph.svg(facts.outages, start=start, opened=facts.opened,
                              mitigated=mitigated, low=start - evidence.GRAPH_MARGIN,
                              high=max(end, mitigated or end) + evidence.GRAPH_MARGIN)
