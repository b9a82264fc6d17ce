"""Importing an Upptime configuration keeps its slugs and says what it cannot carry over."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from incidentbot.core import config as configuration
from incidentbot.core import upptime
from incidentbot.entrypoints.cli import main

UPPTIMERC = """
owner: acme
repo: upptime
assignees: [alice]
sites:
  - name: Google
    url: https://www.google.com
  - name: Wikipedia API
    url: https://en.wikipedia.org/w/api.php
    method: POST
    body: "action=query"
    headers:
      - "Authorization: Bearer $SECRET_TOKEN"
    expectedStatusCodes: [200, 201]
    maxResponseTime: 3000
    __dangerous__body_down: "maintenance"
  - name: Database
    url: db.example.com
    check: tcp-ping
    port: 5432
  - name: Custom slug site
    slug: my-site
    url: https://example.org
    icon: https://example.org/favicon.ico
status-website:
  cname: status.acme.com
  baseUrl: /upptime
  name: Acme Status
  logoUrl: https://acme.com/logo.svg
  introTitle: "Is it down?"
  introMessage: Live status of our services.
  navbar:
    - title: Status
      href: /
  theme: dark
workflowSchedule:
  uptime: "*/5 * * * *"
"""


@pytest.mark.parametrize(("name", "slug"), [
    ("Google", "google"), ("Wikipedia API", "wikipedia-api"), ("fooBar baz", "foo-bar-baz"),
    ("Café & Bar", "cafe-and-bar"), ("  --Hello, World!--  ", "hello-world"),
    ("Über Süß", "ueber-suess"), ("API v2 (beta)", "api-v2-beta"),
])
def test_slugs_are_upptimes(name: str, slug: str) -> None:
    assert upptime.slugify(name) == slug


def test_the_conversion_is_a_valid_config_with_the_same_slugs() -> None:
    converted, dropped = upptime.convert(UPPTIMERC)
    config = configuration.parse(upptime.dump(converted), source="converted.yml")
    slugs = [s.slug for s in config.services]
    assert slugs == ["google", "wikipedia-api", "database", "my-site"]
    api = config.service("wikipedia-api").checks[0]
    assert (api.method, api.body, api.expected_status, api.max_response_ms,
            api.not_contains) == ("POST", "action=query", (200, 201), 3000, "maintenance")
    assert api.headers == {"Authorization": "Bearer $SECRET_TOKEN"}  # kept as a reference
    db = config.service("database").checks[0]
    assert (db.kind, db.host, db.port) == ("tcp", "db.example.com", 5432)
    assert config.status_page.cname == "status.acme.com"
    assert config.status_page.base_path == "/upptime"
    assert config.repository == "acme/upptime"
    assert config.service("google").owners == ("alice",)
    assert sorted(dropped) == ["sites[3].icon", "status-website.navbar[0] (relative link '/')",
                               "status-website.theme", "workflowSchedule"]


def test_the_command_prints_or_writes_and_lists_what_it_dropped(tmp_path: Path) -> None:
    source = tmp_path / ".upptimerc.yml"
    source.write_text(UPPTIMERC)
    result = CliRunner().invoke(main, ["import-upptime", str(source),
                                       "-o", str(tmp_path / "incidentbot.yml")])
    assert result.exit_code == 0, result.output
    assert "not carried over: workflowSchedule" in result.output
    assert configuration.load(tmp_path / "incidentbot.yml").service("google")


def test_a_file_that_is_not_upptimes_is_refused_clearly(tmp_path: Path) -> None:
    source = tmp_path / "x.yml"
    source.write_text("hello: world\n")
    result = CliRunner().invoke(main, ["import-upptime", str(source)])
    assert result.exit_code == 2
    assert "expected an Upptime config with a `sites:` list" in result.output


REAL = sorted((Path(__file__).parent / "payloads" / "upptime").glob("*.upptimerc.yml"))


def test_there_are_at_least_ten_real_configurations() -> None:
    assert len(REAL) >= 10


@pytest.mark.parametrize("path", REAL, ids=[p.name.split(".upptimerc")[0] for p in REAL])
def test_every_real_configuration_converts_to_a_valid_one(path: Path) -> None:
    import yaml

    original = yaml.safe_load(path.read_text("utf-8"))
    converted, _ = upptime.convert(path.read_text("utf-8"), source=path.name)
    config = configuration.parse(upptime.dump(converted), source="converted.yml")
    # One service per site, each keeping the slug Upptime gave it (labels, badge URLs).
    expected = [str(s.get("slug") or upptime.slugify(str(s["name"])))
                for s in original["sites"]]
    assert len(config.services) == len(original["sites"])
    assert len(set(expected)) == len(expected)  # none of these reuses a slug
    assert [s.slug for s in config.services] == expected
    for service, site in zip(config.services, original["sites"], strict=True):
        (check,) = service.checks
        if check.kind == "http":
            assert check.url is not None and str(site["url"]).strip().split("://")[-1] in \
                check.url


def test_capitalised_logins_and_a_url_without_a_scheme_are_what_upptime_accepts() -> None:
    text = (Path(__file__).parent / "payloads" / "upptime" /
            "upptime.js.org__docs-configuration.upptimerc.yml").read_text()
    converted, _ = upptime.convert(text)
    config = configuration.parse(upptime.dump(converted), source="converted.yml")
    assert config.people["anandchowdhary"].github == "AnandChowdhary"
    assert config.service("google").owners == ("anandchowdhary",)
    assert config.service("google-dns").owners == ("anandchowdhary", "carlobadini")
    dns = config.service("google-dns").checks[0]
    assert (dns.kind, dns.host, dns.port) == ("tcp", "dns.google", 53)
    template = (Path(__file__).parent / "payloads" / "upptime" /
                "upptime__upptime.upptimerc.yml").read_text()
    converted, _ = upptime.convert(template)
    config = configuration.parse(upptime.dump(converted), source="converted.yml")
    assert config.service("tcp-ping").checks[0].url == "http://1.1.1.1"  # as curl reads it
    assert config.service("secret-site").checks[0].url == "$SECRET_SITE"
    assert config.status_page.navbar[0].url == "https://github.com/upptime/upptime"


def test_what_cannot_be_kept_is_said() -> None:
    text = (Path(__file__).parent / "payloads" / "upptime" /
            "0Arrow0__Network-Status-2.upptimerc.yml").read_text()
    converted, dropped = upptime.convert(text)
    assert "repository" not in converted  # "Minecraft Servers" is no repository name
    assert any("expectedStatusCodes" in d for d in dropped)
    assert any(d.startswith("owner/repo") for d in dropped)
