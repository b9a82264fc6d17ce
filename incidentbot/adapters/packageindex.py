"""Whether a release of a project is on the package index (PyPI's JSON API).

`GET <index>/pypi/<project>/<version>/json` answers 200 for a published release and 404 for
one that is not (https://docs.pypi.org/api/json/#get-a-release). `doctor` asks it once for the
release the workflows pin, so a team learns before its first incident that `pip install`
would fail, not during it.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = 5.0  # seconds: doctor waits no longer for an index that does not answer


def published(index: str, project: str, version: str) -> tuple[bool | None, str]:
    """(True, "") when the release exists, (False, "") when the index says it does not,
    (None, why) when the index could not be asked."""
    if not index.startswith(("https://", "http://")):
        return None, f"the package index {_shown(index)!r} is not an http(s) URL"
    url = (f"{index.rstrip('/')}/pypi/{urllib.parse.quote(project, safe='')}/"
           f"{urllib.parse.quote(version, safe='')}/json")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, headers={"Accept": "application/json", "User-Agent": "incidentbot-doctor"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
            json.load(answer)
            return True, ""
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False, ""
        return None, f"{_shown(url)} answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{_shown(url)}: {_shown(str(reason))}"


def _shown(url: str) -> str:
    """A URL as it may be printed: a private index's `user:token@` left out."""
    return re.sub(r"(?<=://)[^/@\s]*@", "", url)
