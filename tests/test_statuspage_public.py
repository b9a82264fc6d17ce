"""What the public reads, compared with Statuspage's and Upptime's own files: one status in
every output, components from incidents, maintenance, groups, feeds, pages, history."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import CONFIG
from test_statuspage import NOW, issue, seed

from incidentbot.adapters.monitordata import DataDir
from incidentbot.core.config import Link
from incidentbot.core.ports import Issue
from incidentbot.core.render.publicupdates import Update
from incidentbot.operations import statuspage

REFERENCE = Path("/work/shared/reference")  # the team's copy, when present
REPO_REFERENCE = Path(__file__).parent / "payloads" / "statuspage"
ATOM = "{http://www.w3.org/2005/Atom}"


def reference(name: str) -> Any:
    for folder in (REPO_REFERENCE, REFERENCE / "statuspage-v2"):
        if (folder / name).exists():
            return json.loads((folder / name).read_text())
    pytest.skip(f"reference payload {name} not available")


def api(site: Path, name: str) -> Any:
    return json.loads((site / "api" / "v2" / name).read_text())


FIXED = issue(21, "Payments were failing", ("incident", "public", "sev:2", "status:fixed",
                                            "service:payments"))
SEV1 = issue(22, "Checkout is down", ("incident", "public", "sev:1", "status:investigating",
                                      "service:checkout"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("public")
    services = tuple(replace(s, group="Payments platform") if s.slug == "payments" else s
                     for s in CONFIG.services)
    config = replace(CONFIG, services=services)
    statuspage.build(config, seed(root), [FIXED, SEV1], root / "site", now=NOW)
    return root / "site"


def test_monitoring_is_unresolved_in_every_output(site: Path) -> None:
    unresolved = {i["id"]: i for i in api(site, "incidents/unresolved.json")["incidents"]}
    summary = {i["id"]: i for i in api(site, "summary.json")["incidents"]}
    assert set(unresolved) == set(summary) == {"21", "22"}
    fixed = unresolved["21"]
    assert (fixed["status"], fixed["resolved_at"]) == ("monitoring", None)
    assert fixed["monitoring_at"] is not None
    html = (site / "index.html").read_text()
    active = html.split('id="active"')[1].split("</section>")[0]
    assert "Payments were failing" in active and "Monitoring" in active
    assert "Past incidents" in html and "No incidents in the last 7 days." in html
    assert "Monitoring" in (site / "incidents" / "21.html").read_text()
    feed = ET.parse(site / "feed.atom").getroot()  # noqa: S314 (our own file)
    summaries = [e.findtext(f"{ATOM}summary") for e in feed.iter(f"{ATOM}entry")]
    assert any(s and s.startswith("Monitoring: ") for s in summaries)


def test_incidents_set_their_services_status_by_severity(site: Path) -> None:
    components = {c["id"]: c for c in api(site, "components.json")["components"]}
    # SEV1 is a major outage (and the checks say down too); the fixed SEV2 is monitored:
    # its service is back to what its checks say.
    assert components["checkout"]["status"] == "major_outage"
    assert components["payments"]["status"] == "operational"
    # The SEV1's critical impact sets the indicator; Payments is operational, so the words
    # name the incident's impact, not a "Major System Outage" of every component.
    assert api(site, "status.json")["status"] == {"indicator": "critical",
                                                  "description": "Critical Service Outage"}


def test_groups_are_components_with_their_members(site: Path) -> None:
    components = api(site, "components.json")["components"]
    group = next(c for c in components if c["group"])
    assert group["name"] == "Payments platform" and group["components"] == ["payments"]
    member = next(c for c in components if c["id"] == "payments")
    assert member["group_id"] == group["id"]


def test_keys_and_enums_are_statuspages_own(site: Path) -> None:
    ours, theirs = api(site, "summary.json"), reference("github__summary.json")
    assert set(ours) == set(theirs)
    assert set(ours["page"]) == set(theirs["page"])
    component_keys = set(theirs["components"][0])
    assert all(set(c) - {"components"} == component_keys for c in ours["components"])
    incident = reference("discord__incidents.json")["incidents"][0]
    for mine in api(site, "incidents.json")["incidents"]:
        assert set(mine) == set(incident)
        for update in mine["incident_updates"]:
            assert set(update) == set(incident["incident_updates"][0])
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", update["created_at"])
    assert set(api(site, "status.json")) == set(reference("github__status.json"))


def test_a_maintenance_window_has_statuspages_fields_and_a_page(tmp_path: Path) -> None:
    window = statuspage.maintenance(replace(
        issue(30, "Database upgrade", ("maintenance",)),
        body="start: 2026-11-22 12:30\nend: 2026-11-22 14:00\nservices: checkout\n"
             "New disks for the checkout database."), CONFIG)
    statuspage.build(CONFIG, seed(tmp_path), [], tmp_path / "site", now=NOW,
                     maintenances=[window])
    (mine,) = api(tmp_path / "site", "scheduled-maintenances.json")["scheduled_maintenances"]
    theirs = reference("github__scheduled-maintenances.json")["scheduled_maintenances"][0]
    assert set(mine) == set(theirs)
    assert (mine["status"], mine["impact"]) == ("in_progress", "maintenance")
    page = (tmp_path / "site" / "maintenance" / "30.html").read_text()
    assert "New disks for the checkout database." in page and "Checkout" in page
    summary = api(tmp_path / "site", "summary.json")
    assert summary["status"]["indicator"] == "maintenance"
    assert "All Systems Operational" not in (tmp_path / "site" / "index.html").read_text()


def test_no_data_anywhere_is_never_all_systems_operational(tmp_path: Path) -> None:
    statuspage.build(CONFIG, DataDir(tmp_path / "empty"), [], tmp_path / "site", now=NOW)
    html = (tmp_path / "site" / "index.html").read_text()
    assert "All Systems Operational" not in html and "No monitoring data yet" in html
    badge = json.loads((tmp_path / "site" / "badges" / "checkout.json").read_text())
    assert (badge["message"], badge["color"]) == ("no data", "lightgrey")


def test_the_feed_is_valid_atom_with_an_author_and_one_per_component(site: Path) -> None:
    for path in [site / "feed.atom", site / "feeds" / "checkout.atom"]:
        feed = ET.parse(path).getroot()  # noqa: S314 (our own file)
        assert feed.tag == f"{ATOM}feed"
        assert feed.findtext(f"{ATOM}author/{ATOM}name") == CONFIG.status_page.title
        assert feed.findtext(f"{ATOM}id") and feed.findtext(f"{ATOM}updated")
        for entry in feed.iter(f"{ATOM}entry"):
            for child in ("id", "title", "updated", "summary"):
                assert entry.findtext(f"{ATOM}{child}"), child
            assert len(entry.findtext(f"{ATOM}summary") or "") > 20  # words, not one
    checkout = ET.parse(site / "feeds" / "checkout.atom").getroot()  # noqa: S314
    titles = [e.findtext(f"{ATOM}title") for e in checkout.iter(f"{ATOM}entry")]
    assert titles == ["Checkout is down"]


def test_logo_navbar_and_base_path_are_used(tmp_path: Path) -> None:
    (tmp_path / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    config = replace(CONFIG, source=str(tmp_path / "incidentbot.yml"),
                     status_page=replace(CONFIG.status_page, logo="logo.svg",
                                         url="https://acme.github.io", base_path="/status/",
                                         navbar=(Link("Help", "https://help.acme.test"),)))
    statuspage.build(config, seed(tmp_path), [SEV1], tmp_path / "site", now=NOW)
    html = (tmp_path / "site" / "index.html").read_text()
    assert '<img src="assets/logo.svg" alt="">' in html
    assert (tmp_path / "site" / "assets" / "logo.svg").exists()
    assert '<a href="https://help.acme.test">Help</a>' in html
    assert '<link rel="canonical" href="https://acme.github.io/status/">' in html
    incident = api(tmp_path / "site", "incidents.json")["incidents"][0]
    assert incident["shortlink"] == "https://acme.github.io/status/incidents/22.html"
    page = (tmp_path / "site" / "incidents" / "22.html").read_text()
    assert '<img src="../assets/logo.svg" alt="">' in page


def test_history_is_paginated_with_durations_and_old_pages_never_change(
        tmp_path: Path) -> None:
    config = replace(CONFIG, status_page=replace(CONFIG.status_page, history_per_page=2))
    past = [replace(issue(n, f"Old incident {n}", ("incident", "public", "sev:3",
                                                   "status:closed", "service:checkout"),
                          closed=True, age=timedelta(days=40 - n)),
                    closed_at=NOW - timedelta(days=40 - n) + timedelta(minutes=42))
            for n in range(1, 6)]
    data = DataDir(tmp_path / "data")
    statuspage.build(config, data, past, tmp_path / "site", now=NOW)
    pages = sorted((tmp_path / "site" / "history").glob("*.html"))
    assert [p.name for p in pages] == ["1.html", "2.html", "3.html"]
    first = (tmp_path / "site" / "history" / "1.html").read_text()
    assert "Old incident 1" in first and "Resolved in 42 min" in first
    assert "Newer incidents" in first and "Older incidents" not in first
    more = [*past, replace(issue(6, "New one", ("incident", "public", "sev:3",
                                                "status:closed", "service:checkout"),
                                 closed=True, age=timedelta(days=1)))]
    written = statuspage.build(config, data, more, tmp_path / "site", now=NOW)
    names = {p.relative_to(tmp_path / "site").as_posix() for p in written}
    assert "history/1.html" not in names and "history/3.html" in names
    assert "incidents/1.html" not in names and "incidents/6.html" in names


def test_upptime_files_have_upptimes_keys_labels_and_colours(site: Path) -> None:
    theirs_dir = Path(__file__).parent / "payloads" / "upptime-output"
    theirs = json.loads((theirs_dir / "summary.json").read_text())
    ours = json.loads((site / "history" / "summary.json").read_text())
    assert [list(e) for e in ours] == [list(theirs[0])] * len(ours)  # keys, in order
    checkout = next(e for e in ours if e["slug"] == "checkout")
    assert checkout["url"] == "https://shop.example.com/health"
    assert checkout["icon"] == "https://icons.duckduckgo.com/ip3/shop.example.com.ico"
    # Seeded down samples from 35 minutes before NOW: 35 minutes down today.
    assert checkout["dailyMinutesDown"] == {"2026-11-22": 35}
    for path in sorted((theirs_dir / "api-manual").glob("*.json")):
        upptime_badge = json.loads(path.read_text())
        our_badge = json.loads((site / "api" / "checkout" / path.name).read_text())
        assert set(our_badge) == set(upptime_badge)
        assert our_badge["label"] == upptime_badge["label"], path.name
    assert json.loads((site / "api" / "payments" / "uptime-day.json").read_text())[
        "message"] == "100%"


@pytest.mark.parametrize(("percent", "colour"), [
    (100, "brightgreen"), (95.01, "brightgreen"), (95, "green"), (90.34, "green"),
    (86, "yellowgreen"), (81, "yellow"), (76, "orange"), (75, "red")])
def test_the_uptime_colour_scale_is_upptimes(percent: float, colour: str) -> None:
    from incidentbot.core.render import upptimeapi

    assert upptimeapi.uptime_colour(percent) == colour


# -- the banner, the components and their day cells tell one story ----------------------------
def heads_and_today(site: Path) -> dict[str, tuple[str, str]]:
    """Each service on the front page: the word in its header, and today's cell's grade."""
    html = (site / "index.html").read_text()
    out = {}
    for name, word, bar in re.findall(
            r'<span>([^<]+)</span><span class="s-[a-z_]+">([^<]+)</span>.*?'
            r'<a class="bar"[^>]*>(.*?)</a>', html, re.S):
        cells = re.findall(r"<i(?: class=(\w))?></i>", bar)
        assert len(cells) == 90
        out[name] = (word, cells[-1] or "u")
    return out


def monitored(number: int, *, opened_ago: timedelta, fixed_ago: timedelta,
              severity: int = 2) -> tuple[Issue, list[Update]]:
    """A public incident on Checkout, investigated, then fixed (monitoring) `fixed_ago`."""
    inc = issue(number, "Checkout returns 502", ("incident", "public", f"sev:{severity}",
                                                 "status:fixed", "service:checkout"),
                age=opened_ago)
    return inc, [Update(f"e{number}", NOW - fixed_ago, "monitoring", "Fixed; watching."),
                 Update(f"{number}-opened", NOW - opened_ago, "investigating", "Looking.")]


def test_a_monitored_incident_keeps_its_impact_in_words_no_component_contradicts(
        tmp_path: Path) -> None:
    # The newcomer's sandbox: no check has run; a public SEV2 on Checkout, now monitored.
    inc, said = monitored(40, opened_ago=timedelta(hours=2), fixed_ago=timedelta(hours=1))
    statuspage.build(CONFIG, DataDir(tmp_path / "empty"), [inc], tmp_path / "site", now=NOW,
                     updates={40: said})
    site = tmp_path / "site"
    components = {c["id"]: c["status"] for c in api(site, "components.json")["components"]}
    assert components == {"checkout": "operational", "payments": "operational"}
    # Unresolved, it keeps its major impact; no component is out, so no "System Outage".
    status = {"indicator": "major", "description": "Major Service Outage"}
    assert api(site, "status.json")["status"] == api(site, "summary.json")["status"] == status
    html = (site / "index.html").read_text()
    assert '<p class="banner major" role="status">Major Service Outage</p>' in html
    # Checkout was out for an hour today: its cell says so, and its header is no "No data".
    assert heads_and_today(site) == {"Checkout": ("Operational", "p"),
                                     "Payments API": ("No data", "n")}
    badge = json.loads((site / "badges" / "checkout.json").read_text())
    assert badge["message"] == "operational"


def test_no_data_never_sits_beside_a_day_cell_with_data(tmp_path: Path) -> None:
    # Monitored since yesterday: yesterday was a partial outage, today nothing is known.
    inc, said = monitored(41, opened_ago=timedelta(days=1, hours=2),
                          fixed_ago=timedelta(days=1, hours=1))
    statuspage.build(CONFIG, DataDir(tmp_path / "empty"), [inc], tmp_path / "site", now=NOW,
                     updates={41: said})
    site = tmp_path / "site"
    assert heads_and_today(site) == {"Checkout": ("No data", "n"),
                                     "Payments API": ("No data", "n")}
    checkout = (site / "services" / "checkout.html").read_text()
    yesterday = f"{(NOW - timedelta(days=1)):%Y-%m-%d}"
    assert f'<span class="k p"></span> Sat {yesterday}: Partial outage' in checkout
    # Still unresolved: the banner says so, in the incident's words.
    assert api(site, "status.json")["status"] == {"indicator": "major",
                                                  "description": "Major Service Outage"}


def test_an_incident_being_fixed_sets_its_service_and_the_banner_from_components(
        tmp_path: Path) -> None:
    inc = issue(42, "Checkout returns 502", ("incident", "public", "sev:2", "status:fixing",
                                             "service:checkout"))
    statuspage.build(CONFIG, DataDir(tmp_path / "empty"), [inc], tmp_path / "site", now=NOW)
    site = tmp_path / "site"
    assert api(site, "status.json")["status"] == {"indicator": "major",
                                                  "description": "Partial System Outage"}
    assert heads_and_today(site)["Checkout"] == ("Partial outage", "p")


def _component(status: str, *, no_data: bool = False) -> dict[str, Any]:
    return {"status": status, "no_data": no_data}


@pytest.mark.parametrize(("statuses", "expected"), [
    (["operational", "operational"], ("none", "All Systems Operational")),
    (["degraded_performance", "operational"], ("minor", "Partially Degraded Service")),
    (["degraded_performance", "degraded_performance"], ("minor", "Degraded System Service")),
    (["partial_outage", "operational"], ("major", "Partial System Outage")),
    (["major_outage", "operational"], ("major", "Partial System Outage")),
    (["major_outage", "major_outage"], ("critical", "Major System Outage")),
    (["major_outage"] * 6 + ["operational"] * 3, ("critical", "Major System Outage")),
    (["major_outage"] * 4 + ["operational"] * 5, ("major", "Partial System Outage")),
    (["under_maintenance", "operational"], ("maintenance", "Service Under Maintenance")),
])
def test_the_page_status_blends_the_components_as_statuspage_does(
        statuses: list[str], expected: tuple[str, str]) -> None:
    from incidentbot.core.render import statusbars

    assert statusbars.indicator([_component(s) for s in statuses], [], False) == expected


@pytest.mark.parametrize(("severity", "components", "expected"), [
    # The components account for the incident: their words.
    (2, ["partial_outage", "operational"], ("major", "Partial System Outage")),
    (3, ["degraded_performance", "operational"], ("minor", "Partially Degraded Service")),
    # They show less (it is monitored): the incident's impact, in a service's words.
    (3, ["operational", "operational"], ("minor", "Minor Service Outage")),
    (2, ["operational", "operational"], ("major", "Major Service Outage")),
    (2, ["degraded_performance", "operational"], ("major", "Major Service Outage")),
    (1, ["partial_outage", "operational"], ("critical", "Critical Service Outage")),
    (1, ["major_outage", "major_outage"], ("critical", "Major System Outage")),
    (5, ["operational", "operational"], ("minor", "Minor Service Outage")),  # degrades
])
def test_an_unresolved_incident_raises_the_page_status_to_its_impact(
        severity: int, components: list[str], expected: tuple[str, str]) -> None:
    from incidentbot.core.render import statusbars
    from incidentbot.core.render.publicincidents import public_incidents

    unresolved = public_incidents([issue(50, "Checkout returns 502", (
        "incident", "public", f"sev:{severity}", "status:fixed", "service:checkout"))], CONFIG)
    assert statusbars.indicator([_component(s) for s in components], unresolved,
                                False) == expected


def test_an_incident_grades_its_days_only_while_it_sets_its_services_status() -> None:
    from incidentbot.core.render import statusbars
    from incidentbot.core.render.publicincidents import public_incidents

    opened = NOW - timedelta(hours=5)
    said = [Update("e4", NOW - timedelta(hours=1), "resolved", "Done."),
            Update("e3", NOW - timedelta(hours=2), "identified", "It came back."),
            Update("e2", NOW - timedelta(hours=4), "monitoring", "Fixed; watching."),
            Update("e1", opened, "investigating", "Looking.")]
    (inc,) = public_incidents([issue(51, "Checkout returns 502", (
        "incident", "public", "sev:2", "status:closed", "service:checkout"), closed=True,
        age=timedelta(hours=5))], CONFIG, {51: said})
    inc = replace(inc, resolved=NOW - timedelta(hours=1))
    assert statusbars.impact_spans(inc, NOW) == [
        (opened, NOW - timedelta(hours=4)), (NOW - timedelta(hours=2), NOW - timedelta(hours=1))]
    # Without history (every change dated at the opening) it keeps its impact to the end.
    (bare,) = public_incidents([issue(52, "Checkout returns 502", (
        "incident", "public", "sev:2", "status:fixed", "service:checkout"))], CONFIG)
    assert statusbars.impact_spans(bare, NOW) == [(bare.opened, NOW)]


@pytest.mark.parametrize(("severity", "impacts", "expected"), [
    (1, None, "critical"), (2, None, "major"), (3, None, "minor"),
    (4, None, "minor"),  # a level not listed degrades its services: a minor incident
    (4, {"4": "major_outage"}, "critical"), (1, {"1": "degraded_performance"}, "minor"),
])
def test_the_json_impact_follows_the_configured_impacts(
        severity: int, impacts: dict[str, str] | None, expected: str) -> None:
    from incidentbot.core.render.publicincidents import public_incidents

    config = CONFIG if impacts is None else replace(
        CONFIG, status_page=replace(CONFIG.status_page, impacts=impacts))
    (found,) = public_incidents([issue(50, "Checkout returns 502", (
        "incident", "public", f"sev:{severity}", "status:fixing", "service:checkout"))],
        config)
    assert found.impact == expected


def test_a_new_page_grades_today_on_the_hours_monitored(tmp_path: Path) -> None:
    """Monitoring began at 02:00 today: a healthy service is green, one down since its
    first check is a major outage in its header and its cell alike, and coverage counts
    from 02:00."""
    from incidentbot.core import health
    from incidentbot.core.health import Probe, ServiceState

    data = DataDir(tmp_path / "data")
    states: dict[str, ServiceState] = {}
    began = NOW - timedelta(hours=10)
    for i in range(12 * 10 + 1):
        now = began + timedelta(minutes=5 * i)
        probes = {"checkout": Probe("up", 200, 100), "payments": Probe("down", 500, 90)}
        for slug, p in probes.items():
            states[slug], _ = health.advance(states.get(slug, ServiceState()), p, now)
        data.write_run(f"r{i}", "test", now, probes, states)
    site = tmp_path / "site"
    statuspage.build(CONFIG, data, [], site, now=NOW)
    heads = heads_and_today(site)
    assert heads["Checkout"] == ("Operational", "u")
    assert heads["Payments API"] == ("Major outage", "x")
    page = (site / "services" / "checkout.html").read_text()
    (today,) = re.findall(r"2026-11-22: ([^<]*)</summary>", page)
    assert today == "Operational, 100.00% up"  # not "Missing data, … without data"
    payments = (site / "services" / "payments.html").read_text()
    assert re.findall(r"2026-11-22: ([^<,]*)", payments) == ["Major outage"]
    assert "Monitoring coverage, last 24 h: 100% of the scheduled checks ran" in \
        (site / "index.html").read_text()
