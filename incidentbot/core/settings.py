"""Where incidentbot connects: API URLs and secrets from the environment, as Actions sets them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from incidentbot.core.errors import InvalidInput, MissingSetting

GITHUB_API_DEFAULT = "https://api.github.com"
GITHUB_SERVER_DEFAULT = "https://github.com"
SLACK_API_DEFAULT = "https://slack.com/api/"
PAGERDUTY_API_DEFAULT = "https://events.pagerduty.com/v2/enqueue"
PAGERDUTY_REST_DEFAULT = "https://api.pagerduty.com"
PACKAGE_INDEX_DEFAULT = "https://pypi.org"

# What each secret is for, said when it is missing (its value is never printed).
PURPOSE: Mapping[str, str] = {
    "GITHUB_TOKEN": "a GitHub token that may read and write issues and contents of the incident "
                    "repository (in Actions: secrets.GITHUB_TOKEN)",
    "GITHUB_REPOSITORY": "the incident repository as owner/name (Actions sets it; or set "
                         "`repository:` in incidentbot.yml)",
    "SLACK_BOT_TOKEN": "the Slack app's bot token (xoxb-...), from OAuth & Permissions",
    "SLACK_SIGNING_SECRET": "the Slack app's signing secret, from Basic Information",
    "SLACK_APP_TOKEN": "an app-level token (xapp-...) with connections:write, for Socket Mode",
    "PAGERDUTY_ROUTING_KEY": "the integration key of a PagerDuty Events API v2 integration",
    "PAGERDUTY_API_KEY": "a PagerDuty REST API key (read-only is enough), to find who is on call",
}


def _seconds(value: str | None, default: float, name: str) -> float:
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise InvalidInput(f"{name}: expected seconds, got {value!r}") from None
    if not 0 <= seconds <= 60:
        raise InvalidInput(f"{name}: expected 0 to 60, got {seconds:g}")
    return seconds


@dataclass(frozen=True, slots=True)
class Settings:
    """The connection settings; secrets are hidden from repr so logs never show them."""

    github_api_url: str = GITHUB_API_DEFAULT
    # Where git reaches the repository (pushes of the data and site branches): Actions sets
    # GITHUB_SERVER_URL, so GitHub Enterprise Server needs nothing more.
    github_server_url: str = GITHUB_SERVER_DEFAULT
    repository: str | None = None
    github_token: str | None = field(default=None, repr=False)
    slack_api_url: str = SLACK_API_DEFAULT
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    pagerduty_api_url: str = PAGERDUTY_API_DEFAULT
    pagerduty_routing_key: str | None = field(default=None, repr=False)
    # The REST API, for who is on call (optional: without a key, paging only).
    pagerduty_rest_url: str = PAGERDUTY_REST_DEFAULT
    pagerduty_api_key: str | None = field(default=None, repr=False)
    # Email notifications (notify: type email): the SMTP server that sends them.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "incidentbot@localhost"
    # Seconds between GitHub writes: none by default. GitHub's secondary limits (about 80
    # content-creating requests a minute) answer a burst with Retry-After, which the adapter
    # waits out (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api);
    # spacing every write would make each person wait for nothing GitHub asked.
    write_spacing: float = 0.0
    # The login our GitHub token writes as, when known in advance (saves a GET /user);
    # cards written by other logins are not trusted.
    github_login: str | None = None
    # In GitHub Actions, the person who started the run (GITHUB_TRIGGERING_ACTOR, else
    # GITHUB_ACTOR): whom a change made there is credited to, not the token's bot.
    actions_actor: str | None = None
    # Backoff base in seconds for retries of transient failures (0 in tests: retry at once).
    retry_backoff: float = 0.5
    # How long a restarted dispatcher waits before resuming acknowledged work, so a write
    # the killed one had in flight lands first and is found (not made twice).
    resume_grace: float = 15.0
    # The package index `doctor` asks whether the incidentbot release the workflows pin exists.
    package_index: str = field(default=PACKAGE_INDEX_DEFAULT, repr=False)  # may hold a token

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *,
                 repository: str | None = None) -> Settings:
        """Read the environment; `repository` (from incidentbot.yml) fills a missing one."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        slack_url = get("SLACK_API_URL") or SLACK_API_DEFAULT
        return cls(
            github_api_url=(get("GITHUB_API_URL") or GITHUB_API_DEFAULT).rstrip("/"),
            github_server_url=(get("GITHUB_SERVER_URL") or GITHUB_SERVER_DEFAULT).rstrip("/"),
            repository=get("GITHUB_REPOSITORY") or repository,
            github_token=get("GITHUB_TOKEN"),
            slack_api_url=slack_url if slack_url.endswith("/") else slack_url + "/",
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            pagerduty_api_url=get("PAGERDUTY_API_URL") or PAGERDUTY_API_DEFAULT,
            pagerduty_routing_key=get("PAGERDUTY_ROUTING_KEY"),
            pagerduty_rest_url=(get("PAGERDUTY_REST_URL") or PAGERDUTY_REST_DEFAULT).rstrip("/"),
            pagerduty_api_key=get("PAGERDUTY_API_KEY"),
            smtp_host=get("INCIDENTBOT_SMTP_HOST"),
            smtp_port=int(get("INCIDENTBOT_SMTP_PORT") or 25),
            smtp_from=get("INCIDENTBOT_SMTP_FROM") or "incidentbot@localhost",
            write_spacing=_seconds(get("INCIDENTBOT_WRITE_SPACING"), 0.0,
                                   "INCIDENTBOT_WRITE_SPACING"),
            github_login=get("INCIDENTBOT_GITHUB_LOGIN"),
            actions_actor=(get("GITHUB_TRIGGERING_ACTOR") or get("GITHUB_ACTOR"))
            if get("GITHUB_ACTIONS") == "true" else None,
            retry_backoff=_seconds(get("INCIDENTBOT_RETRY_BACKOFF"), 0.5,
                                   "INCIDENTBOT_RETRY_BACKOFF"),
            resume_grace=_seconds(get("INCIDENTBOT_RESUME_GRACE"), 15.0,
                                  "INCIDENTBOT_RESUME_GRACE"),
            package_index=(get("INCIDENTBOT_PACKAGE_INDEX") or PACKAGE_INDEX_DEFAULT).rstrip("/"),
        )

    def require(self, *names: str) -> None:
        """Raise MissingSetting for the first of `names` (environment variable names) unset."""
        attributes = {
            "GITHUB_TOKEN": self.github_token,
            "GITHUB_REPOSITORY": self.repository,
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "SLACK_APP_TOKEN": self.slack_app_token,
            "PAGERDUTY_ROUTING_KEY": self.pagerduty_routing_key,
            "PAGERDUTY_API_KEY": self.pagerduty_api_key,
        }
        for name in names:
            if not attributes[name]:
                raise MissingSetting(name, PURPOSE[name])
