"""Hostile text in titles, bodies, comments and names is shown literally and pings no one.

Every Slack text incidentbot builds may hold only the special sequences it made itself: a
mention of a role holder or the reporter (validated Slack ids), its incident channel, and a
link to the issue. Whatever else looks like `<!channel>`, `<@U…>`, `<#C…>` or `<url|label>`
came from someone's text and must arrive escaped (`&lt;!channel&gt;`): readable, inert.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from helpers import connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentbot.core.commands import Change as Command
from incidentbot.core.model import Status
from incidentbot.core.render import messages
from incidentbot.core.snapshot import Attribution
from incidentbot.core.text import one_line, slack, slack_plain
from incidentbot.operations import incidents as operations
from incidentbot.operations import reading, sync
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.github_records import User
from incidentbot.sandbox.slack_api import ALICE, BOB, DAN

URL = "https://github.com/acme/incidents/issues/7"
COMMENT_URL = URL + "#issuecomment-1000042"
CHANNEL = "C0SBX000001"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TEXT_MAX, TOPIC_MAX, SECTION_MAX = 40_000, 250, 3_000

HOSTILE = ("<!channel> <!here> <!everyone> <@U0BOB00001> <#C0GENERAL01> "
           "<https://evil.example|click me> &amp; &<> `code` ```block``` *bold* _it_ ~s~ "
           "> quote\nنص عربي \u202eoverride\u202c 🔥 zero\u200bwidth " + "x" * 5000)
# What Slack would turn into a notification or a link: only the bot's own may appear.
SPECIAL = re.compile(r"<(!|@|#|https?:)[^>]*>")

# One of each kind of trouble: Slack's special sequences, entities, mrkdwn, quotes, line
# breaks, sizes far past every limit, emoji, right-to-left text and overrides, invisible and
# control characters.
PIECES = [
    "<!channel>", "<!here>", "<!everyone>", "<!subteam^S0ONCALL1|@oncall>",
    f"<@{DAN}>", "<@W0ADMIN0001|the boss>", "<#C0GENERAL01>", "<#C0GENERAL01|general>",
    "<https://evil.example|click>", "<mailto:ceo@evil.example|mail me>", "<!date^0^{date}|x>",
    "&amp;", "&lt;!channel&gt;", "&<>", "<", ">", "<<!channel>>", "&", "a < b > c & d",
    "`code`", "```\n<!channel>\n```", "*bold*", "_x_", "~x~", "> quoted\n>>> all quoted",
    "one\ntwo\r\nthree\n<!here>", "\n\n\n", "   spaced   out   ",
    "x" * 50_000, "<!channel>" * 5_000, "&" * 50_000, "<" * 50_000, "🔥" * 50_000,
    "🔥🧯👩‍🚒 on fire", "نص عربي <!channel> عاجل", "\u202egninrae\u202c <!here>",
    "\u2067isolated\u2069 \u202aembedded\u202c", "zero\u200bwidth\u200c\u200d\ufeffjoin",
    "nul\x00byte bell\x07 esc\x1b[31mred\x7f",
]
SHORT = [p for p in PIECES if len(p) <= 80]
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# -- what a safe text looks like -------------------------------------------------------------
def ours(text: str) -> list[str]:
    """The special sequences the bot did not mean (its role holder, channel, issue link)."""
    allowed = {f"<@{ALICE}>", f"<#{CHANNEL}>"}
    return [m.group(0) for m in SPECIAL.finditer(text)
            if m.group(0) not in allowed and not m.group(0).startswith(
                "<https://github.com/acme/incidents/issues/7")]


# Exactly what the bot builds: a mention of the validated role holder, its channel (or the
# slot filled in when posting), a link to the issue or its comment with a fixed label.
BOT_BUILT = re.compile(
    rf"<@{ALICE}>|<#{CHANNEL}>|{re.escape(messages.CHANNEL_SLOT)}"
    r"|<https://github\.com/acme/incidents/[^\s<>|]*\|(?:#\d+|GitHub|read it)>")


def assert_safe(text: str, limit: int = TEXT_MAX) -> None:
    """No `<` left once the bot's own sequences are taken out (so no `<!`, `<@`, `<#`, `<url`
    from anyone's text), within `limit`, no bidi override or control character left raw."""
    assert len(text) <= limit, len(text)
    rest = BOT_BUILT.sub("", text)
    assert "<" not in rest, rest[max(0, rest.find("<") - 80):rest.find("<") + 80]
    assert not BIDI.search(text) and not CONTROL.search(text)


