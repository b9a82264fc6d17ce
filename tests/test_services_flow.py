"""Services know each other (issue 15, item 6): `depends_on` in the summary, owners of upstream
services invited at SEV1-2 (configurable), and `max_severity` caps what anyone can set, with
the reason — the same rule in the Slack form, Slack commands, issue comments and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import CONFIG, connections, running_dispatcher
from test_dispatcher import labels_of, replies, send
from test_slack_flow import incident_channel, open_via_modal

from incidentbot.core import config
from incidentbot.core.errors import InvalidInput
from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.operations import incidents as operations
from incidentbot.operations import sync
from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.slack_api import BOB
from incidentbot.sandbox.slack_requests import SlackRequests, open_values

SECRET = DEFAULTS["SLACK_SIGNING_SECRET"]
REASON = "an internal tool: no customer is affected"
CFG = config.parse(Path(CONFIG.source).read_text().replace(
    "    public: false\n    owners: [carol]\n",
    f"    public: false\n    owners: [carol]\n    max_severity: 3\n"
    f"    max_severity_reason: \"{REASON}\"\n"), source=CONFIG.source)


@pytest.fixture
def disp(sandbox: Sandbox) -> Iterator[Dispatcher]:
    yield from running_dispatcher(sandbox, CFG)



def summary_of(sandbox: Sandbox, channel: str) -> str:
    return next(m["text"] for m in sandbox.slack.messages(channel)
                if m["text"].startswith(":rotating_light:"))


@pytest.mark.parametrize(("severity", "invited"), [(2, True), (3, False)])
def test_upstream_owners_are_invited_at_sev1_2_and_dependencies_shown(
    disp: Dispatcher, s: SlackRequests, sandbox: Sandbox, severity: int, invited: bool
) -> None:
    open_via_modal(disp, sandbox, s, "Checkout down", severity, services=("checkout",))
    channel = incident_channel(sandbox)
    assert (BOB in sandbox.slack.state.channels[channel]["members"]) is invited  # payments
    assert "Depends on: Payments API" in summary_of(sandbox, channel)


def test_a_service_shows_what_depends_on_it(sandbox: Sandbox) -> None:
    c = connections(sandbox, CFG)
    _issue, outcome = operations.open_incident(c, title="Pay down", severity=3,
                                              services=("payments",))
    assert outcome.card is not None and outcome.card.channel_id
    assert "Used by: Checkout" in summary_of(sandbox, outcome.card.channel_id)


def test_max_severity_is_one_rule_everywhere(disp: Dispatcher, s: SlackRequests,
                                             sandbox: Sandbox) -> None:
    # The open form: the error is shown at the severity, with the reason.
    send(disp, s.command("open Admin down"))
    (view,) = sandbox.slack.views.values()
    reply = send(disp, s.view_submission(view, open_values("Admin down", 2, ("admin",))))
    assert reply.body is not None and isinstance(reply.body, dict)
    error = reply.body["errors"]["severity"]
    assert "Admin console incidents can be SEV3 at most, not SEV2" in error and REASON in error
    assert sandbox.github.store.issues == {}

    number = open_via_modal(disp, sandbox, s, "Admin slow", 3, services=("admin",))
    channel = incident_channel(sandbox)
    send(disp, s.command("sev 1", channel=channel))  # a Slack command
    assert "sev:3" in labels_of(sandbox, number)
    assert any(REASON in t for t in replies(sandbox))

    c = connections(sandbox, CFG)
    with pytest.raises(InvalidInput, match="SEV3 at most"):  # the CLI
        operations.update_incident(c, number, operations.change_from_options(CFG, severity=2))
    sandbox.github_comment("bob", number, "/sev 2")  # an issue comment
    sync.sync(c.tracker, c.chat, c.pager, CFG, number)
    assert "sev:3" in labels_of(sandbox, number)
    assert any(REASON in x.body for x in sandbox.github.store.comments.values()
               if x.issue == number and "incidentbot:reply" in x.body)
    # Lower is fine; removing the service lifts the cap.
    send(disp, s.command("sev 4", channel=channel))
    assert "sev:4" in labels_of(sandbox, number)


def test_an_uncapped_service_lifts_the_cap(sandbox: Sandbox) -> None:
    c = connections(sandbox, CFG)
    issue, _ = operations.open_incident(c, title="Everything down", severity=1,
                                        services=("admin", "checkout"))
    assert "sev:1" in labels_of(sandbox, issue.number)


def test_a_label_set_on_github_beyond_the_cap_is_set_back_with_the_reason(
    sandbox: Sandbox
) -> None:
    c = connections(sandbox, CFG)
    issue, _ = operations.open_incident(c, title="Admin slow", severity=3,
                                        services=("admin",))
    sandbox.github_relabel("bob", issue.number, add=["sev:1"], remove=["sev:3"])
    for _ in range(2):  # the second run neither relabels nor says it again
        sync.sync(c.tracker, c.chat, c.pager, CFG, issue.number)
    assert "sev:3" in labels_of(sandbox, issue.number)
    assert "sev:1" not in labels_of(sandbox, issue.number)
    said = [x.body for x in sandbox.github.store.comments.values()
            if x.issue == issue.number and "incidentbot:capped" in x.body]
    assert len(said) == 1 and REASON in said[0] and "SEV1 was set back to SEV3" in said[0]
