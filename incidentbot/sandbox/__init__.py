"""A local emulator of the GitHub REST, Slack Web and PagerDuty Events APIs, over real HTTP."""

from __future__ import annotations

import re
import shlex
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from incidentbot.sandbox.faults import Fault, Faults
from incidentbot.sandbox.github_api import GitHubEmulator
from incidentbot.sandbox.github_records import ACTIONS_BOT, APP_BOT, OUTSIDER, PEOPLE, Delivery, iso
from incidentbot.sandbox.github_records import BOT as GITHUB_BOT_LOGIN
from incidentbot.sandbox.pagerduty_api import PagerDutyEmulator
from incidentbot.sandbox.pypi import PackageIndexEmulator
from incidentbot.sandbox.server import Call, Hub, Server, make_server
from incidentbot.sandbox.slack_api import SlackEmulator
from incidentbot.sandbox.smtp import POLL_INTERVAL, SmtpSink
from incidentbot.sandbox.webhooks import WebhookEmulator

__all__ = ["DEFAULTS", "IDENTITIES", "Call", "Delivery", "Fault", "Faults", "Sandbox"]

# Credentials the sandbox accepts. They are not secrets: they only open this local emulator.
DEFAULTS: Mapping[str, str] = {
    "GITHUB_REPOSITORY": "acme/incidents",
    "GITHUB_TOKEN": "sandbox-github-token",
    "SLACK_BOT_TOKEN": "xoxb-sandbox-bot-token",
    "SLACK_SIGNING_SECRET": "sandbox-signing-secret",
    "PAGERDUTY_ROUTING_KEY": "sandbox0routing0key0000000000000",
}


# Every GitHub identity of a real deployment, by a short name: (token, the login it writes as).
# `default` is a machine user with push access (the simplest setup); `app` the dispatcher's
# GitHub App installation; `actions` the workflow's GITHUB_TOKEN (1,000 requests an hour,
# its writes start no workflow); a person each with push access; `mallory` without it.
IDENTITIES: Mapping[str, tuple[str, str]] = {
    "default": (DEFAULTS["GITHUB_TOKEN"], GITHUB_BOT_LOGIN),
    "app": ("ghs_sandbox_app_installation_token", APP_BOT),
    "actions": ("ghs_sandbox_actions_github_token", ACTIONS_BOT),
    **{login: (f"sandbox-token-{login}", login) for login in (*PEOPLE, OUTSIDER)},
}


