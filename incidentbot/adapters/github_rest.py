"""GitHub's REST API over the standard library's `http.client`: the requests a sync, `list`
and the sweeps make, without PyGithub's or requests' import cost (each costs more than the
whole of Python's start; every Actions run is a cold start).

What it keeps of a full client: connections kept alive (a small pool, safe across threads,
a dropped one replaced before use), `HTTPS_PROXY`/`NO_PROXY` and `REQUESTS_CA_BUNDLE` as
requests reads them, reads (GET, PUT, DELETE) tried again on a 5xx or a dropped connection
with back-off, a wait on `Retry-After` and on an exhausted `X-RateLimit-Remaining` when it
is short, POST and PATCH never repeated here (the tracker decides, by marker), pagination by
`Link`, conditional GETs by ETag (a 304 costs nothing against the hourly budget), and every
failure as one line naming the method and URL, never the token.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import select
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode, urlsplit

from incidentbot import __version__
from incidentbot.core.errors import AuthFailed, NotFound, RateLimited, ServiceError

SERVICE = "GitHub"
ATTEMPTS = 5  # tries a read makes before a 5xx or a dropped connection is reported
MAX_WAIT = 60.0  # seconds a request may wait for a rate limit before it is reported instead
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class HttpError(Exception):
    """GitHub answered with an error status."""

    def __init__(self, method: str, url: str, status: int, data: Any,
                 headers: Mapping[str, str]) -> None:
        super().__init__(f"{method} {url}: HTTP {status}")
        self.method, self.url, self.status, self.data = method, url, status, data
        self.headers = {k.lower(): v for k, v in headers.items()}

    @property
    def retry_after(self) -> float | None:
        """Seconds GitHub asks us to wait when this is a rate limit (primary or secondary),
        else None."""
        if self.status not in {403, 429}:
            return None
        if self.headers.get("retry-after", "").strip().isdigit():
            return float(self.headers["retry-after"])
        if self.headers.get("x-ratelimit-remaining") == "0":
            reset = self.headers.get("x-ratelimit-reset", "")
            return max(1.0, float(reset) - time.time()) if reset.isdigit() else 60.0
        message = self.data.get("message", "") if isinstance(self.data, dict) else ""
        return 60.0 if "rate limit" in str(message).lower() else None


class Unreachable(Exception):
    """No answer: the connection was refused (`sent` False: nothing reached GitHub), dropped
    or timed out."""

    def __init__(self, url: str, *, sent: bool, timeout: bool = False) -> None:
        super().__init__(url)
        self.url, self.sent, self.timeout = url, sent, timeout


class GaveUp(Exception):
    """A read answered 5xx (or dropped) on every attempt."""

    def __init__(self, url: str, status: int | None) -> None:
        super().__init__(url)
        self.url, self.status = url, status


_REPO_PATH = re.compile(r"/repos/([^/?#]+/[^/?#]+)(/[^?#]*)?")


def _not_found_hint(url: str | None) -> str:
    """What to check after a 404: the number only when the URL names one (an issue, a
    comment); a request about the whole repository can only miss the repository itself."""
    found = _REPO_PATH.search(url or "")
    if found is not None and not re.search(r"/\d+(/|$)", found.group(2) or ""):
        return (f"the repository {found.group(1)} does not exist or the token cannot see it: "
                "check GITHUB_REPOSITORY (owner/name) and the token's access to it")
    return ("check the number and GITHUB_REPOSITORY, and that the token can see the "
            "repository")


def error(exc: Exception, what: str) -> ServiceError:
    """Our error for a failed request: what we were doing, where (the URL, so the
    repository), what GitHub said and what to do, in one line."""
    if isinstance(exc, HttpError):
        where = " ".join(part for part in (exc.method, exc.url) if part)
        at = f" ({where})" if where else ""
        wait = exc.retry_after
        if wait is not None:
            return RateLimited(SERVICE, wait)
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        if exc.status == 401:
            return AuthFailed(SERVICE, f"{what}: the token was refused ({message}){at}: "
                              "check GITHUB_TOKEN")
        if exc.status == 404:
            return NotFound(SERVICE, f"{what}: not found{at}: {_not_found_hint(exc.url)}")
        said = f": {message}" if message else ""
        return ServiceError(SERVICE, f"{what}: HTTP {exc.status}{said}{reasons(exc.data)}{at}",
                            transient=exc.status >= 500)
    if isinstance(exc, GaveUp):
        answered = f"answered {exc.status}" if exc.status else "dropped the connection"
        return ServiceError(SERVICE, f"{what}: GitHub {answered} {ATTEMPTS} times for "
                            f"{exc.url}; try again later (https://www.githubstatus.com)",
                            transient=True)
    if isinstance(exc, Unreachable):
        kind = "timed out" if exc.timeout else "cannot connect"
        local = "://127.0.0.1" in exc.url or "://localhost" in exc.url
        return ServiceError(SERVICE, f"{what}: {kind}: {exc.url or 'GitHub'}: check "
                            "GITHUB_API_URL and the network" + (
                                " (a sandbox: is `incidentbot sandbox` running on that port?)"
                                if local else ""), transient=True)
    return ServiceError(SERVICE, f"{what}: {type(exc).__name__}: {exc}")


def reasons(data: Any) -> str:
    """GitHub's own reasons for a 422 ("Validation Failed"): errors[].message or code."""
    if not isinstance(data, dict) or not isinstance(data.get("errors"), list):
        return ""
    said = []
    for item in data["errors"][:5]:
        if isinstance(item, dict):
            text = item.get("message") or " ".join(
                str(item[k]) for k in ("resource", "field", "code") if item.get(k))
            said.append(str(text))
        elif isinstance(item, str):
            said.append(item)
    return f" ({'; '.join(said)})" if said else ""