def assert_plain_safe(text: str) -> None:
    """A topic or purpose: at most 250 characters, only the bot's own mention."""
    assert len(text) <= TOPIC_MAX, len(text)
    rest = text.replace(f"<@{ALICE}>", "")
    assert "<" not in rest and ">" not in rest, text
    assert not BIDI.search(text) and not CONTROL.search(text)


def facts(title: str = "Checkout returns 502", services: tuple[str, ...] = ("Checkout",),
          *, severity: str = "SEV2", meaning: str = "Major", roles: dict[str, str] | None = None,
          channel: str | None = CHANNEL, drill: bool = False) -> messages.Facts:
    return messages.Facts(number=7, name="20261122-brave-otter", title=title, url=URL,
                          status=Status.FIXING, severity=severity, meaning=meaning,
                          services=services,
                          roles={"Incident commander": ALICE} if roles is None else roles,
                          channel_id=channel, channel_name="inc-x", drill=drill)


def every_message(title: str, body: str) -> list[str]:
    f = facts(title, (title[:30],), meaning=title[:50])
    # Whom a reminder names: a role holder (a validated Slack id, here Alice's) or a name.
    who = ALICE if messages._SLACK_ID.fullmatch(body[:20]) else body[:20]
    return [messages.topic(f), messages.summary(f, body), messages.announcement(f, False),
            messages.announcement(f, True), messages.resolution(f, NOW, NOW),
            messages.change(f, [messages.Change("status", body, title)], body[:40], body[:20]),
            messages.comment(f, body[:40], body, "https://github.com/acme/incidents/issues/7"),
            messages.comment(f, "alice", body, "https://x", update=True),
            messages.closed(f, NOW - timedelta(hours=1), NOW, None, True),
            messages.reminder(f, messages.person(who), timedelta(minutes=31), title),
            messages.no_commander(f, messages.person(who), timedelta(minutes=11))]


def posts(f: messages.Facts, body: str, who: str) -> list[str]:
    """Every message posted (not topic or purpose) with `body` and `who` as untrusted text."""
    return [
        messages.summary(f, body),
        messages.announcement(f, False), messages.announcement(f, True),
        messages.resolution(f, NOW - timedelta(minutes=42), NOW),
        messages.change(f, [messages.Change("status", body, body),
                            messages.Change("severity", body, body),
                            messages.Change("services", body, body),
                            messages.Change(body, "", ALICE),
                            messages.Change(body, ALICE, "@" + body)], who, "GitHub"),
        messages.change(f, [messages.Change("status", "open", "fixing")], who, body),
        messages.comment(f, who, body, COMMENT_URL),
        messages.comment(f, who, body, COMMENT_URL, update=True),
        messages.closed(f, NOW - timedelta(days=2), NOW, URL.replace("issues/7", "blob/x.md"),
                        True),
        messages.reopened(f, None),
    ]


# -- fixed hostile text ----------------------------------------------------------------------
def test_the_fixed_hostile_text_is_shown_literally_everywhere() -> None:
    for text in every_message(HOSTILE, HOSTILE):
        assert ours(text) == [], text[:300]
        assert len(text) <= 40_000
    summary = messages.summary(facts(HOSTILE), HOSTILE)
    assert "&lt;!channel&gt;" in summary  # escaped, not dropped: people still read it
    assert len(messages.topic(facts(HOSTILE))) <= 250


@pytest.mark.parametrize("piece", PIECES, ids=lambda p: repr(p[:24]) + f"/{len(p)}")
def test_each_hostile_piece_everywhere_is_inert(piece: str) -> None:
    f = facts(piece, (piece, "Checkout"), severity=piece, meaning=piece,
              roles={"Incident commander": ALICE, piece: "@" + piece})
    for text in posts(f, piece, piece):
        assert_safe(text)
    for update in (False, True):
        assert_safe(messages.comment(f, piece, piece, COMMENT_URL, update=update),
                    SECTION_MAX)
    for text in (messages.reminder(f, messages.person(piece), timedelta(hours=3), piece),
                 messages.no_commander(f, messages.person(piece), timedelta(minutes=11))):
        assert_safe(text, SECTION_MAX)  # posted in a section block, with a button
    assert_plain_safe(messages.topic(f))
    assert_plain_safe(messages.topic(facts(services=(piece,), severity=piece,
                                           roles={piece: "@" + piece})))
    purpose = messages.purpose(f, "incidentbot:acme/incidents#7")
    assert_plain_safe(purpose)
    assert purpose.startswith("incidentbot:acme/incidents#7 · ")  # the marker stays whole


