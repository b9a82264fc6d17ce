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

from incidentbot.core.config import safe_load
from incidentbot.core.errors import ConfigError

SITE_KEYS = {"name", "url", "slug", "method", "headers", "body", "expectedStatusCodes",
             "maxResponseTime", "__dangerous__body_down", "__dangerous__body_degraded",
             "__dangerous__body_down_if_text_missing", "check", "port", "assignees", "icon",
             "maxRedirects"}
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


_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_REPO = re.compile(r"^[A-Za-z0-9_.-]+$")


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _site(i: int, site: Mapping[str, Any], dropped: list[str]) -> dict[str, Any]:
    """One Upptime site's check, as Upptime runs it (curl; a URL without a scheme is
    http://, as curl assumes)."""
    url = str(site["url"]).strip()
    kind = str(site.get("check") or "http")
    host = re.sub(r"^\w+://", "", url).split("/")[0].rsplit(":", 1)[0].strip("[]")
    port = _int(site.get("port")) if site.get("port") is not None else None
    if site.get("port") is not None and (port is None or not 1 <= port <= 65535):
        dropped.append(f"sites[{i}].port ({site.get('port')!r} is not a port number)")
        port = None
    if kind in {"tcp-ping", "icmp-ping", "ws", "ssl"}:
        if kind == "ssl":
            return {"type": "tls", "host": host, **({"port": port} if port else {})}
        if kind != "tcp-ping":
            dropped.append(f"sites[{i}].check {kind} (checked as a TCP connection)")
        default = 443 if url.startswith(("https", "wss")) or "://" not in url else 80
        return {"type": "tcp", "host": host, "port": port or default}
    if kind != "http":
        dropped.append(f"sites[{i}].check {kind!r} (checked as HTTP)")
    if not re.match(r"^(https?://|\$)", url):
        url = "http://" + url
    check: dict[str, Any] = {"type": "http", "url": url}
    if site.get("method") is not None:
        method = str(site["method"]).upper()
        if method in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}:
            check["method"] = method
        else:
            dropped.append(f"sites[{i}].method {method}")
    if site.get("body") is not None:
        check["body"] = str(site["body"])
    headers = site.get("headers") or []
    pairs = headers.items() if isinstance(headers, Mapping) else \
        (str(h).partition(":")[::2] for h in headers)
    if headers:
        check["headers"] = {str(k).strip(): str(v).strip() for k, v in pairs}
    codes = [_int(c) for c in site.get("expectedStatusCodes") or []]
    kept = [c for c in codes if c is not None and 100 <= c <= 599]
    if len(kept) != len(codes):
        dropped.append(f"sites[{i}].expectedStatusCodes (only HTTP codes 100-599 kept)")
    if kept:
        check["expected_status"] = kept
    if (limit := _int(site.get("maxResponseTime") or "")) is not None and limit > 0:
        check["max_response_ms"] = limit
    if site.get("__dangerous__body_down"):
        check["not_contains"] = str(site["__dangerous__body_down"])
    if site.get("__dangerous__body_down_if_text_missing"):
        check["contains"] = str(site["__dangerous__body_down_if_text_missing"])
    if site.get("maxRedirects") is not None and _int(site["maxRedirects"]) == 0:
        check["follow_redirects"] = False
    return check


