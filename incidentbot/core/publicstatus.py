"""Our statuses in the public's words (Statuspage's), in one place for every output.

The page, the JSON API, the feed, badges, Slack texts and the postmortem all ask here, so an
incident at `fixed` is "monitoring" (and unresolved) everywhere, never "resolved" somewhere.
The words are Atlassian Statuspage's incident statuses; `status_page.statuses` in
incidentbot.yml may move a status to another word (e.g. `fixed: resolved`), and then every
output follows.
"""

from __future__ import annotations

from collections.abc import Mapping

from incidentbot.core.config import Config
from incidentbot.core.model import Status

# https://developer.statuspage.io/#operation/postPagesPageIdIncidents (incident[status])
WORDS = ("investigating", "identified", "monitoring", "resolved", "postmortem")
RESOLVED_WORDS = frozenset({"resolved", "postmortem"})
DEFAULT: Mapping[Status, str] = {
    Status.OPEN: "investigating",
    Status.INVESTIGATING: "investigating",
    Status.FIXING: "identified",
    Status.FIXED: "monitoring",
    Status.POSTMORTEM: "resolved",
    Status.CLOSED: "resolved",
}
# What the page says when the status moves and nobody wrote an update (Statuspage's own
# default texts, as in the reference payloads).
SENTENCES: Mapping[str, str] = {
    "investigating": "We are investigating this issue.",
    "identified": "The issue has been identified and a fix is being implemented.",
    "monitoring": "A fix has been implemented and we are monitoring the results.",
    "resolved": "This incident has been resolved.",
    "postmortem": "This incident has been resolved; a postmortem is being written.",
}


def word(status: Status, config: Config | None = None) -> str:
    """The public word for `status` (the team's `status_page.statuses`, else the default)."""
    custom = config.status_page.statuses if config is not None else {}
    return custom.get(status.value) or DEFAULT[status]


def label(status: Status, config: Config | None = None) -> str:
    """The word as a heading: "Monitoring"."""
    return word(status, config).capitalize()


def is_resolved(status: Status, config: Config | None = None) -> bool:
    """Resolved in public: no longer listed as active, with a `resolved_at`."""
    return word(status, config) in RESOLVED_WORDS