class Sandbox:
    """GitHub, Slack and PagerDuty on one local port; start it, point the clients at `env()`.

    >>> with Sandbox() as sb:                                   # doctest: +SKIP
    ...     Github(base_url=sb.github_url, auth=Auth.Token(sb.env()["GITHUB_TOKEN"]))
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: str | Path | None = None,
        repository: str = DEFAULTS["GITHUB_REPOSITORY"],
        verbose: bool = False,
    ) -> None:
        self.repository = repository
        self.github = GitHubEmulator(
            repository=repository, token=DEFAULTS["GITHUB_TOKEN"],
            tokens={token: login for token, login in IDENTITIES.values()})
        self.slack = SlackEmulator(token=DEFAULTS["SLACK_BOT_TOKEN"])
        self.pagerduty = PagerDutyEmulator(routing_key=DEFAULTS["PAGERDUTY_ROUTING_KEY"])
        self.webhooks = WebhookEmulator()
        self.pypi = PackageIndexEmulator()
        self.smtp = SmtpSink(host)
        self._hub = Hub(
            {"github": self.github, "slack": self.slack, "pagerduty": self.pagerduty,
             "webhooks": self.webhooks, "pypi": self.pypi},
            Path(state_file) if state_file is not None else None,
        )
        self._server: Server = make_server(self._hub, host, port, verbose)
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> Sandbox:
        """Serve in a background thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
                name="incidentbot-sandbox", daemon=True,
            )
            self._thread.start()
            self.smtp.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self._server.serve_forever(poll_interval=POLL_INTERVAL)

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        self.smtp.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- where it is ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self._server.base_url

    @property
    def github_url(self) -> str:
        return self.url

    @property
    def slack_url(self) -> str:
        # slack-sdk joins method names onto base_url, which must end in /api/.
        return f"{self.url}/api/"

    @property
    def pagerduty_url(self) -> str:
        return f"{self.url}/v2/enqueue"

    def env(self, identity: str = "default") -> dict[str, str]:
        """The environment that points incidentbot at this sandbox, writing to GitHub as
        `identity` (a key of IDENTITIES). Only the default identity names its login up front;
        the others learn it as a real deployment does."""
        token, login = IDENTITIES[identity]
        env = {
            "GITHUB_API_URL": self.github_url,
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_TOKEN": token,
            "SLACK_API_URL": self.slack_url,
            "SLACK_BOT_TOKEN": DEFAULTS["SLACK_BOT_TOKEN"],
            "SLACK_SIGNING_SECRET": DEFAULTS["SLACK_SIGNING_SECRET"],
            "PAGERDUTY_API_URL": self.pagerduty_url,
            "PAGERDUTY_ROUTING_KEY": DEFAULTS["PAGERDUTY_ROUTING_KEY"],
            # The REST API's address; its key (pagerduty_api.API_KEY) only where a test or
            # the demo wants on-call lookups: without it, paging works as before.
            "PAGERDUTY_REST_URL": f"{self.url}/pagerduty",
            # Email notifications go to the sandbox's SMTP receiver (sandbox.smtp.messages).
            "INCIDENTBOT_SMTP_HOST": "127.0.0.1",
            "INCIDENTBOT_SMTP_PORT": str(self.smtp.port),
            "INCIDENTBOT_WRITE_SPACING": "0",
            # `doctor` asks the package index whether the release the workflows pin exists.
            "INCIDENTBOT_PACKAGE_INDEX": self.url,
        }
        if identity == "default":
            env["INCIDENTBOT_GITHUB_LOGIN"] = login
        return env

    def export_line(self) -> str:
        """A shell line that points a terminal's incidentbot at this sandbox."""
        return "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env().items())

    # -- inspection and control -------------------------------------------------------------
    @property
    def calls(self) -> list[Call]:
        return self._hub.calls()

    def calls_to(self, service: str, operation: str | None = None) -> list[Call]:
        """The calls to `service`; `operation` is matched whole, as a regular expression
        (the same rule as fault rules), or as the plain operation name."""
        pattern = re.compile(operation) if operation is not None else None
        return [
            c for c in self._hub.calls()
            if c.service == service and (
                pattern is None or c.operation == operation or pattern.fullmatch(c.operation)
            )
        ]

    def clear_calls(self) -> None:
        self._hub.clear_calls()

    @property
    def faults(self) -> Faults:
        return self._hub.faults

    # -- people acting on GitHub by hand (labels, comments, close), for tests and the demo --
    def github_relabel(self, login: str, number: int, add: Sequence[str] = (),
                       remove: Sequence[str] = ()) -> None:
        """`login` adds and removes labels on issue `number`, as in GitHub's web UI."""
        with self._hub.lock:
            store = self._github_now()
            issue = store.issue(number)
            if add:
                store.add_labels(login, issue, add)
            for name in remove:
                store.remove_label(login, issue, name)

    def github_open(self, login: str, title: str, body: str,
                    labels: Sequence[str] = ()) -> int:
        """`login` opens an issue in GitHub's web UI; returns its number."""
        with self._hub.lock:
            store = self._github_now()
            return int(store.create_issue(login, title, body, labels, []).number)

    def github_open_issue(self, login: str, title: str, body: str,
                          labels: Sequence[str] = ()) -> int:
        """`login` opens an issue (by hand, or through an issue form); returns its number."""
        with self._hub.lock:
            store = self._github_now()
            return int(store.create_issue(login, title, body, list(labels), []).number)

    def github_comment(self, login: str, number: int, body: str) -> int:
        """`login` comments on issue `number`; returns the comment id."""
        with self._hub.lock:
            store = self._github_now()
            return int(store.create_comment(login, store.issue(number), body).id)

    def github_set_state(self, login: str, number: int, state: str) -> None:
        """`login` closes or reopens issue `number`."""
        with self._hub.lock:
            store = self._github_now()
            store.edit_issue(login, store.issue(number), {"state": state})

    def github_merge(self, login: str, number: int) -> None:
        """`login` merges pull request `number` (its head's commits land on its base)."""
        with self._hub.lock:
            store = self._github_now()
            store.merge_pull(login, store.pull(number))

    def github_deploy(self, login: str, ref: str, environment: str = "production",
                      description: str = "") -> int:
        """`login` records a deployment of `ref`; returns its id."""
        with self._hub.lock:
            return int(self._github_now().create_deployment(login, ref, environment,
                                                            description).id)

    def _github_now(self) -> Any:
        """The GitHub store, its clock set as a request would set it."""
        self.github.store.now = iso(self.github.clock())
        return self.github.store

    # -- webhooks: what GitHub would deliver, and so which workflow runs a write starts --------
    def deliveries(self, after: int = 0) -> list[Delivery]:
        """The `issues` / `issue_comment` events since delivery number `after`."""
        with self._hub.lock:
            return [d for d in self.github.store.deliveries if d.seq > after]

    def reset(self) -> None:
        """Back to the seeded world: no issues, no incident channels, no faults, no calls."""
        self._hub.reset()
        self.smtp.clear()

    def state(self) -> dict[str, Any]:
        return self._hub.dump_state()
