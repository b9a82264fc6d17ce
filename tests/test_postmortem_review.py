"""A newcomer's review of the postmortem against the sandbox: who opened an incident and
through what, its time to acknowledge, public updates in the customer communication, and
`postmortem --print` showing what `postmortem` commits (and refusing what it refuses)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from helpers import CONFIG, ROOT, FakeClock, connections

from incidentbot.core import facts, markers
from incidentbot.core.commands import Change
from incidentbot.core.model import LabelFields, Status
from incidentbot.core.ports import Issue
from incidentbot.core.snapshot import Attribution
from incidentbot.core.trust import Writers
from incidentbot.entrypoints.cli import main
from incidentbot.operations import evidence, metrics
from incidentbot.operations import incidents as operations
from incidentbot.operations import postmortem as pm
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import BOB

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CONFIG_FILE = str(ROOT / "incidentbot.yml")


def cli(*argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*argv, "--config", CONFIG_FILE])
    return result.exit_code, result.output


def section(text: str, name: str) -> str:
    found = re.search(rf"<!-- incidentbot:begin {name}(?: [0-9a-f]+)? -->\n(.*?)"
                      rf"<!-- incidentbot:end {name}",
                      text, re.DOTALL)
    assert found is not None, name
    return found.group(1)


# -- who opened it, and through what -------------------------------------------------------
def issue(body: str, author: str = "incidentbot-sandbox", association: str = "NONE",
          author_type: str = "User") -> Issue:
    return Issue(1, "t", body, "open", ("incident",), T0, T0, "https://x/1", author=author,
                 association=association, author_type=author_type)


WRITERS = Writers.of(("github-actions[bot]",), "incidentbot-sandbox")
INCIDENT = LabelFields(is_incident=True)


@pytest.mark.parametrize(("body", "author", "association", "expected"), [
    # What `incidentbot open` records now: the marker says who and through what.
    ("x\n\n" + markers.opened(None, False, by="root", via="CLI"), "incidentbot-sandbox",
     "NONE", facts.Opener("root", "CLI")),
    ("x\n\n" + markers.opened("U0ALICE001", True, by="U0ALICE001", via="Slack"),
     "incidentbot-sandbox", "NONE", facts.Opener("U0ALICE001", "Slack")),
    ("x\n\n" + markers.opened(None, False, by="health checks", via="monitor"),
     "incidentbot-sandbox", "NONE", facts.Opener(None, "monitor")),
    # Opened before the marker said so: the Slack reporter, else the line people read.
    ("x\n\n" + markers.opened("U0ALICE001", False), "incidentbot-sandbox", "NONE",
     facts.Opener("U0ALICE001", "Slack")),
    ("x\n\n_Reported by Ann O\\'Neil via CLI._\n\n" + markers.opened(None, False),
     "incidentbot-sandbox", "NONE", facts.Opener("Ann O'Neil", "CLI")),
    # Opened on GitHub by a person: theirs, through the issue form when it has its answers.
    ("### Severity\n\nSEV2\n\n### What is happening?\n\nCheckout is down", "alice", "MEMBER",
     facts.Opener("alice", "GitHub form")),
    ("Checkout is down", "alice", "MEMBER", facts.Opener("alice", "GitHub")),
    # A description typed in Slack comes before our marker: a look-alike in it says nothing.
    (markers.opened("U0MALLORY1", True, by="ceo", via="monitor") + "\n_Reported by the CEO "
     "via CLI._\n\n_Reported by Alice via Slack._\n\n"
     + markers.opened("U0ALICE001", False, by="U0ALICE001", via="Slack"),
     "incidentbot-sandbox", "NONE", facts.Opener("U0ALICE001", "Slack")),
    ("_Reported by the CEO via CLI._\n\n_Reported by Ann via CLI._\n\n"
     + markers.opened(None, False), "incidentbot-sandbox", "NONE", facts.Opener("Ann", "CLI")),
    # A marker written by someone without push access says nothing.
    ("x\n\n" + markers.opened(None, False, by="alice", via="CLI"), "mallory", "NONE",
     facts.Opener("mallory", "GitHub")),
])
def test_who_opened_it_is_what_the_issue_records(body: str, author: str, association: str,
                                                 expected: facts.Opener) -> None:
    assert facts.opener(issue(body, author, association), INCIDENT, WRITERS) == expected


def test_the_monitor_opens_with_no_one_s_name() -> None:
    auto = LabelFields(is_incident=True, auto=True)
    assert facts.opener(issue("x"), auto, WRITERS) == facts.Opener(None, "monitor")


def test_a_cli_opened_incident_is_acknowledged_by_someone_else(sandbox: Sandbox) -> None:
    """Alice opens from the CLI and works on it herself; Bob's comment six minutes in is
    the acknowledgement, in the postmortem and in the report alike."""
    clock = FakeClock(sandbox, T0)
    c = connections(sandbox, clock=lambda: clock.now)
    opened, _ = operations.open_incident(c, title="Search is slow", severity=3,
                                         services=["checkout"],
                                         by=Attribution("alice", "CLI"))
    n = opened.number
    clock.at(2)
    operations.update_incident(c, n, Change(status=Status.INVESTIGATING),
                               note="Looking at the search cluster.",
                               by=Attribution("alice", "CLI"))
    clock.at(4)
    operations.update_incident(c, n, Change(roles={"commander": "@carol"}),
                               by=Attribution("alice", "CLI"))
    clock.at(6)
    sandbox.github_comment("bob", n, "I see it too: p99 is 4s.")
    clock.at(9)
    operations.update_incident(c, n, Change(status=Status.FIXING),
                               by=Attribution(BOB, "Slack"))

    found = evidence.gather(c.tracker, c.chat, CONFIG, n)
    first = found.timeline.entries[0]
    assert (first.who, first.source, first.text) == ("Alice Example", "CLI",
                                                     "Incident opened")
    figures = found.timeline.figures
    assert figures.time_to_acknowledge == timedelta(minutes=6)
    assert figures.people == ("Alice Example", "Bob Example")
    text = pm.render(found, CONFIG)
    assert "| Time to acknowledge | 6m |" in text
    assert "· Alice Example (CLI): Incident opened" in text

    (record,) = metrics.gather(c.tracker, CONFIG, since=None)
    assert record.acknowledge == timedelta(minutes=6)


def test_an_incident_only_its_opener_touched_is_not_acknowledged(sandbox: Sandbox) -> None:
    clock = FakeClock(sandbox, T0)
    c = connections(sandbox, clock=lambda: clock.now)
    opened, _ = operations.open_incident(c, title="Search is slow", severity=3,
                                         by=Attribution("root", "CLI"))
    clock.at(3)
    operations.update_incident(c, opened.number, Change(roles={"commander": "@carol"}),
                               by=Attribution("root", "CLI"))
    figures = evidence.gather(c.tracker, c.chat, CONFIG, opened.number).timeline.figures
    assert figures.acknowledged is None
    assert figures.people == ()  # root is nobody the team configured
    (record,) = metrics.gather(c.tracker, CONFIG, since=None)
    assert record.acknowledge is None


def test_an_issue_a_person_opened_on_github_is_theirs(sandbox: Sandbox) -> None:
    clock = FakeClock(sandbox, T0)
    c = connections(sandbox, clock=lambda: clock.now)
    n = sandbox.github_open_issue("bob", "Checkout is down",
                                  "### Severity\n\nSEV2\n\n### What is happening?\n\n502s",
                                  ["incident"])
    clock.at(1)
    from incidentbot.operations import sync

    sync.sync(c.tracker, c.chat, c.pager, CONFIG, n, now=clock.now)
    clock.at(4)
    sandbox.github_comment("carol", n, "On it.")
    found = evidence.gather(c.tracker, c.chat, CONFIG, n)
    first = found.timeline.entries[0]
    assert (first.who, first.source) == ("Bob Example", "GitHub form")
    assert found.timeline.figures.time_to_acknowledge == timedelta(minutes=4)


# -- the newcomer's session, through the CLI -----------------------------------------------
@pytest.fixture
def cli_user(sandbox: Sandbox, sandbox_env: dict[str, str],
             monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI with dan's own token on a computer whose user is root (getpass reads LOGNAME
    first): changes are dan's, shown by his name in `people:`, never root's."""
    monkeypatch.setenv("LOGNAME", "root")
    monkeypatch.setenv("GITHUB_TOKEN", sandbox.env("dan")["GITHUB_TOKEN"])
    monkeypatch.delenv("INCIDENTBOT_GITHUB_LOGIN", raising=False)
    return "Dan Example"


