"""The built status page in a real browser (Debian's chromium, driven by Playwright), served
under a project subpath: at a phone's, a tablet's and a desktop's width, in light and dark,
with axe-core (from npm) finding nothing serious, and without JavaScript."""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from helpers import CONFIG
from test_statuspage import ISSUES, NOW, SECRET_TITLE, issue, seed

from incidentbot.core.config import Link
from incidentbot.operations import statuspage

CHROMIUM = Path("/usr/bin/chromium")
playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="apt-get install chromium (.ci/run does)")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
# axe-core from npm: .ci/run installs it into this cache (or point AXE_CORE_JS at axe.js).
AXE = Path(os.environ.get("AXE_CORE_JS") or Path(
    os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "incidentbot-npm" / "node_modules" / "axe-core" / "axe.min.js")
SHOTS = Path(os.environ.get("INCIDENTBOT_SHOTS", "/tmp/incidentbot-statuspage-shots"))
LONG = "Checkout-" + "x" * 150 + " fails for customers paying with very-long-provider-names"
PAGES = ["index.html", "incidents/1.html", "incidents/5.html", "services/checkout.html",
         "history/1.html", "maintenance/10.html"]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("pages")
    services = tuple(replace(s, group="Payments platform") if s.slug == "payments" else s
                     for s in CONFIG.services)
    config = replace(CONFIG, services=services, status_page=replace(
        CONFIG.status_page, navbar=(Link("Support", "https://support.example.com"),)))
    window = statuspage.maintenance(replace(
        issue(10, "Database upgrade", ("maintenance",)),
        body="start: 2026-11-22 12:30\nend: 2026-11-22 14:00\nservices: checkout\n"
             "We move the checkout database to new hardware."), config)
    issues = [*ISSUES, issue(6, LONG, ("incident", "public", "sev:1", "status:fixed",
                                       "service:payments"))]
    statuspage.build(config, seed(root), issues, root / "www" / "status", now=NOW,
                     maintenances=[window])
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(_Quiet, directory=str(root / "www")))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/status/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield launched
        launched.close()


def _open(browser: Any, width: int, scheme: str, *, script: bool) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  color_scheme=scheme, java_script_enabled=script)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"{r.status}: {r.url}")
            if r.status >= 400 else None)
    return page, problems


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [320, 768, 1280])
def test_every_page_reads_well_without_script_at_every_width(url: str, browser: Any,
                                                             width: int, scheme: str) -> None:
    page, problems = _open(browser, width, scheme, script=False)
    for name in PAGES:
        page.goto(url + name)
        # Nothing overflows the screen, not even a 150-character word in a title.
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        levels = [int(h[1]) for h in page.eval_on_selector_all(
            "h1,h2,h3,h4,h5,h6", "hs => hs.map(h => h.tagName)")]
        assert levels[0] == 1, name
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), name
        assert SECRET_TITLE not in page.content()
        if name == "index.html":
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"index-{width}-{scheme}.png"), full_page=True)
    page.goto(url + "index.html")
    assert page.locator(".banner").inner_text() == "Critical Service Outage"  # the SEV1
    # Checkout: its checks say down during planned work, but a public SEV2 on it says worse.
    assert page.locator(".service .head").all_inner_texts() == [
        "Checkout\nPartial outage", "Payments API\nOperational"]
    assert page.locator("h3", has_text="Payments platform").count() == 1
    assert page.locator(".bar").first.locator("i").count() == 90
    active = page.locator("#active ~ ol").inner_text()
    assert "Monitoring" in active and "Affects Payments API" in active  # fixed: unresolved
    assert page.locator("nav a", has_text="Support").count() == 1
    page.close()
    assert problems == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [320, 768, 1280])
def test_axe_finds_nothing_serious(url: str, browser: Any, width: int, scheme: str) -> None:
    if not AXE.exists():
        pytest.skip(f"axe-core not installed: npm install axe-core (.ci/run does); "
                    f"looked for {AXE}")
    source = AXE.read_text("utf-8")
    page, _ = _open(browser, width, scheme, script=True)
    found = []
    for name in PAGES:
        page.goto(url + name)
        page.add_script_tag(content=source)
        result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})""")
        found += [(name, v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                  for v in result["violations"] if v["impact"] in {"serious", "critical"}]
    page.close()
    assert found == [], json.dumps(found, indent=1)


def test_day_details_open_by_keyboard_and_pages_lead_back(url: str, browser: Any) -> None:
    page, problems = _open(browser, 390, "light", script=False)
    page.goto(url + "index.html")
    page.locator(".bar").first.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/status/services/checkout.html")
    day = page.locator("details").first
    day.locator("summary").focus()
    page.keyboard.press("Enter")
    assert day.get_attribute("open") is not None
    assert "2026-11-22" in day.inner_text()  # dates carry their year
    page.click("text=← All services")
    page.click("text=Payments were slow")
    assert page.url.endswith("/status/incidents/5.html")
    text = page.locator("article").inner_text()
    assert "Resolved" in text and "Payments API" in text and "after 1 h" in text
    page.click("text=← All services")
    page.click("text=Incident history")
    assert "/status/history/" in page.url
    page.close()
    assert problems == []
