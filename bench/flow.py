"""What the incident flow's extras cost (issue 15): calls to PagerDuty's REST API, Slack's
users.lookupByEmail and the notification targets, per operation, on the sandbox.

    .venv/bin/python bench/flow.py

On-call and email lookups happen once per incident (their answers live in the card), and
each notification target is told once per change, so a re-run should cost none of them.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incidentbot.adapters import github, pagerduty, slack
from incidentbot.core import config as configuration
from incidentbot.core.commands import Change
from incidentbot.core.model import Status
from incidentbot.core.settings import Settings
from incidentbot.operations import incidents as operations
from incidentbot.operations import sync
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.pagerduty_api import API_KEY


def config_for(sb: Sandbox) -> configuration.Config:
    text = (ROOT / "incidentbot.yml").read_text()
    text = text.replace("    owners: [carol]\n",
                        "    owners: [carol]\n    escalation_policy: PPAYS01\n")
    text = text.replace("  bob: {name: Bob Example, slack: U0BOB00001, github: bob}",
                        "  bob: {name: Bob Example, email: bob@example.com, github: bob}")
    text += (f"notify:\n  - {{name: ops, type: teams, url: \"{sb.url}/webhooks/teams/ops\"}}\n"
             f"  - {{name: audit, type: webhook, url: \"{sb.url}/webhooks/json/audit\"}}\n"
             "  - {name: majors, type: email, to: [majors@example.com]}\n")
    return configuration.parse(text, source="bench")


def counts(sb: Sandbox) -> dict[str, int]:
    calls = sb.calls
    return {
        "github": sum(1 for c in calls if c.service == "github"),
        "slack": sum(1 for c in calls if c.service == "slack"),
        "lookupByEmail": sum(1 for c in calls if c.operation == "users.lookupByEmail"),
        "pd_rest": sum(1 for c in calls if c.operation.startswith("GET /pagerduty")),
        "webhooks": sum(1 for c in calls if c.service == "webhooks"),
    }


def main() -> None:
    with Sandbox() as sb:
        for name, value in sb.env().items():
            os.environ[name] = value  # the email sender reads its SMTP server from here
        cfg = config_for(sb)
        settings = Settings.from_env({**sb.env(), "INCIDENTBOT_RETRY_BACKOFF": "0",
                                      "PAGERDUTY_API_KEY": API_KEY})
        c = operations.Connections(github.connect(settings), slack.connect(settings),
                                   pagerduty.connect(settings), cfg)
        state: dict[str, int] = {}

        def open_one() -> object:
            issue, _ = operations.open_incident(c, title="Admin console down", severity=2,
                                                services=["admin", "payments"])
            state["n"] = issue.number
            return issue

        steps: list[tuple[str, Callable[[], object]]] = [
            ("open (SEV2, on-call + owner by email)", open_one),
            ("re-run, nothing changed", lambda: sync.sync(c.tracker, c.chat, c.pager, cfg,
                                                          state["n"])),
            ("status change", lambda: operations.update_incident(
                c, state["n"], Change(status=Status.FIXING))),
            ("re-run, nothing changed", lambda: sync.sync(c.tracker, c.chat, c.pager, cfg,
                                                          state["n"])),
        ]
        print(f"{'operation':<40} {'github':>6} {'slack':>6} {'byEmail':>8} {'pd_rest':>8} "
              f"{'hooks':>6} {'mails':>6}")
        for label, run in steps:
            sb.clear_calls()
            mails = len(sb.smtp.messages)
            run()
            got = counts(sb)
            print(f"{label:<40} {got['github']:>6} {got['slack']:>6} "
                  f"{got['lookupByEmail']:>8} {got['pd_rest']:>8} {got['webhooks']:>6} "
                  f"{len(sb.smtp.messages) - mails:>6}")


if __name__ == "__main__":
    main()
