"""GitHub as a first-class entry point (issue 15, item 8): the issue form's answers become
labels; an issue opened by hand with the `incident` label gets the default severity; either
runs like an incident opened from Slack."""

from __future__ import annotations

from pathlib import Path

import yaml
from helpers import CONFIG, ROOT, connections

from incidentbot.core import intake
from incidentbot.operations import sync
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import BOB, INCIDENTS

FORM = ROOT / ".github" / "ISSUE_TEMPLATE" / "incident.yml"


def rendered(severity: str, services: str, description: str) -> str:
    """An issue body as GitHub writes it from the form's answers."""
    return (f"### Severity\n\n{severity}\n\n### Affected services\n\n{services}\n\n"
            f"### What is happening?\n\n{description}")


def labels(sandbox: Sandbox, number: int) -> set[str]:
    store = sandbox.github.store
    return {store.labels[i].name for i in store.issues[number].labels}


def test_the_form_asks_what_the_config_knows() -> None:
    form = yaml.safe_load(FORM.read_text())
    assert form["labels"] == ["incident"]
    fields = {f.get("id"): f for f in form["body"]}
    assert fields["severity"]["attributes"]["label"] == intake.SEVERITY
    assert fields["services"]["attributes"]["label"] == intake.SERVICES
    assert fields["description"]["attributes"]["label"] == intake.DESCRIPTION
    levels = [intake.severity(o, CONFIG) for o in fields["severity"]["attributes"]["options"]]
    assert levels == [s.level for s in CONFIG.severities]
    names = fields["services"]["attributes"]["options"]
    assert intake.services(", ".join(names), CONFIG) == tuple(sorted(
        s.slug for s in CONFIG.services))


def test_an_issue_opened_from_the_form_runs_like_one_from_slack(sandbox: Sandbox) -> None:
    body = rendered("SEV2 — Major: a core feature is broken or badly degraded.",
                    "Checkout, Payments API", "Card payments fail with <!here> 502")
    number = sandbox.github_open_issue("bob", "Incident: payments failing", body, ["incident"])
    c = connections(sandbox)
    outcome = sync.sync(c.tracker, c.chat, c.pager, CONFIG, number)  # the workflow's run
    assert outcome.ok, outcome.failed
    assert {"incident", "sev:2", "status:open", "service:checkout",
            "service:payments"} <= labels(sandbox, number)
    assert outcome.card is not None and outcome.card.channel_id
    channel = outcome.card.channel_id
    assert BOB in sandbox.slack.state.channels[channel]["members"]  # the reporter, by login
    summary = next(m["text"] for m in sandbox.slack.messages(channel)
                   if m["text"].startswith(":rotating_light:"))
    assert ">>> Card payments fail with &lt;!here&gt; 502" in summary
    assert "### Severity" not in summary
    assert sandbox.pagerduty.alerts  # SEV2 pages, as from Slack
    assert any("SEV2 incident" in m["text"] for m in sandbox.slack.messages(INCIDENTS))
    # Runs again: the labels are not written twice (the second run only notes the card
    # comment it made as seen), and the third writes nothing at all.
    sandbox.clear_calls()
    sync.sync(c.tracker, c.chat, c.pager, CONFIG, number)
    assert not [x for x in sandbox.calls if "labels" in x.operation]
    sandbox.clear_calls()
    sync.sync(c.tracker, c.chat, c.pager, CONFIG, number)
    assert [x for x in sandbox.calls if x.service == "github"
            and not x.operation.startswith("GET")] == []


def test_an_issue_opened_by_hand_gets_the_default_severity(sandbox: Sandbox) -> None:
    number = sandbox.github_open_issue("alice", "Search is slow", "p99 at 4 s", ["incident"])
    c = connections(sandbox)
    outcome = sync.sync(c.tracker, c.chat, c.pager, CONFIG, number)
    assert f"sev:{CONFIG.default_severity}" in labels(sandbox, number)
    assert outcome.card is not None and outcome.card.channel_id
    assert any("SEV3 incident" in m["text"] for m in sandbox.slack.messages(INCIDENTS))
    # A severity someone set later is theirs: it is never reset.
    sandbox.github_relabel("alice", number, add=["sev:4"], remove=["sev:3"])
    sync.sync(c.tracker, c.chat, c.pager, CONFIG, number)
    assert "sev:4" in labels(sandbox, number) and "sev:3" not in labels(sandbox, number)


def test_an_issue_without_the_incident_label_is_left_alone(sandbox: Sandbox) -> None:
    number = sandbox.github_open_issue("alice", "Typo on the pricing page", "see title")
    assert labels(sandbox, number) == set()
    assert Path(FORM).exists()


def test_the_form_matches_githubs_issue_form_schema() -> None:
    import subprocess
    import sys

    tool = Path(sys.executable).parent / "check-jsonschema"
    out = subprocess.run([str(tool), "--builtin-schema", "vendor.github-issue-forms",
                          str(FORM)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