@pytest.mark.parametrize("piece", SHORT, ids=repr)
def test_hostile_text_is_escaped_not_dropped(piece: str) -> None:
    """A person still reads what was typed: the same characters, escaped for Slack."""
    f = facts(piece, (piece,), severity=piece)
    title = slack(one_line(piece))
    for text in (messages.summary(f, ""), messages.announcement(f, False),
                 messages.resolution(f, NOW, NOW)):
        assert title in text
    assert slack(piece.strip()) in messages.summary(facts(), piece)
    assert slack(piece.strip()) in messages.comment(f, "bob", piece, COMMENT_URL)
    assert f"*{slack(one_line(piece))}* commented" in messages.comment(f, piece, "hi", URL)
    assert f"{slack(one_line(piece))} changed" in messages.change(
        f, [messages.Change("status", "open", "fixing")], piece, "GitHub")
    assert slack_plain(piece) in messages.topic(facts(services=(piece,), roles={}))
    assert slack_plain(piece) in messages.purpose(f, "incidentbot:acme/incidents#7")


def test_the_well_known_sequences_read_as_typed() -> None:
    f = facts("<!channel> &amp; <@U0ALICE001> \u202ex 🔥 \x00")
    summary = messages.summary(f, "<https://evil.example|click> &<> ```")
    assert "&lt;!channel&gt; &amp;amp; &lt;@U0ALICE001&gt; \ufffdx 🔥 ␀" in summary
    assert "&lt;https://evil.example|click&gt; &amp;&lt;&gt; ```" in summary
    assert summary.count("<@U0ALICE001>") == 1  # the commander, from the roles
    topic = messages.topic(facts(services=("<!here> & co",)))
    assert "‹!here› & co" in topic


def test_a_title_with_emphasis_marks_is_not_wrapped_in_ours() -> None:
    # mrkdwn cannot escape `*`: ours around "*50%* of checkouts" would pair with the title's.
    assert messages.summary(facts("Checkout down"), "").splitlines()[0] \
        == ":rotating_light: *Checkout down*"
    for title in ("*50%* of checkouts fail", "pay_service down", "`deploy` stuck", "~flaky~"):
        assert messages.summary(facts(title), "").splitlines()[0] \
            == f":rotating_light: {title}"


def test_long_text_is_cut_within_slack_limits_and_never_mid_entity() -> None:
    f = facts("&" * 50_000, ("<" * 50_000,) * 3, severity="&" * 50_000,
              meaning="<" * 50_000, roles={"Incident commander": ALICE, "&" * 50_000: "x"})
    for text in posts(f, "<" * 50_000, "&" * 50_000):
        assert_safe(text)
        assert re.sub(r"&(amp|lt|gt);", "", text).count("&") == 0  # no `&am…` left over
    assert len(messages.comment(f, "bob", "<" * 50_000, COMMENT_URL)) <= SECTION_MAX
    assert len(messages.topic(f)) <= TOPIC_MAX
    assert messages.topic(f).endswith(URL)  # the link is kept whole


def test_a_login_that_looks_like_a_slack_id_pings_no_one() -> None:
    """A GitHub account may be called `U0DAN00001`: from GitHub or the CLI it is a name."""
    f = facts()
    for source in ("GitHub", "CLI", "drill"):
        text = messages.change(f, [messages.Change("status", "open", "fixing")], DAN, source)
        assert f"<@{DAN}>" not in text and f"{DAN} changed" in text
    from_slack = messages.change(f, [messages.Change("status", "open", "fixing")], DAN,
                                 "Slack")
    assert from_slack.startswith(f":arrows_counterclockwise: <@{DAN}> changed")
    assert messages.person("WALDO") == "WALDO"  # too short for a Slack id
    assert messages.person(ALICE) == f"<@{ALICE}>"


# -- any text at all -------------------------------------------------------------------------
FAST = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TEXT = st.text()
NOT_AN_ID = st.text().filter(lambda s: not messages._SLACK_ID.fullmatch(s))
ID_LIKE = st.from_regex(r"[UW][A-Z0-9]{6,10}", fullmatch=True)