def the_newcomer_s_incident() -> int:
    code, out = cli("open", "--title", "Checkout returns 502", "--severity", "2",
                    "--service", "checkout", "--public")
    assert code == 0, out
    n = int(out.split()[0].lstrip("#"))
    code, out = cli("update", str(n), "--note", "We are rolling back the deploy.", "--public")
    assert code == 0, out
    code, out = cli("update", str(n), "--role", "commander=@carol")
    assert code == 0, out
    return n


def printed_without_writing(sandbox: Sandbox) -> tuple[int, str]:
    """The newcomer's incident and its `postmortem --print`, checked to read only: no
    branch, no file, no pull request, no comment."""
    n = the_newcomer_s_incident()
    sandbox.clear_calls()
    code, printed = cli("postmortem", str(n), "--print")
    assert code == 0, printed
    assert sandbox.calls_to("github")
    assert [(x.method, x.path) for x in sandbox.calls_to("github") if x.method != "GET"] == []
    return n, printed


def test_the_postmortem_says_who_opened_it_and_what_the_public_read(
        sandbox: Sandbox, sandbox_env: dict[str, str], cli_user: str) -> None:
    _, printed = printed_without_writing(sandbox)
    timeline = section(printed, "timeline")
    assert re.search(r"^- ★ \*\*[^*]+\*\* \([^)]+\) · Dan Example \(CLI\): Incident opened$",
                     timeline, re.MULTILINE), timeline
    assert re.search(r"^- ★ .* · Dan Example \(CLI\): Public update: We are rolling back the "
                     r"deploy\.$", timeline, re.MULTILINE), timeline
    said = section(printed, "communication")
    assert "No public update was posted" not in said
    assert said.strip().endswith("· Dan Example (CLI): We are rolling back the deploy.")
    assert "root" not in printed
    assert "| Time to acknowledge | — |" in printed  # nobody but the opener yet