FAILURES = (HttpError, Unreachable, GaveUp)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Any failed request inside becomes our one-line error."""
    try:
        yield
    except FAILURES as exc:
        raise error(exc, what) from None


class Answer:
    """A successful answer: status (200…, or 304 with the cached data), headers, JSON."""

    __slots__ = ("data", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], data: Any) -> None:
        self.status, self.headers, self.data = status, headers, data

    @property
    def next_url(self) -> str | None:
        found = _NEXT.search(self.headers.get("link", ""))
        return found.group(1) if found else None


class Rest:
    """One token on one GitHub API (github.com or Enterprise Server)."""

    def __init__(self, base_url: str, token: str, *, backoff: float = 0.5,
                 write_spacing: float | None = None, timeout: float = 15.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._token = token
        self._backoff = backoff
        self._spacing = write_spacing
        self._timeout = timeout
        self.sleep = sleep
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._last_write = 0.0
        self._etags: dict[str, tuple[str, Any]] = {}

        # Kept-alive connections are closed when the client goes, closed or not.
        weakref.finalize(self, _close_all, self._idle)

    def close(self) -> None:
        with self._lock:
            _close_all(self._idle)

    # -- the requests ---------------------------------------------------------------------------
    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        whole = path if "://" in path else self.base_url + path
        return f"{whole}?{urlencode(params)}" if params else whole

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None, headers: Mapping[str, str] | None = None) -> Answer:
        """One request; a read is tried again on a 5xx, a dropped connection or a short rate
        limit. Raises HttpError, Unreachable or GaveUp."""
        url = self.url(path, params)
        shown = url.split("?")[0]
        if method not in {"GET", "HEAD"} and self._spacing and self._last_write:
            spaced = self._last_write + self._spacing - time.monotonic()
            if spaced > 0:
                self.sleep(spaced)
        attempts = ATTEMPTS if method in _IDEMPOTENT else 1
        last: HttpError | None = None
        for attempt in range(attempts):
            if attempt:
                self.sleep(self._backoff * 2 ** (attempt - 1))
            try:
                status, answer_headers, data = self._once(method, url, body, headers)
            except Unreachable as exc:
                if not exc.sent or attempt + 1 == attempts:
                    if exc.sent and attempts > 1:
                        raise GaveUp(shown, None) from None
                    raise
                continue
            finally:
                if method not in {"GET", "HEAD"}:
                    self._last_write = time.monotonic()
            if status < 400:
                return Answer(status, answer_headers, data)
            last = HttpError(method, shown, status, data, answer_headers)
            wait = last.retry_after
            if wait is not None and attempts > 1 and wait <= MAX_WAIT \
                    and attempt + 1 < attempts:
                self.sleep(wait)
                continue
            if status < 500 or attempts == 1:
                raise last
        if last is not None and last.status >= 500:
            raise GaveUp(shown, last.status)
        raise last if last is not None else GaveUp(shown, None)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).data

    def conditional(self, path: str, params: Mapping[str, Any] | None = None) -> Answer:
        """GET with the ETag of the last answer: an unchanged resource answers 304, which
        costs nothing against the hourly budget (GitHub's conditional requests); the answer
        then carries the data of the last one."""
        key = self.url(path, params)
        cached = self._etags.get(key)
        answer = self.request("GET", path, params=params,
                              headers={"If-None-Match": cached[0]} if cached else None)
        if answer.status == 304 and cached is not None:
            return Answer(304, answer.headers, cached[1])
        self.remember(key, answer)
        return answer

    def remember(self, key: str, answer: Answer) -> None:
        """Keep `answer` as what the resource at `key` (a URL) is now: its next read may 304."""
        etag = answer.headers.get("etag")
        if etag and (key in self._etags or len(self._etags) < 1000):
            self._etags[key] = (etag, answer.data)

    def pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """The items of a listing, page after page as GitHub's `Link` header leads."""
        answer = self.request("GET", path, params={"per_page": 100, **(params or {})})
        while True:
            yield from answer.data or ()
            following = answer.next_url
            if not following:
                return
            answer = self.request("GET", following)

    # -- one exchange -----------------------------------------------------------------------
    def _once(self, method: str, url: str, body: Any,
              extra: Mapping[str, str] | None) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Authorization": f"token {self._token}",
                   "Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": "2022-11-28",
                   "User-Agent": f"incidentbot/{__version__}", **(extra or {})}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        shown = url.split("?")[0]
        conn = self._connection()
        reused = conn.sock is not None
        try:
            try:
                conn.request(method, target, body=payload, headers=headers)
            except OSError as exc:
                if not reused:
                    raise Unreachable(shown, sent=False,
                                      timeout=isinstance(exc, TimeoutError)) from None
                # A kept-alive connection closed as we sent: once more on a new one.
                conn.close()
                conn = self._new()
                try:
                    conn.request(method, target, body=payload, headers=headers)
                except OSError as again:
                    raise Unreachable(shown, sent=False,
                                      timeout=isinstance(again, TimeoutError)) from None
            response = conn.getresponse()
            raw = response.read()
        except Unreachable:
            conn.close()
            raise
        except TimeoutError:
            conn.close()
            raise Unreachable(shown, sent=True, timeout=True) from None
        except (http.client.HTTPException, OSError):
            conn.close()
            raise Unreachable(shown, sent=True) from None
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
        if response.will_close:
            conn.close()
        else:
            self._release(conn)
        data: Any = None
        if raw:
            try:
                data = json.loads(raw)
            except ValueError:
                data = raw.decode("utf-8", "replace")[:200]
        return response.status, answer_headers, data

    def _connection(self) -> http.client.HTTPConnection:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not _dropped(conn):
                    return conn
                conn.close()
        return self._new()

    def _release(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < 8:
                self._idle.append(conn)
                return
        conn.close()

    def _new(self) -> http.client.HTTPConnection:
        proxy = _proxy(self._https, self._host)
        host, port = (proxy.hostname or "", proxy.port or 8080) if proxy else \
            (self._host, self._port)
        conn: http.client.HTTPConnection
        if self._https:
            conn = http.client.HTTPSConnection(host, port, timeout=self._timeout,
                                               context=_tls())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self._timeout)
        if proxy:
            auth = {}
            if proxy.username:
                import base64
                from urllib.parse import unquote

                pair = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}"
                auth["Proxy-Authorization"] = "Basic " + base64.b64encode(
                    pair.encode()).decode()
            conn.set_tunnel(self._host, self._port, headers=auth)
        return conn