@st.composite
def any_facts(draw: st.DrawFn) -> messages.Facts:
    holders = st.one_of(st.just(ALICE), NOT_AN_ID)
    return messages.Facts(
        number=draw(st.integers(1, 10**6)), name="n", title=draw(TEXT), url=URL,
        status=draw(st.sampled_from(list(Status))), severity=draw(TEXT), meaning=draw(TEXT),
        services=tuple(draw(st.lists(TEXT, max_size=3))),
        roles=draw(st.dictionaries(TEXT, holders, max_size=3)),
        channel_id=draw(st.sampled_from([None, CHANNEL])), channel_name=None,
        drill=draw(st.booleans()))


@FAST
@given(any_facts(), TEXT, st.booleans())
def test_any_incident_message_is_safe(f: messages.Facts, description: str,
                                      resolved: bool) -> None:
    assert_safe(messages.summary(f, description))
    assert_safe(messages.announcement(f, resolved))
    assert_safe(messages.resolution(f, NOW - timedelta(minutes=5), NOW))
    assert_safe(messages.closed(f, NOW - timedelta(minutes=5), NOW, None, resolved))
    assert_safe(messages.reopened(f, None))
    assert_plain_safe(messages.topic(f))
    purpose = messages.purpose(f, "incidentbot:acme/incidents#7")
    assert_plain_safe(purpose)
    assert purpose.startswith("incidentbot:acme/incidents#7")


@FAST
@given(any_facts(), st.lists(st.tuples(TEXT, TEXT, st.one_of(st.just(ALICE), NOT_AN_ID)),
                             max_size=4),
       st.one_of(TEXT, ID_LIKE), TEXT)
def test_any_change_is_safe(f: messages.Facts, changes: list[tuple[str, str, str]],
                            by: str, source: str) -> None:
    listed = [messages.Change(what, before, after) for what, before, after in changes]
    listed.append(messages.Change("status", changes[0][1] if changes else "", "fixing"))
    # From GitHub (or any source but Slack) `by` is a login: never a mention, whatever it is.
    assert_safe(messages.change(f, listed, by, "GitHub"))
    if source.strip().lower() != "slack":
        assert_safe(messages.change(f, listed, by, source))
    assert_safe(messages.change(f, listed, ALICE, "Slack"))


@FAST
@given(any_facts(), st.one_of(TEXT, st.just("")), TEXT, st.booleans())
def test_any_comment_is_safe(f: messages.Facts, author: str, body: str, update: bool) -> None:
    if update and messages._SLACK_ID.fullmatch(author):
        author = ALICE  # a note's author: a Slack id the dispatcher validated
    assert_safe(messages.comment(f, author, body, COMMENT_URL, update=update), SECTION_MAX)


@FAST
@given(any_facts(), st.one_of(st.just(ALICE), NOT_AN_ID), TEXT,
       st.integers(0, 10**7).map(lambda m: timedelta(minutes=m)))
def test_any_reminder_is_safe(f: messages.Facts, who: str, severity: str,
                              since: timedelta) -> None:
    mention = messages.person(who)
    assert_safe(messages.reminder(f, mention, since, severity), SECTION_MAX)
    assert_safe(messages.no_commander(f, mention, since), SECTION_MAX)


@FAST
@given(TEXT)
def test_any_person_is_a_mention_only_for_a_slack_id(ref: str) -> None:
    shown = messages.person(ref)
    if messages._SLACK_ID.fullmatch(ref):
        assert shown == f"<@{ref}>"
    else:
        assert "<" not in shown and ">" not in shown and len(shown) <= messages.NAME_MAX


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300))
def test_any_text_produces_no_special_sequence(title: str, body: str) -> None:
    for text in every_message(title, body):
        assert ours(text) == []
    assert len(messages.topic(facts(title))) <= 250


# -- end to end on the sandbox ---------------------------------------------------------------
TITLE = ("<!channel> <!here> <!everyone> <@U0DAN00001> <#C0GENERAL01> "
         "<https://evil.example|click> &amp; &<> ``` *b* _i_ ~s~ > q نص عربي "
         "\u202eRLO\u202c zero\u200bwidth 🔥 nul\x00")