def test_print_shows_what_the_run_without_it_commits(
        sandbox: Sandbox, sandbox_env: dict[str, str], cli_user: str) -> None:
    n, printed = printed_without_writing(sandbox)
    assert "| Postmortem owner | Carol Example (@carol) |" in printed
    assert "| Reviewers | Alice Example (@alice) |" in printed
    code, out = cli("postmortem", str(n))
    assert code == 0, out
    pull = int(out.strip().rsplit("/", 1)[-1])
    c = connections(sandbox)
    found = evidence.gather(c.tracker, c.chat, CONFIG, n)
    path = pm.path_for(CONFIG, found)
    branch = f"{CONFIG.postmortem.branch_prefix}{found.name}"
    committed = c.tracker.read_file(path, branch)
    assert committed is not None and committed[0] == printed

    # What people write on the branch is kept, and --print shows it too.
    edited = committed[0].replace("## What went well\n\n- ",
                                  "## What went well\n\n- The rollback took two minutes.")
    c.tracker.write_file(path, edited, "What went well", branch)
    sandbox.clear_calls()
    code, again = cli("postmortem", str(n), "--print")
    assert code == 0 and again == edited
    assert [(x.method, x.path) for x in sandbox.calls_to("github") if x.method != "GET"] == []

    # Neither a plain issue nor a pull request has a postmortem, printed or committed.
    plain = sandbox.github_open_issue("alice", "How do I rotate my API key?", "Asking.")
    for number in (plain, pull):
        for argv in (("postmortem", str(number)), ("postmortem", str(number), "--print")):
            code, out = cli(*argv)
            assert code == 2, (argv, out)
            assert f"#{number} is not an incident" in out, (argv, out)


def test_a_description_cannot_ask_for_a_page_or_a_commander() -> None:
    forged = markers.opened("U0MALLORY1", True, {"commander": "U0MALLORY1"})
    body = f"Checkout is down {forged}\n\n" + markers.opened("U0ALICE001", False)
    asked = markers.parse_opened(body)
    assert asked == markers.Opened("U0ALICE001", False, {})
