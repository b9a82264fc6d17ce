"""The status page: Statuspage v2 shapes, 90-day bars with gaps, nothing private anywhere."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import CONFIG
from jsonschema import Draft202012Validator

from incidentbot.adapters.monitordata import DataDir
from incidentbot.core import health
from incidentbot.core.health import Probe, ServiceState
from incidentbot.core.ports import Issue
from incidentbot.core.render.publicupdates import Update
from incidentbot.operations import statuspage

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SECRET_TITLE = "Leaked customer database zq7"


def issue(number: int, title: str, labels: tuple[str, ...], *, closed: bool = False,
          age: timedelta = timedelta(hours=2)) -> Issue:
    opened = NOW - age
    return Issue(number=number, title=title, body="", state="closed" if closed else "open",
                 labels=labels, created_at=opened, updated_at=opened + timedelta(minutes=30),
                 url=f"https://github.com/acme/incidents/issues/{number}",
                 closed_at=opened + timedelta(hours=1) if closed else None)


ISSUES = [
    issue(1, "Checkout <script>alert(1)</script> & \"quotes\"",
          ("incident", "public", "sev:2", "status:fixing", "service:checkout")),
    issue(2, SECRET_TITLE, ("incident", "private", "public", "sev:1", "status:investigating",
                            "service:payments")),
    issue(3, "Practice drill zq8", ("incident", "public", "drill", "sev:2", "status:open")),
    issue(4, "Internal only zq9", ("incident", "sev:3", "status:open", "service:admin")),
    issue(5, "Payments were slow", ("incident", "public", "sev:3", "status:closed",
                                    "service:payments"), closed=True, age=timedelta(days=3)),
]


def seed(tmp_path: Path) -> DataDir:
    data = DataDir(tmp_path / "data")
    states: dict[str, ServiceState] = {}
    for i in range(12 * 24 * 2):  # two days of 5-minute runs, with a 6-hour gap
        now = NOW - timedelta(days=2) + timedelta(minutes=5 * i)
        if NOW - timedelta(hours=30) < now < NOW - timedelta(hours=24):
            continue
        down = now > NOW - timedelta(minutes=40)
        probes = {"checkout": Probe("down" if down else "up", 200, 120 + i % 50),
                  "payments": Probe("up", 200, 80)}
        for slug, p in probes.items():
            states[slug], _ = health.advance(states.get(slug, ServiceState()), p, now)
        data.write_run(f"r{i}", "test", now, probes, states)
    return data


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("status")
    config = replace(CONFIG, status_page=replace(CONFIG.status_page, cname="status.acme.test"))
    updates = {1: [Update("c11", NOW - timedelta(minutes=30), "identified",
                          "We found the cause <b>and</b> are fixing it.")],
               2: [Update("c12", NOW, "investigating", f"{SECRET_TITLE} update")]}
    statuspage.build(config, seed(tmp_path), ISSUES, tmp_path / "site", now=NOW,
                     updates=updates)
    return tmp_path / "site"


def test_nothing_private_internal_or_from_a_drill_appears_anywhere(site: Path) -> None:
    for path in site.rglob("*"):
        if path.is_file():
            text = path.read_text("utf-8")
            for secret in (SECRET_TITLE, "zq8", "zq9", "Admin console"):
                assert secret not in text, f"{secret!r} leaked into {path}"
    assert not (site / "incidents" / "2.html").exists()


def test_titles_are_escaped(site: Path) -> None:
    html = (site / "index.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;" in html


# The fields and enums of Atlassian's Statuspage API v2 (https://metastatuspage.com/api/v2/).
ISO = {"type": ["string", "null"], "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"}
PAGE = {"type": "object", "required": ["id", "name", "url", "time_zone", "updated_at"]}
COMPONENT = {"type": "object", "required": ["id", "name", "status", "created_at", "updated_at",
                                            "position", "description", "showcase",
                                            "start_date", "group_id", "page_id", "group",
                                            "only_show_if_degraded"],
             "properties": {"status": {"enum": ["operational", "degraded_performance",
                                                "partial_outage", "major_outage",
                                                "under_maintenance"]}}}
INCIDENT = {"type": "object", "required": ["id", "name", "status", "created_at", "updated_at",
                                           "monitoring_at", "resolved_at", "impact",
                                           "shortlink", "started_at", "page_id",
                                           "incident_updates", "components"],
            "properties": {
                "status": {"enum": ["investigating", "identified", "monitoring", "resolved",
                                    "postmortem"]},
                "impact": {"enum": ["none", "minor", "major", "critical"]},
                "created_at": ISO, "resolved_at": ISO,
                "components": {"type": "array", "items": COMPONENT}}}
STATUS = {"type": "object", "required": ["indicator", "description"],
          "properties": {"indicator": {"enum": ["none", "minor", "major", "critical"]}}}
SCHEMAS = {
    "summary.json": {"type": "object", "required": ["page", "status", "components",
                                                     "incidents", "scheduled_maintenances"],
                     "properties": {"page": PAGE, "status": STATUS,
                                    "components": {"type": "array", "items": COMPONENT},
                                    "incidents": {"type": "array", "items": INCIDENT}}},
    "status.json": {"type": "object", "required": ["page", "status"],
                    "properties": {"status": STATUS}},
    "components.json": {"type": "object", "required": ["page", "components"],
                        "properties": {"components": {"type": "array", "items": COMPONENT}}},
    "incidents.json": {"type": "object", "required": ["page", "incidents"],
                       "properties": {"incidents": {"type": "array", "items": INCIDENT}}},
    "incidents/unresolved.json": {"type": "object", "required": ["page", "incidents"],
                                  "properties": {"incidents": {"type": "array",
                                                               "items": INCIDENT}}},
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_json_api_has_statuspage_shapes(site: Path, name: str) -> None:
    document = json.loads((site / "api" / "v2" / name).read_text())
    errors = list(Draft202012Validator(SCHEMAS[name]).iter_errors(document))
    assert errors == [], [e.message for e in errors]


def test_the_summary_follows_the_checks_and_the_public_incidents(site: Path) -> None:
    summary = json.loads((site / "api" / "v2" / "summary.json").read_text())
    components = {c["id"]: c["status"] for c in summary["components"]}
    assert components == {"checkout": "major_outage", "payments": "operational"}
    assert summary["status"]["indicator"] == "major"
    assert [i["id"] for i in summary["incidents"]] == ["1"]
    assert summary["incidents"][0]["status"] == "identified"  # fixing, in public words
    assert summary["incidents"][0]["impact"] == "major"
    past = json.loads((site / "api" / "v2" / "incidents.json").read_text())
    assert [i["id"] for i in past["incidents"]] == ["1", "5"]


def test_the_90_day_bar_shows_gaps_as_no_data(site: Path) -> None:
    html = (site / "index.html").read_text()
    # The seeded six-hour gap ended 24 h before NOW: the last day ran every check.
    assert "Monitoring coverage, last 24 h: 100% of the scheduled checks ran" in html
    assert "Monitoring is delayed" not in html
    # 87 days per service before the data began (the first day, from noon, is graded on
    # the hours it was watched); less the day of incident #5 on payments.
    assert html.count("<i class=n>") == 2 * 87 - 1
    assert "Missing data" in html
    assert "24 h: " in html and "90 d: " in html


def test_badges_feed_and_cname(site: Path) -> None:
    badge = json.loads((site / "badges" / "checkout.json").read_text())
    assert badge == {"schemaVersion": 1, "label": "Checkout", "message": "major outage",
                     "color": "red"}
    assert (site / "badges" / "checkout.svg").read_text().startswith("<svg")
    feed = (site / "feed.atom").read_text()
    assert "Payments were slow" in feed and "&lt;script&gt;" in feed
    assert (site / "CNAME").read_text() == "status.acme.test\n"


def test_links_are_relative_so_a_project_subpath_works(site: Path) -> None:
    import re

    for page in [site / "index.html", *sorted((site / "incidents").glob("*.html"))]:
        for link in re.findall(r'(?:href|src)="([^"]+)"', page.read_text()):
            assert not link.startswith("/"), f"{page.name}: {link}"
            if not link.startswith(("http", "#", "data:")):
                assert (page.parent / link).resolve().exists(), f"{page.name}: {link}"


def test_upptime_badge_files_keep_working(site: Path) -> None:
    summary = json.loads((site / "history" / "summary.json").read_text())
    assert [e["slug"] for e in summary] == ["checkout", "payments"]
    assert set(summary[0]) >= {"name", "url", "icon", "slug", "status", "uptime", "uptimeDay",
                               "uptimeWeek", "uptimeMonth", "uptimeYear", "time", "timeDay",
                               "timeWeek", "timeMonth", "timeYear", "dailyMinutesDown"}
    assert summary[1]["uptimeDay"] == "100.00%"
    badge = json.loads((site / "api" / "payments" / "uptime-week.json").read_text())
    assert badge == {"schemaVersion": 1, "label": "uptime 7d", "message": "100%",
                     "color": "brightgreen"}
    assert (site / "api" / "checkout" / "response-time.json").exists()


def test_public_updates_are_only_comments_marked_public() -> None:
    assert statuspage.public_update("Public update: We are rolling back.") == \
        "We are rolling back."
    assert statuspage.public_update("PUBLIC UPDATE:\n  Fixed.  ") == "Fixed."
    assert statuspage.public_update("internal note") is None
    assert statuspage.public_update("Public update:") is None
    assert statuspage.public_update("/public we are rolling back") is None


def test_public_updates_appear_on_the_incident_and_in_the_api(site: Path) -> None:
    page = (site / "incidents" / "1.html").read_text()
    assert "We found the cause &lt;b&gt;and&lt;/b&gt; are fixing it." in page
    summary = json.loads((site / "api" / "v2" / "summary.json").read_text())
    (incident,) = summary["incidents"]
    assert [u["body"] for u in incident["incident_updates"]] == [
        "We found the cause <b>and</b> are fixing it."]


def test_maintenance_is_shown_ahead_and_is_not_downtime(tmp_path: Path) -> None:
    data = seed(tmp_path)
    body_now = ("start: 2026-11-22 12:30\nend: 2026-11-22 14:00\ntimezone: Europe/Berlin\n"
                "services: checkout")
    body_later = "start: 2026-11-24 02:00\nend: 2026-11-24 03:00\nservices: payments, admin"
    windows = [statuspage.maintenance(replace(issue(n, t, ("maintenance",)), body=b), CONFIG)
               for n, t, b in [(10, "Database upgrade", body_now),
                               (11, "Payments move", body_later)]]
    assert windows[0].start == datetime(2026, 11, 22, 11, 30, tzinfo=UTC)  # CET → UTC
    assert windows[1].services == ("payments",)  # admin is not public
    site = tmp_path / "site"
    # The checks say checkout is down, but the work is planned: under maintenance. (The
    # public incident on checkout is left out here: a declared outage outranks it.)
    statuspage.build(CONFIG, data, [i for i in ISSUES if i.number != 1], site, now=NOW,
                     maintenances=windows)
    summary = json.loads((site / "api" / "v2" / "summary.json").read_text())
    status = {c["id"]: c["status"] for c in summary["components"]}
    assert status["checkout"] == "under_maintenance"
    assert summary["status"] == {"indicator": "maintenance",
                                 "description": "Service Under Maintenance"}
    page = (site / "maintenance" / "10.html").read_text()
    assert "Database upgrade" in page and "Checkout" in page and "In progress" in page
    upcoming = json.loads((site / "api" / "v2" / "scheduled-maintenances" / "upcoming.json")
                          .read_text())["scheduled_maintenances"]
    assert [m["name"] for m in upcoming] == ["Payments move"]
    active = json.loads((site / "api" / "v2" / "scheduled-maintenances" / "active.json")
                        .read_text())["scheduled_maintenances"]
    assert active[0]["scheduled_until"] == "2026-11-22T13:00:00Z"
    html = (site / "index.html").read_text()
    assert "Scheduled maintenance" in html and "Under maintenance" in html
    calendar = (site / "maintenance.ics").read_text()
    assert "DTSTART:20261124T010000Z" in calendar and calendar.count("BEGIN:VEVENT") == 2
    with pytest.raises(ValueError, match="needs `start:` and `end:`"):
        statuspage.maintenance(replace(issue(12, "x", ("maintenance",)), body="soon"), CONFIG)


def test_services_show_under_their_groups(tmp_path: Path) -> None:
    grouped = tuple(replace(s, group="Payments platform") if s.slug == "payments" else s
                    for s in CONFIG.services)
    site = tmp_path / "site"
    statuspage.build(replace(CONFIG, services=grouped), seed(tmp_path), ISSUES, site, now=NOW)
    html = (site / "index.html").read_text()
    assert html.index("Checkout") < html.index("<h3>Payments platform</h3>") < \
        html.index("Payments API")


def test_component_times_are_stable_from_build_to_build(tmp_path: Path) -> None:
    data = seed(tmp_path)
    for n, later in enumerate([timedelta(0), timedelta(minutes=1)]):
        statuspage.build(CONFIG, data, ISSUES, tmp_path / f"site{n}", now=NOW + later)
    first, second = (json.loads((tmp_path / f"site{n}" / "api" / "v2" / "components.json")
                                .read_text())["components"] for n in (0, 1))
    assert [(c["created_at"], c["updated_at"]) for c in first] == \
        [(c["created_at"], c["updated_at"]) for c in second]
    checkout = next(c for c in first if c["id"] == "checkout")
    # The first sample two days ago; the last change: its checks said down (the second
    # failed run, 30 min ago), after incident #1 opened.
    assert checkout["created_at"] == "2026-11-20T12:00:00Z"
    assert checkout["updated_at"] == "2026-11-22T11:30:00Z"


def test_a_service_name_is_escaped_once_in_its_feed_link(tmp_path: Path) -> None:
    service = replace(CONFIG.services[0], name='Public API <b>v2</b> & "stuff"')
    config = replace(CONFIG, services=(service,))
    statuspage.build(config, DataDir(tmp_path / "data"), [], tmp_path / "site", now=NOW)
    html = (tmp_path / "site" / "services" / f"{service.slug}.html").read_text()
    assert ("Atom feed of Public API &lt;b&gt;v2&lt;/b&gt; &amp; &#34;stuff&#34;'s "
            "incidents</a>") in html
    assert "&amp;lt;" not in html and "&amp;amp;" not in html