BODY = "\n".join(SHORT) + "\n" + "<!channel>" * 3_000 + "\n" + "x" * 20_000


def bot_texts(sandbox: Sandbox) -> dict[str, list[str]]:
    """Every message the bot posted, by channel name (thread replies included)."""
    return {ch["name"]: [m["text"] for m in sandbox.slack.messages(cid) if "bot_id" in m]
            for cid, ch in sandbox.slack.state.channels.items()}


def test_hostile_text_on_the_sandbox_notifies_nobody(sandbox: Sandbox) -> None:
    c = connections(sandbox)
    # A collaborator whose GitHub login is Dan's Slack user id, relabelling by a command.
    store = sandbox.github.store
    store.users[DAN.lower()] = User(DAN, 9191, "User", "Not Dan")
    store.collaborators.append(DAN)

    issue, outcome = operations.open_incident(
        c, title=TITLE, severity=2, services=["checkout"], description=BODY, reporter=ALICE,
        request_id="hostile")
    number = issue.number
    sandbox.github_comment("bob", number, BODY)
    sandbox.github_comment(DAN, number, "/status fixing")
    sync.sync(c.tracker, c.chat, c.pager, c.config, number)
    operations.update_incident(c, number, Command(roles={"commander": BOB}), note=BODY,
                               by=Attribution(BOB, "Slack"))

    card = reading.read(c.tracker, number, c.config).card
    assert card.channel_id is not None
    channel = sandbox.slack.state.channels[card.channel_id]
    announced = sandbox.slack.channel_by_name("incidents")
    assert announced is not None
    posted = bot_texts(sandbox)
    assert len(posted[channel["name"]]) >= 5 and posted["incidents"]
    allowed = {ALICE, BOB}  # the reporter and the commander the test named
    for name, texts in posted.items():
        for text in texts:
            assert len(text) <= TEXT_MAX
            assert not re.search(r"<!(channel|here|everyone|subteam)", text), (name, text[:300])
            mentioned = set(re.findall(r"<@([A-Z0-9]+)", text))
            assert mentioned <= allowed, (name, mentioned, text[:300])
            rest = re.sub(r"<@(U0ALICE001|U0BOB00001)>|<#C[A-Z0-9]+>"
                          r"|<https://github\.com/acme/incidents/[^\s<>|]*\|[^<>]*>", "", text)
            assert "<" not in rest, (name, rest[:300])
            assert not BIDI.search(text) and "\x00" not in text
    summary = posted[channel["name"]][0]
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt;" in summary  # read, not dropped
    assert any(f"{DAN} changed status *open* → *fixing* (via GitHub)" in t
               for t in posted[channel["name"]])
    assert any(t.startswith(":speech_balloon: *Bob Example* commented") and "&lt;!here&gt;" in t
               for t in posted[channel["name"]])
    topic, purpose = channel["topic"]["value"], channel["purpose"]["value"]
    assert len(topic) <= TOPIC_MAX and len(purpose) <= TOPIC_MAX
    for value in (topic, purpose):
        assert "<!" not in value and set(re.findall(r"<@([A-Z0-9]+)", value)) <= allowed
    assert outcome.card is not None and outcome.card.channel_id == card.channel_id


# -- issue 15: the flow's new pieces (role descriptions, latest update, on-call, blocks) ------
@pytest.mark.parametrize("piece", PIECES, ids=lambda p: repr(p[:24]) + f"/{len(p)}")
def test_the_flows_new_pieces_stay_inert(piece: str) -> None:
    import json
    from dataclasses import replace

    from incidentbot.core import notify
    from incidentbot.core.card import CardState
    from incidentbot.core.oncall import lines
    from incidentbot.core.render import blocks

    f = replace(facts(piece, (piece[:30],), severity=piece[:20]),
                role_notes={"Incident commander": piece}, latest_update=piece,
                commander=ALICE, opened_at=NOW, closed_at=NOW,
                extra_lines=tuple(lines(CardState(name="x", oncall={"P1": {
                    "name": piece, "email": "x@example.com", "policy": piece}}), {})))
    assert_safe(messages.summary(f, piece))
    text = messages.announcement(f, False)
    for block in blocks.announcement(f, text):
        assert_safe(json.dumps(block, ensure_ascii=False).replace("<!date^", "date^"))
    card = notify.teams(f, "notify:x:0:0", 0)
    assert "<" not in card["title"].replace("\\<", "")
