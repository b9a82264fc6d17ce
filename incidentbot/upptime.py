"""`incidentbot import-upptime`: an Upptime `.upptimerc.yml` as an incidentbot.yml.

Slugs are kept exactly as Upptime derives them (a site's `slug`, else its name through
@sindresorhus/slugify, as upptime/uptime-monitor does), because they are in existing issue
labels and badge URLs. Keys with no equivalent are listed, never dropped silently.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import yaml

from incidentbot.config import safe_load
from incidentbot.errors import ConfigError

SITE_KEYS = {"name", "url", "slug", "method", "headers", "body", "expectedStatusCodes",
             "maxResponseTime", "__dangerous__body_down", "__dangerous__body_degraded",
             "__dangerous__body_down_if_text_missing", "check", "port", "assignees", "icon"}
_REPLACE = {"&": " and ", "'": "", "ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ä": "ae",
            "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}


def slugify(name: str) -> str:
    """@sindresorhus/slugify's default rules: transliterate, split camelCase, lowercase,
    anything else becomes a single dash, no dash at either end."""
    text = "".join(_REPLACE.get(ch, ch) for ch in name)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"([a-z\d])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z\d]+)", r"\1 \2", text)
    text = re.sub(r"[^a-z\d]+", "-", text.lower())
    return text.strip("-")


def convert(text: str, *, source: str = ".upptimerc.yml") -> tuple[dict[str, Any], list[str]]:
    """(incidentbot.yml as data, what could not be carried over)."""
    data = safe_load(text, source=source) or {}
    if not isinstance(data, Mapping) or not isinstance(data.get("sites"), list):
        raise ConfigError("expected an Upptime config with a `sites:` list", path=source)
    dropped: list[str] = []
    services = []
    people: dict[str, dict[str, str]] = {}
    owner, repo = data.get("owner"), data.get("repo")
    for i, site in enumerate(data["sites"]):
        if not isinstance(site, Mapping) or "name" not in site or "url" not in site:
            raise ConfigError("each site needs a name and a url", path=source,
                              key=f"sites[{i}]")
        slug = str(site.get("slug") or slugify(str(site["name"])))
        check: dict[str, Any]
        if site.get("check") == "tcp-ping":
            host = re.sub(r"^\w+://", "", str(site["url"])).split("/")[0].split(":")[0]
            check = {"type": "tcp", "host": host, "port": int(site.get("port") or 443)}
        else:
            check = {"type": "http", "url": str(site["url"])}
            for ours, theirs in (("method", "method"), ("body", "body")):
                if site.get(theirs) is not None:
                    check[ours] = site[theirs]
            if site.get("headers"):
                headers = {}
                for header in site["headers"]:
                    name, _, value = str(header).partition(":")
                    headers[name.strip()] = value.strip()
                check["headers"] = headers
            if site.get("expectedStatusCodes"):
                check["expected_status"] = [int(c) for c in site["expectedStatusCodes"]]
            if site.get("maxResponseTime"):
                check["max_response_ms"] = int(site["maxResponseTime"])
            if site.get("__dangerous__body_down"):
                check["not_contains"] = str(site["__dangerous__body_down"])
            if site.get("__dangerous__body_down_if_text_missing"):
                check["contains"] = str(site["__dangerous__body_down_if_text_missing"])
        if site.get("__dangerous__body_degraded"):
            dropped.append(f"sites[{i}].__dangerous__body_degraded (degraded by body text)")
        service: dict[str, Any] = {"slug": slug, "name": str(site["name"]), "checks": [check]}
        owners = []
        for login in site.get("assignees") or data.get("assignees") or []:
            people.setdefault(str(login), {"github": str(login)})
            owners.append(str(login))
        if owners:
            service["owners"] = owners
        services.append(service)
        dropped += [f"sites[{i}].{k}" for k in site if k not in SITE_KEYS]
        if site.get("icon"):
            dropped.append(f"sites[{i}].icon")
    out: dict[str, Any] = {}
    if owner and repo:
        out["repository"] = f"{owner}/{repo}"
    out["services"] = services
    if people:
        out["people"] = people
    website = data.get("status-website") or {}
    page: dict[str, Any] = {}
    for ours, theirs in (("title", "name"), ("logo", "logoUrl"), ("cname", "cname"),
                         ("base_path", "baseUrl")):
        if website.get(theirs):
            page[ours] = str(website[theirs])
    intro = " ".join(str(website[k]) for k in ("introTitle", "introMessage") if website.get(k))
    if intro:
        page["intro"] = intro
    navbar = []
    for i, n in enumerate(website.get("navbar") or []):
        href = str(n.get("href", "")) if isinstance(n, Mapping) else ""
        if re.match(r"^https?://", href):
            navbar.append({"title": str(n.get("title", "")), "url": href})
        else:
            dropped.append(f"status-website.navbar[{i}] (relative link {href!r})")
    if navbar:
        page["navbar"] = navbar
    if page:
        out["status_page"] = page
    known_website = {"name", "logoUrl", "cname", "baseUrl", "introTitle", "introMessage",
                     "navbar"}
    dropped += [f"status-website.{k}" for k in website if k not in known_website]
    known_top = {"owner", "repo", "sites", "status-website", "assignees", "user-agent"}
    dropped += [k for k in data if k not in known_top]
    return out, dropped


def dump(config: Mapping[str, Any]) -> str:
    header = ("# incidentbot.yml converted from .upptimerc.yml by `incidentbot import-upptime`."
              "\n# Slugs are Upptime's, so existing labels and badge URLs keep working.\n")
    return header + yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True)