def _close_all(idle: list[http.client.HTTPConnection]) -> None:
    for conn in idle:
        conn.close()
    idle.clear()


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """A kept-alive connection the server has closed meanwhile (readable while idle)."""
    sock = conn.sock
    if sock is None:
        return False  # not connected yet: it connects on use
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _proxy(https: bool, host: str) -> Any:
    """The proxy from HTTPS_PROXY / HTTP_PROXY unless NO_PROXY excludes `host` (as requests
    reads them); the proxy-parsing code is imported only when one is set."""
    names = ("https_proxy", "HTTPS_PROXY") if https else ("http_proxy", "HTTP_PROXY")
    if not any(os.environ.get(name) for name in (*names, "all_proxy", "ALL_PROXY")):
        return None
    import urllib.request

    found = urllib.request.getproxies().get("https" if https else "http") or \
        urllib.request.getproxies().get("all")
    if not found or urllib.request.proxy_bypass(host):
        return None
    return urlsplit(found if "://" in found else f"http://{found}")


def _tls() -> Any:
    """The certificates requests would trust: REQUESTS_CA_BUNDLE, else certifi's."""
    import ssl

    cafile = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if not cafile:
        try:
            import certifi

            cafile = certifi.where()
        except ImportError:
            cafile = None
    return ssl.create_default_context(cafile=cafile)