def convert(text: str, *, source: str = ".upptimerc.yml") -> tuple[dict[str, Any], list[str]]:
    """(incidentbot.yml as data, what could not be carried over). Anything Upptime accepts
    converts: logins keep their case on GitHub (person ids are lowercased), URLs without a
    scheme are http:// as curl reads them, values that cannot be kept are listed."""
    data = safe_load(text, source=source) or {}
    if not isinstance(data, Mapping) or not isinstance(data.get("sites"), list):
        raise ConfigError("expected an Upptime config with a `sites:` list", path=source)
    dropped: list[str] = []
    services: list[dict[str, Any]] = []
    people: dict[str, dict[str, str]] = {}
    owner, repo = str(data.get("owner") or ""), str(data.get("repo") or "")

    def person(login: Any, where: str) -> str | None:
        name = str(login).strip().lstrip("@")
        if not _LOGIN.match(name):
            dropped.append(f"{where} ({name!r} is not a GitHub login)")
            return None
        people.setdefault(name.lower(), {"github": name})
        return name.lower()

    taken: set[str] = set()
    for i, site in enumerate(data["sites"]):
        if not isinstance(site, Mapping) or "name" not in site or "url" not in site:
            raise ConfigError("each site needs a name and a url", path=source,
                              key=f"sites[{i}]")
        slug = str(site.get("slug") or slugify(str(site["name"])))[:50].strip("-") or "site"
        base, n = slug, 2
        while slug in taken:  # Upptime would overwrite one history with the other
            slug, n = f"{base[:46]}-{n}", n + 1
        taken.add(slug)
        name = " ".join(str(site["name"]).split())[:100] or slug
        service: dict[str, Any] = {"slug": slug, "name": name,
                                   "checks": [_site(i, site, dropped)]}
        owners = [who for login in (site.get("assignees") or data.get("assignees") or [])
                  if (who := person(login, f"sites[{i}].assignees")) is not None]
        if owners:
            service["owners"] = list(dict.fromkeys(owners))
        services.append(service)
        dropped += [f"sites[{i}].{k}" for k in site if k not in SITE_KEYS]
        if site.get("icon"):
            dropped.append(f"sites[{i}].icon")
        if site.get("__dangerous__body_degraded"):
            dropped.append(f"sites[{i}].__dangerous__body_degraded (degraded by body text)")
    out: dict[str, Any] = {}
    if _LOGIN.match(owner) and _REPO.match(repo):
        out["repository"] = f"{owner}/{repo}"
    elif owner or repo:
        dropped.append(f"owner/repo ({owner}/{repo} is not a GitHub repository name)")
    out["services"] = services
    if people:
        out["people"] = people
    website = data.get("status-website")
    if not isinstance(website, Mapping):
        website = {}
    page = _page(website, data, owner, repo, dropped)
    if page:
        out["status_page"] = page
    known_top = {"owner", "repo", "sites", "status-website", "assignees", "user-agent"}
    dropped += [k for k in data if k not in known_top]
    return out, dropped


def _page(website: Mapping[str, Any], data: Mapping[str, Any], owner: str, repo: str,
          dropped: list[str]) -> dict[str, Any]:
    page: dict[str, Any] = {}
    if website.get("name"):
        page["title"] = " ".join(str(website["name"]).split())[:100]
    logo = str(website.get("logoUrl") or "")
    if re.match(r"^https?://", logo):
        page["logo"] = logo
    elif logo:
        dropped.append(f"status-website.logoUrl (relative {logo!r}: put the file next to "
                       "incidentbot.yml and name it in status_page.logo)")
    if website.get("cname"):
        page["cname"] = str(website["cname"]).strip()
    base = str(website.get("baseUrl") or "").strip()
    if base:
        base = "/" + base.strip("/") + ("/" if base.endswith("/") and base != "/" else "")
        if re.match(r"^/[A-Za-z0-9_./-]*$", base):
            page["base_path"] = base
        else:
            dropped.append(f"status-website.baseUrl ({base!r})")
    intro = " ".join(str(website[k]) for k in ("introTitle", "introMessage")
                     if website.get(k))
    if intro:
        page["intro"] = intro[:2000]
    navbar = []
    for i, n in enumerate(website.get("navbar") or []):
        href = str(n.get("href") or n.get("url") or "") if isinstance(n, Mapping) else ""
        href = href.strip().replace("$OWNER", owner).replace("$REPO", repo)
        if re.match(r"^https?://", href):
            navbar.append({"title": str(n.get("title") or href)[:100], "url": href})
        else:
            dropped.append(f"status-website.navbar[{i}] (relative link {href!r})")
    if navbar:
        page["navbar"] = navbar
    known = {"name", "logoUrl", "cname", "baseUrl", "introTitle", "introMessage", "navbar"}
    dropped += [f"status-website.{k}" for k in website if k not in known]
    return page


def dump(config: Mapping[str, Any]) -> str:
    header = ("# incidentbot.yml converted from .upptimerc.yml by `incidentbot import-upptime`."
              "\n# Slugs are Upptime's, so existing labels and badge URLs keep working.\n")
    return header + yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True)
