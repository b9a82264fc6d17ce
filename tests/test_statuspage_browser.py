"""The built status page in a real browser (Debian's chromium, driven by Playwright),
served under a project subpath, at a phone's width and a desktop's."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import CONFIG
from test_statuspage import ISSUES, NOW, SECRET_TITLE, seed

from incidentbot import statuspage

CHROMIUM = Path("/usr/bin/chromium")
playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="apt-get install chromium (.ci/run does)")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("pages")
    statuspage.build(CONFIG, seed(root), ISSUES, root / "www" / "status", now=NOW)
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(_Quiet, directory=str(root / "www")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/status/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("width", [320, 1280])
def test_the_page_shows_the_states_with_no_errors(url: str, width: int,
                                                  tmp_path: Path) -> None:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900},
                                java_script_enabled=False)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
        page.on("response", lambda r: problems.append(f"{r.status}: {r.url}")
                if r.status >= 400 else None)
        page.goto(url + "index.html")
        assert page.locator(".banner").inner_text() == "Partial System Outage"
        services = page.locator(".service .head").all_inner_texts()
        assert services == ["Checkout\nMajor outage", "Payments API\nOperational"]
        assert page.locator(".bar").first.locator("i").count() == 90
        assert SECRET_TITLE not in page.content()
        # Nothing overflows a phone's width.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot = tmp_path / f"status-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        shutil.copy(shot, f"/tmp/statuspage-{width}.png")
        page.click("text=Payments were slow")
        assert page.url.endswith("/status/incidents/5.html")
        assert "Resolved" in page.locator("article").inner_text()
        browser.close()
        assert problems == []
