"""The page build asks GitHub only for what changed (issue 12: ≤ 3 requests with 1,000 past
incidents and nothing changed), and what it builds from its kept knowledge is exactly what a
build from scratch makes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from helpers import CONFIG, FakeClock, connections_as
from history import seed_past_incidents

from incidentbot.adapters import pagecache
from incidentbot.adapters.monitordata import DataDir
from incidentbot.operations import pagebuild
from incidentbot.sandbox import IDENTITIES, Sandbox

START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Built:
    requests: int  # every GitHub request
    counted: int  # those GitHub counts against the hourly budget (not 304s)
    page: pagebuild.Page


def _build(sandbox: Sandbox, root: Path, now: datetime) -> Built:
    c = connections_as(sandbox, "actions")
    sandbox.clear_calls()
    page = pagebuild.build_page(CONFIG, c, DataDir(root / "data"), root / "site", now=now)
    calls = sandbox.calls_to("github")
    return Built(len(calls), len([x for x in calls if x.status != 304]), page)


def _files(site: Path) -> dict[str, str]:
    return {str(p.relative_to(site)): p.read_text("utf-8") for p in sorted(site.rglob("*"))
            if p.is_file()}


def test_an_unchanged_build_with_1000_past_incidents_costs_at_most_3_requests(
        sandbox: Sandbox, tmp_path: Path) -> None:
    clock = FakeClock(sandbox, START)
    seeded = seed_past_incidents(sandbox.github.store, 1000, end=START)
    first = _build(sandbox, tmp_path, clock.now)
    # The first build lists all (10 pages of 100) and reads each public incident once.
    assert first.counted >= 10 + 2 * len(seeded.public)
    assert sorted(first.page.shown) == sorted(seeded.public)
    again = _build(sandbox, tmp_path, clock.at(5))
    assert again.requests <= 3 and again.counted <= 3
    assert again.page.shown == first.page.shown
    assert not pagecache.save(tmp_path / "data", pagecache.load(tmp_path / "data"))


def test_changes_show_on_the_next_build_exactly_as_a_full_build_shows_them(
        sandbox: Sandbox, tmp_path: Path) -> None:
    clock = FakeClock(sandbox, START)
    seeded = seed_past_incidents(sandbox.github.store, 60, end=START)
    _build(sandbox, tmp_path / "kept", clock.now)
    updated, hidden = seeded.public[-1], seeded.public[-2]
    shown = next(n for n in seeded.numbers if n not in seeded.public)
    clock.at(10)
    sandbox.github_comment("alice", updated, "Public update: one more thing we learnt.")
    sandbox.github_relabel("alice", hidden, add=["private"])
    sandbox.github_relabel("alice", shown, add=["public"])
    fresh = sandbox.github_open("alice", "Checkout is slow", "Seen by customers.",
                                ["incident", "sev:2", "status:investigating",
                                 "service:checkout", "public"])
    clock.at(12)
    sandbox.github_comment("bob", fresh, "Public update: we are looking into it.")
    clock.at(20)
    kept = _build(sandbox, tmp_path / "kept", clock.now)
    scratch = _build(sandbox, tmp_path / "scratch", clock.now)
    # Listed since the last build (1), maintenance (1), comments and events of the three
    # changed incidents still on the page (2 each).
    assert kept.counted == 2 + 2 * 3 < scratch.counted
    assert kept.page.shown == scratch.page.shown
    assert hidden not in kept.page.shown and {shown, fresh} <= set(kept.page.shown)
    assert _files(tmp_path / "kept" / "site") == _files(tmp_path / "scratch" / "site")
    page = (tmp_path / "kept" / "site" / "incidents" / f"{updated}.html").read_text()
    assert "one more thing we learnt" in page
    # Closing it: the next build shows it resolved, as a build from scratch does.
    clock.at(30)
    sandbox.github_relabel("alice", fresh, add=["status:closed"],
                           remove=["status:investigating"])
    sandbox.github_set_state("alice", fresh, "closed")
    clock.at(31)
    kept = _build(sandbox, tmp_path / "kept", clock.now)
    scratch = _build(sandbox, tmp_path / "scratch2", clock.now)
    assert _files(tmp_path / "kept" / "site") == _files(tmp_path / "scratch2" / "site")


def test_the_daily_full_listing_drops_what_a_since_listing_cannot_see(
        sandbox: Sandbox, tmp_path: Path) -> None:
    clock = FakeClock(sandbox, START)
    seeded = seed_past_incidents(sandbox.github.store, 12, end=START)
    _build(sandbox, tmp_path, clock.now)
    gone = seeded.public[0]
    del sandbox.github.store.issues[gone]  # an admin deleted the issue: no update shows it
    assert gone in _build(sandbox, tmp_path, clock.at(5)).page.shown
    later = _build(sandbox, tmp_path, START + pagecache.FULL_EVERY + timedelta(minutes=1))
    assert gone not in later.page.shown
    assert not (tmp_path / "site" / "incidents" / f"{gone}.html").exists()


def test_a_build_whose_inputs_did_not_change_writes_nothing(tmp_path: Path) -> None:
    from incidentbot.core.health import Probe, ServiceState
    from incidentbot.core.ports import Issue
    from incidentbot.operations import statuspage

    data = DataDir(tmp_path / "data")
    slug = CONFIG.services[0].slug
    data.write_run("1", "test", START, {slug: Probe("up", 200, 90)}, {slug: ServiceState()})
    issue = Issue(7, "Checkout errors", "", "open",
                  ("incident", "public", "sev:2", "status:investigating", f"service:{slug}"),
                  START, START, "https://x/7")
    site = tmp_path / "site"
    assert statuspage.build(CONFIG, data, [issue], site, now=START)
    assert statuspage.build(CONFIG, data, [issue], site, now=START) == []
    later = START + timedelta(minutes=5)
    assert statuspage.build(CONFIG, data, [issue], site, now=later)  # the moment moved
    data.write_run("2", "test", later, {slug: Probe("down", 500, 90)}, {slug: ServiceState()})
    assert statuspage.build(CONFIG, data, [issue], site, now=later)  # a new sample
    moved = Issue(7, "Checkout errors", "", "open", issue.labels, START, later, "https://x/7")
    assert statuspage.build(CONFIG, data, [moved], site, now=later)  # the issue changed
    assert statuspage.build(CONFIG, data, [moved], site, now=later) == []
    (site / "index.html").unlink()
    assert site / "index.html" in statuspage.build(CONFIG, data, [moved], site, now=later)


def test_the_stand_in_counts_like_github_since_and_304(sandbox: Sandbox) -> None:
    """What the figures rest on: `since` keeps issues updated at or after it, a 304 to
    If-None-Match costs nothing, and X-RateLimit-* say so."""
    clock = FakeClock(sandbox, START)
    seeded = seed_past_incidents(sandbox.github.store, 5, end=START)
    token, _ = IDENTITIES["actions"]
    url = f"{sandbox.github_url}/repos/{sandbox.repository}/issues"
    headers = {"Authorization": f"Bearer {token}"}
    newest = sandbox.github.store.issues[seeded.numbers[-1]].updated_at
    listed = requests.get(url, {"state": "all", "since": newest}, headers=headers, timeout=5)
    assert [i["number"] for i in listed.json()] == [seeded.numbers[-1]]
    assert listed.headers["X-RateLimit-Limit"] == "1000"
    used = int(listed.headers["X-RateLimit-Used"])
    again = requests.get(url, {"state": "all", "since": newest}, timeout=5,
                         headers={**headers, "If-None-Match": listed.headers["ETag"]})
    assert again.status_code == 304 and int(again.headers["X-RateLimit-Used"]) == used
    clock.at(1)
    sandbox.github_comment("alice", seeded.numbers[0], "Public update: later.")
    moved = requests.get(url, {"state": "all", "since": newest}, timeout=5,
                         headers={**headers, "If-None-Match": listed.headers["ETag"]})
    assert moved.status_code == 200
    assert {i["number"] for i in moved.json()} == {seeded.numbers[0], seeded.numbers[-1]}


def test_a_deleted_public_update_leaves_the_page_at_the_daily_full_listing(
        sandbox: Sandbox, tmp_path: Path) -> None:
    clock = FakeClock(sandbox, START)
    seeded = seed_past_incidents(sandbox.github.store, 6, end=START)
    number = seeded.public[-1]
    store = sandbox.github.store
    said = next(c for c in store.comments_of(store.issues[number])
                if c.body.startswith("Public update:"))
    page = tmp_path / "site" / "incidents" / f"{number}.html"
    _build(sandbox, tmp_path, clock.now)
    assert said.body.removeprefix("Public update: ")[:20] in page.read_text()
    store.delete_comment(said, "alice")  # GitHub leaves the issue's updated_at as it was
    _build(sandbox, tmp_path, clock.at(5))
    daily = _build(sandbox, tmp_path, START + pagecache.FULL_EVERY + timedelta(minutes=1))
    assert said.body.removeprefix("Public update: ")[:20] not in page.read_text()
    assert number in daily.page.shown
