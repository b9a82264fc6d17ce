"""The Slack emulator through the real slack-sdk WebClient: each rule once, good path and error."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from incidentbot.sandbox import DEFAULTS, Sandbox
from incidentbot.sandbox.http import Request
from incidentbot.sandbox.slack_api import (
    ALICE,
    BOB,
    BOT_USER_ID,
    CAROL,
    DAN,
    ERIN,
    GENERAL,
    INCIDENTS,
    SECURITY,
    WORKSPACE,
    SlackEmulator,
    SlackError,
)

T0 = 1_700_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def error_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The SlackApiError's response for a call that must fail."""
    with pytest.raises(SlackApiError) as info:
        call(*args, **kwargs)
    return info.value.response


def raw(sandbox: Sandbox, method: str, body: bytes, content_type: str,
        token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(sandbox.slack_url + method, data=body, headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def new_channel(slack: WebClient, name: str = "inc-test", **kwargs: Any) -> str:
    return str(slack.conversations_create(name=name, **kwargs)["channel"]["id"])


# -- auth, transport --------------------------------------------------------------------------
def test_auth_test_names_the_bot(slack: WebClient) -> None:
    data = slack.auth_test().data
    assert data == {"ok": True, "url": "https://acme.slack.com/", "team": "Acme",
                    "user": "incidentbot", "team_id": "T0SANDBOX", "user_id": BOT_USER_ID,
                    "bot_id": "B0SANDBOX", "is_enterprise_install": False}


def test_missing_and_wrong_tokens_are_refused(sandbox: Sandbox) -> None:
    assert error_of(WebClient(base_url=sandbox.slack_url).auth_test)["error"] == "not_authed"
    wrong = WebClient(token="xoxb-wrong", base_url=sandbox.slack_url)
    assert error_of(wrong.auth_test)["error"] == "invalid_auth"


def test_unknown_method_is_a_404_slack_sdk_understands(slack: WebClient) -> None:
    response = error_of(slack.api_call, "chat.teleport")
    assert response.status_code == 404
    assert response.data == {"ok": False, "error": "unknown_method",
                             "req_method": "chat.teleport"}


def test_form_bodies_with_a_token_field_and_json_bodies_both_work(sandbox: Sandbox) -> None:
    token = DEFAULTS["SLACK_BOT_TOKEN"]
    blocks = json.dumps([{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}])
    form = urllib.parse.urlencode({"token": token, "channel": INCIDENTS, "text": "form",
                                   "blocks": blocks, "unfurl_links": "0"}).encode()
    status, data = raw(sandbox, "chat.postMessage", form, "application/x-www-form-urlencoded")
    assert status == 200 and data["ok"], data
    assert data["message"]["blocks"][0]["text"]["text"] == "*hi*"
    body = json.dumps({"channel": INCIDENTS, "text": "json", "thread_ts": data["ts"],
                       "reply_broadcast": True}).encode()
    status, reply = raw(sandbox, "chat.postMessage", body, "application/json", token)
    assert reply["ok"] and reply["message"]["subtype"] == "thread_broadcast"
    form = urllib.parse.urlencode({"token": token, "name": "inc-form", "is_private": "true"})
    assert raw(sandbox, "conversations.create", form.encode(),
               "application/x-www-form-urlencoded")[1]["channel"]["is_private"] is True
    status, data = raw(sandbox, "auth.test", b"{not json", "application/json", token)
    assert data == {"ok": False, "error": "invalid_json"}


# -- channel names ----------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "code"), [
    ("", "invalid_name_required"),
    ("x" * 81, "invalid_name_maxlength"),
    ("Inc-1", "invalid_name_specials"),
    ("inc 1", "invalid_name_specials"),
    ("inc.1", "invalid_name_specials"),
    ("#inc", "invalid_name_specials"),
    ("-_-", "invalid_name_punctuation"),
])
def test_conversations_create_enforces_slack_naming(slack: WebClient, name: str,
                                                    code: str) -> None:
    assert error_of(slack.conversations_create, name=name)["error"] == code


def _create_directly(name: str) -> dict[str, Any]:
    emulator = SlackEmulator(token="t")
    body = urllib.parse.urlencode({"name": name}).encode()
    response = emulator.handle(Request("POST", "/api/conversations.create", {},
                                       {"content-type": "application/x-www-form-urlencoded",
                                        "authorization": "Bearer t"}, body, "http://x"))
    result: dict[str, Any] = json.loads(response.body)
    return result


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(alphabet="abz09_-", max_size=82),
                 st.text(alphabet="abz09_-A .#é", max_size=12),
                 st.text(max_size=10)))
def test_a_name_is_accepted_iff_it_is_lowercase_alnum_dash_underscore(name: str) -> None:
    # https://docs.slack.dev/reference/methods/conversations.create#naming, plus
    # invalid_name_punctuation for a name of only "-" and "_".
    assume(name not in {"incidents", "general", "security-incidents"})  # seeded: name_taken
    valid = re.fullmatch(r"[a-z0-9_-]{1,80}", name) is not None and re.search(r"[a-z0-9]", name)
    result = _create_directly(name)
    assert result["ok"] is bool(valid), (name, result)
    if valid:
        assert result["channel"]["name"] == name
    else:
        assert result["error"].startswith("invalid_name")


def test_name_taken_covers_existing_and_archived_channels(slack: WebClient) -> None:
    assert error_of(slack.conversations_create, name="general")["error"] == "name_taken"
    slack.conversations_archive(channel=new_channel(slack, "inc-old"))
    assert error_of(slack.conversations_create, name="inc-old")["error"] == "name_taken"


def test_new_channels_get_deterministic_ids_and_the_bot_as_member(
        slack: WebClient, sandbox: Sandbox) -> None:
    created = slack.conversations_create(name="inc-a")["channel"]
    assert re.fullmatch(r"C[A-Z0-9]{10}", created["id"]) and created["is_member"] is True
    assert created["creator"] == BOT_USER_ID and created["is_private"] is False
    second = new_channel(slack, "inc-b")
    assert second > created["id"]
    assert [m["subtype"] for m in sandbox.slack.messages(second)] == ["channel_join"]


# -- conversations.info / list / members ------------------------------------------------------
def test_conversations_info(slack: WebClient) -> None:
    channel = slack.conversations_info(channel=INCIDENTS, include_num_members=True)["channel"]
    assert (channel["name"], channel["is_member"], channel["is_archived"],
            channel["num_members"]) == ("incidents", True, False, 3)
    assert set(channel["topic"]) == {"value", "creator", "last_set"}
    assert "num_members" not in slack.conversations_info(channel=GENERAL)["channel"]
    assert slack.conversations_info(channel=GENERAL)["channel"]["is_member"] is False
    assert error_of(slack.conversations_info, channel="C0NOPE00000")["error"] == \
        "channel_not_found"


def test_a_private_channel_is_invisible_once_the_bot_leaves(slack: WebClient) -> None:
    private = new_channel(slack, "inc-secret", is_private=True)
    slack.conversations_invite(channel=private, users=ALICE)
    slack.conversations_leave(channel=private)
    assert error_of(slack.conversations_info, channel=private)["error"] == "channel_not_found"
    names = {c["name"] for c in slack.conversations_list(
        types="public_channel,private_channel")["channels"]}
    assert "inc-secret" not in names and "security-incidents" in names


def test_conversations_list_filters_and_paginates(slack: WebClient) -> None:
    slack.conversations_archive(channel=new_channel(slack, "inc-archived"))
    public = [c["name"] for c in slack.conversations_list()["channels"]]
    assert public == ["incidents", "general", "inc-archived"]
    both = slack.conversations_list(types="public_channel,private_channel",
                                    exclude_archived=True)
    assert [c["name"] for c in both["channels"]] == ["incidents", "general",
                                                     "security-incidents"]
    seen, cursor, pages = [], "", 0
    while True:
        page = slack.conversations_list(types="public_channel,private_channel", limit=1,
                                        cursor=cursor)
        seen += [c["id"] for c in page["channels"]]
        cursor, pages = page["response_metadata"]["next_cursor"], pages + 1
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == pages == 4
    assert error_of(slack.conversations_list, cursor="bm9wZQ==")["error"] == "invalid_cursor"
    assert error_of(slack.conversations_list, types="channels")["error"] == "invalid_types"


def test_conversations_members_paginates(slack: WebClient) -> None:
    first = slack.conversations_members(channel=INCIDENTS, limit=2)
    assert first["members"] == [BOT_USER_ID, ALICE]
    rest = slack.conversations_members(channel=INCIDENTS,
                                       cursor=first["response_metadata"]["next_cursor"])
    assert rest["members"] == [BOB] and rest["response_metadata"]["next_cursor"] == ""


# -- topic, purpose, rename -------------------------------------------------------------------
def test_set_topic_and_purpose(slack: WebClient, sandbox: Sandbox) -> None:
    sandbox.slack.clock = Clock()
    topic = slack.conversations_setTopic(channel=INCIDENTS, topic="SEV2 · fixing")["channel"]
    assert topic["topic"] == {"value": "SEV2 · fixing", "creator": BOT_USER_ID,
                              "last_set": int(T0)}
    slack.conversations_setPurpose(channel=INCIDENTS, purpose="Checkout is down")
    history = slack.conversations_history(channel=INCIDENTS)["messages"]
    assert [(m["subtype"], m["text"]) for m in history] == [
        ("channel_purpose", "set the channel description: Checkout is down"),
        ("channel_topic", "set the channel topic: SEV2 · fixing")]
    assert error_of(slack.conversations_setTopic, channel=INCIDENTS,
                    topic="x" * 251)["error"] == "too_long"
    assert error_of(slack.conversations_setTopic, channel=GENERAL,
                    topic="hi")["error"] == "not_in_channel"
    missing = error_of(slack.api_call, "conversations.setTopic", params={"channel": INCIDENTS})
    assert missing["error"] == "invalid_arguments"
    assert missing["response_metadata"]["messages"] == ["[ERROR] missing required field: topic"]


def test_rename(slack: WebClient) -> None:
    channel = new_channel(slack, "inc-1")
    renamed = slack.conversations_rename(channel=channel, name="inc-1-checkout")["channel"]
    assert renamed["name"] == "inc-1-checkout" and renamed["previous_names"] == ["inc-1"]
    assert error_of(slack.conversations_rename, channel=channel,
                    name="incidents")["error"] == "name_taken"
    assert error_of(slack.conversations_rename, channel=channel,
                    name="Inc 1")["error"] == "invalid_name_specials"
    assert error_of(slack.conversations_rename, channel=GENERAL,
                    name="lobby")["error"] == "not_in_channel"


# -- membership -------------------------------------------------------------------------------
def test_invite(slack: WebClient, sandbox: Sandbox) -> None:
    channel = new_channel(slack)
    slack.conversations_invite(channel=channel, users=[ALICE, BOB])
    assert sandbox.slack.channel_by_name("inc-test")["members"] == [BOT_USER_ID, ALICE, BOB]
    joins = [m for m in sandbox.slack.messages(channel) if m.get("inviter")]
    assert [(m["user"], m["subtype"]) for m in joins] == [(ALICE, "channel_join"),
                                                          (BOB, "channel_join")]
    # Some already in: the others are still invited.
    slack.conversations_invite(channel=channel, users=f"{ALICE},{CAROL}")
    assert CAROL in sandbox.slack.channel_by_name("inc-test")["members"]
    # All already in: already_in_channel, listed per user.
    everyone = error_of(slack.conversations_invite, channel=channel, users=[ALICE, BOB])
    assert everyone["error"] == "already_in_channel"
    assert everyone["errors"] == [
        {"user": ALICE, "ok": False, "error": "already_in_channel"},
        {"user": BOB, "ok": False, "error": "already_in_channel"}]


@pytest.mark.parametrize(("users", "code"), [
    (f"{DAN},U0NOBODY01", "user_not_found"),
    (f"{DAN},{BOT_USER_ID}", "cant_invite_self"),
    (f"{DAN},{ERIN}", "cant_invite"),
    ("", "no_user"),
])
def test_invite_refuses_bad_users(slack: WebClient, users: str, code: str) -> None:
    channel = new_channel(slack)
    response = error_of(slack.conversations_invite, channel=channel, users=users)
    assert response["error"] == code
    assert DAN not in slack.conversations_members(channel=channel)["members"]


def test_invite_with_force_skips_invalid_users(slack: WebClient) -> None:
    channel = new_channel(slack)
    result = slack.conversations_invite(channel=channel, users=f"{DAN},U0NOBODY01", force=True)
    assert result["errors"] == [{"user": "U0NOBODY01", "ok": False, "error": "user_not_found"}]
    assert DAN in slack.conversations_members(channel=channel)["members"]


def test_invite_needs_membership_and_a_live_channel(slack: WebClient) -> None:
    assert error_of(slack.conversations_invite, channel=GENERAL,
                    users=DAN)["error"] == "not_in_channel"
    channel = new_channel(slack)
    slack.conversations_archive(channel=channel)
    assert error_of(slack.conversations_invite, channel=channel,
                    users=DAN)["error"] == "is_archived"


def test_join_leave_kick(slack: WebClient) -> None:
    assert slack.conversations_join(channel=GENERAL)["channel"]["is_member"] is True
    again = slack.conversations_join(channel=GENERAL)
    assert again["warning"] == "already_in_channel"
    assert error_of(slack.conversations_join, channel=SECURITY)["error"] == \
        "method_not_supported_for_channel_type"
    assert error_of(slack.conversations_leave, channel=GENERAL)["error"] == "cant_leave_general"
    channel = new_channel(slack)
    slack.conversations_invite(channel=channel, users=[ALICE, BOB])
    assert slack.conversations_kick(channel=channel, user=BOB)["ok"]
    assert error_of(slack.conversations_kick, channel=channel, user=BOB)["error"] == \
        "not_in_channel"
    assert error_of(slack.conversations_kick, channel=channel, user=BOT_USER_ID)["error"] == \
        "cant_kick_self"
    assert slack.conversations_leave(channel=channel).data == {"ok": True}
    assert slack.conversations_leave(channel=channel).data == {"ok": True,
                                                               "not_in_channel": True}
    assert slack.conversations_members(channel=channel)["members"] == [ALICE]


# -- archive ----------------------------------------------------------------------------------
def test_archive_and_unarchive(slack: WebClient) -> None:
    channel = new_channel(slack)
    ts = slack.chat_postMessage(channel=channel, text="before")["ts"]
    assert slack.conversations_archive(channel=channel).data == {"ok": True}
    assert slack.conversations_info(channel=channel)["channel"]["is_archived"] is True
    assert error_of(slack.conversations_archive, channel=channel)["error"] == "already_archived"
    assert error_of(slack.chat_postMessage, channel=channel, text="x")["error"] == "is_archived"
    assert error_of(slack.conversations_setTopic, channel=channel,
                    topic="x")["error"] == "is_archived"
    assert error_of(slack.chat_update, channel=channel, ts=ts,
                    text="x")["error"] == "is_inactive"
    assert error_of(slack.reactions_add, channel=channel, timestamp=ts,
                    name="eyes")["error"] == "is_archived"
    # Reading still works.
    assert slack.conversations_history(channel=channel)["messages"][0]["subtype"] == \
        "channel_archive"
    # Slack documents that bot tokens cannot unarchive; only a person can, in the app.
    assert error_of(slack.conversations_unarchive, channel=channel)["error"] == \
        "restricted_action"
    fresh = new_channel(slack, "inc-fresh")
    assert error_of(slack.conversations_unarchive, channel=fresh)["error"] == "not_archived"
    slack.conversations_join(channel=GENERAL)
    assert error_of(slack.conversations_archive, channel=GENERAL)["error"] == \
        "cant_archive_general"


# -- history and threads ----------------------------------------------------------------------
def test_history_pages_newest_first_over_250_messages(slack: WebClient,
                                                      sandbox: Sandbox) -> None:
    sandbox.slack.clock = Clock()
    posted = [sandbox.slack.post_as(ALICE, INCIDENTS, f"m{i}") for i in range(250)]
    assert posted == sorted(posted) and len(set(posted)) == 250
    assert posted[0] == "1700000000.000000" and posted[1] == "1700000000.000100"
    pages, cursor = [], ""
    while True:
        page = slack.conversations_history(channel=INCIDENTS, limit=100, cursor=cursor)
        pages.append([m["ts"] for m in page["messages"]])
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] is bool(cursor)
        if not cursor:
            break
    assert [len(p) for p in pages] == [100, 100, 50]
    assert [ts for page in pages for ts in page] == posted[::-1]


def test_history_window_oldest_latest_inclusive(slack: WebClient, sandbox: Sandbox) -> None:
    sandbox.slack.clock = Clock()
    ts = [sandbox.slack.post_as(ALICE, INCIDENTS, f"m{i}") for i in range(5)]

    def window(**kwargs: Any) -> list[str]:
        return [m["ts"] for m in slack.conversations_history(channel=INCIDENTS,
                                                             **kwargs)["messages"]]

    assert window(oldest=ts[1], latest=ts[3]) == [ts[2]]
    assert window(oldest=ts[1], latest=ts[3], inclusive=True) == [ts[3], ts[2], ts[1]]
    assert window(oldest=ts[3]) == [ts[4]]
    assert error_of(slack.conversations_history, channel=INCIDENTS,
                    oldest="yesterday")["error"] == "invalid_ts_oldest"
    assert error_of(slack.conversations_history, channel=GENERAL)["error"] == "not_in_channel"


def test_threads(slack: WebClient, sandbox: Sandbox) -> None:
    parent = slack.chat_postMessage(channel=INCIDENTS, text="Incident opened")["ts"]
    first = slack.chat_postMessage(channel=INCIDENTS, text="update 1", thread_ts=parent)["ts"]
    sandbox.slack.post_as(ALICE, INCIDENTS, "on it", thread_ts=parent)
    # A reply's ts joins the parent's thread; a broadcast also shows in the channel.
    slack.chat_postMessage(channel=INCIDENTS, text="fixed", thread_ts=first,
                           reply_broadcast=True)
    history = slack.conversations_history(channel=INCIDENTS)["messages"]
    assert [m["text"] for m in history] == ["fixed", "Incident opened"]
    top = history[1]
    assert (top["reply_count"], top["reply_users"], top["reply_users_count"]) == (
        3, [BOT_USER_ID, ALICE], 2)
    thread = slack.conversations_replies(channel=INCIDENTS, ts=first)["messages"]
    assert [m["text"] for m in thread] == ["Incident opened", "update 1", "on it", "fixed"]
    assert all(m["thread_ts"] == parent for m in thread)
    assert thread[1]["parent_user_id"] == BOT_USER_ID
    assert [m["is_reply"] for m in sandbox.slack.messages(INCIDENTS)] == [
        False, True, True, True]
    assert error_of(slack.conversations_replies, channel=INCIDENTS,
                    ts="1.000001")["error"] == "thread_not_found"
    assert error_of(slack.chat_postMessage, channel=INCIDENTS, text="x",
                    thread_ts="yesterday")["error"] == "invalid_thread_ts"


# -- chat -------------------------------------------------------------------------------------
def test_post_message_by_id_or_name(slack: WebClient) -> None:
    for channel in (INCIDENTS, "#incidents", "incidents"):
        result = slack.chat_postMessage(channel=channel, text="hello", unfurl_links=False)
        assert result["channel"] == INCIDENTS
        assert result["message"]["bot_id"] == "B0SANDBOX"
        assert result["message"]["user"] == BOT_USER_ID
    assert error_of(slack.chat_postMessage, channel=GENERAL, text="x")["error"] == \
        "not_in_channel"
    assert error_of(slack.chat_postMessage, channel="#nowhere", text="x")["error"] == \
        "channel_not_found"


def test_post_message_content_rules(slack: WebClient, sandbox: Sandbox) -> None:
    # api_call, because chat_postMessage itself warns about a missing text.
    assert error_of(slack.api_call, "chat.postMessage",
                    json={"channel": INCIDENTS})["error"] == "no_text"
    long = slack.chat_postMessage(channel=INCIDENTS, text="x" * 40_001)
    assert long["warning"] == "message_truncated"
    assert len(sandbox.slack.messages(INCIDENTS)[-1]["text"]) == 40_000
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "ok"}}
    cases = [
        ([section] * 51, "[json-pointer:/blocks]"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}],
         "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"),
        ([section, {"text": {"type": "mrkdwn", "text": "no type"}}],
         "missing required field: type [json-pointer:/blocks/1]"),
    ]
    for blocks, message in cases:
        response = error_of(slack.chat_postMessage, channel=INCIDENTS, text="t", blocks=blocks)
        assert response["error"] == "invalid_blocks"
        assert any(message in m for m in response["response_metadata"]["messages"]), response
    assert slack.chat_postMessage(channel=INCIDENTS, text="t", blocks=[section] * 50)["ok"]


def test_metadata_shows_only_when_asked(slack: WebClient) -> None:
    metadata = {"event_type": "incident_card", "event_payload": {"issue": 7}}
    slack.chat_postMessage(channel=INCIDENTS, text="card", metadata=metadata)
    assert "metadata" not in slack.conversations_history(channel=INCIDENTS)["messages"][0]
    full = slack.conversations_history(channel=INCIDENTS, include_all_metadata=True)
    assert full["messages"][0]["metadata"] == metadata


def test_update(slack: WebClient, sandbox: Sandbox) -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "card"}}
    ts = slack.chat_postMessage(channel=INCIDENTS, text="v1", blocks=[section])["ts"]
    updated = slack.chat_update(channel=INCIDENTS, ts=ts, text="v2")
    assert (updated["ts"], updated["text"], updated["message"]["blocks"]) == (ts, "v2",
                                                                              [section])
    assert updated["message"]["edited"]["user"] == BOT_USER_ID
    cleared = slack.chat_update(channel=INCIDENTS, ts=ts, text="v3", blocks=[])
    assert "blocks" not in cleared["message"]
    assert error_of(slack.chat_update, channel=INCIDENTS, ts="1700000000.999999",
                    text="x")["error"] == "message_not_found"
    human = sandbox.slack.post_as(ALICE, INCIDENTS, "mine")
    assert error_of(slack.chat_update, channel=INCIDENTS, ts=human,
                    text="x")["error"] == "cant_update_message"


def test_post_ephemeral(slack: WebClient, sandbox: Sandbox) -> None:
    shown = slack.chat_postEphemeral(channel=INCIDENTS, user=ALICE, text="only you")
    assert re.fullmatch(r"\d{10}\.\d{6}", shown["message_ts"])
    assert sandbox.slack.ephemerals == [{"channel": INCIDENTS, "user": ALICE,
                                         "message_ts": shown["message_ts"], "thread_ts": None,
                                         "text": "only you"}]
    assert sandbox.slack.messages(INCIDENTS) == []
    assert error_of(slack.chat_postEphemeral, channel=INCIDENTS, user=CAROL,
                    text="x")["error"] == "user_not_in_channel"
    assert error_of(slack.chat_postEphemeral, channel=INCIDENTS, user="U0NOBODY01",
                    text="x")["error"] == "user_not_found"


def test_permalinks(slack: WebClient) -> None:
    ts = slack.chat_postMessage(channel=INCIDENTS, text="p")["ts"]
    link = slack.chat_getPermalink(channel=INCIDENTS, message_ts=ts)["permalink"]
    assert link == f"https://acme.slack.com/archives/{INCIDENTS}/p{ts.replace('.', '')}"
    reply = slack.chat_postMessage(channel=INCIDENTS, text="r", thread_ts=ts)["ts"]
    assert slack.chat_getPermalink(channel=INCIDENTS, message_ts=reply)["permalink"].endswith(
        f"?thread_ts={ts}&cid={INCIDENTS}")
    assert error_of(slack.chat_getPermalink, channel=INCIDENTS,
                    message_ts="1.000000")["error"] == "message_not_found"


# -- bookmarks, pins, reactions ---------------------------------------------------------------
def test_bookmarks(slack: WebClient) -> None:
    added = slack.bookmarks_add(channel_id=INCIDENTS, title="Issue #7", type="link",
                                link="https://github.com/acme/incidents/issues/7")["bookmark"]
    assert added["id"].startswith("Bk") and added["channel_id"] == INCIDENTS
    listed = slack.bookmarks_list(channel_id=INCIDENTS)["bookmarks"]
    assert [b["title"] for b in listed] == ["Issue #7"]
    assert error_of(slack.bookmarks_add, channel_id=INCIDENTS, title="x", type="link",
                    link="ftp://example.com")["error"] == "invalid_link"
    assert error_of(slack.bookmarks_add, channel_id=INCIDENTS, title="", type="link",
                    link="https://example.com")["error"] == "invalid_arguments"
    assert error_of(slack.bookmarks_add, channel_id=INCIDENTS, title="x", type="folder",
                    link="https://example.com")["error"] == "invalid_bookmark_type"
    slack.bookmarks_remove(channel_id=INCIDENTS, bookmark_id=added["id"])
    assert slack.bookmarks_list(channel_id=INCIDENTS)["bookmarks"] == []
    assert error_of(slack.bookmarks_remove, channel_id=INCIDENTS,
                    bookmark_id=added["id"])["error"] == "not_found"


def test_pins(slack: WebClient) -> None:
    ts = slack.chat_postMessage(channel=INCIDENTS, text="root cause found")["ts"]
    assert slack.pins_add(channel=INCIDENTS, timestamp=ts)["ok"]
    assert error_of(slack.pins_add, channel=INCIDENTS, timestamp=ts)["error"] == \
        "already_pinned"
    [item] = slack.pins_list(channel=INCIDENTS)["items"]
    assert (item["type"], item["message"]["ts"], item["created_by"]) == ("message", ts,
                                                                          BOT_USER_ID)
    assert slack.conversations_history(channel=INCIDENTS)["pin_count"] == 1
    slack.pins_remove(channel=INCIDENTS, timestamp=ts)
    assert error_of(slack.pins_remove, channel=INCIDENTS, timestamp=ts)["error"] == "not_pinned"
    assert error_of(slack.pins_add, channel=INCIDENTS,
                    timestamp="1700000000.999999")["error"] == "message_not_found"
    assert error_of(slack.pins_add, channel=INCIDENTS, timestamp="soon")["error"] == \
        "bad_timestamp"
    assert error_of(slack.api_call, "pins.add",
                    params={"channel": INCIDENTS})["error"] == "no_item_specified"


def test_reactions(slack: WebClient, sandbox: Sandbox) -> None:
    ts = slack.chat_postMessage(channel=INCIDENTS, text="deploying fix")["ts"]
    slack.reactions_add(channel=INCIDENTS, timestamp=ts, name="eyes")
    sandbox.slack.react_as(ALICE, INCIDENTS, ts, "eyes")
    got = slack.reactions_get(channel=INCIDENTS, timestamp=ts)
    assert got["type"] == "message"
    assert got["message"]["reactions"] == [{"name": "eyes", "users": [BOT_USER_ID, ALICE],
                                            "count": 2}]
    assert error_of(slack.reactions_add, channel=INCIDENTS, timestamp=ts,
                    name="eyes")["error"] == "already_reacted"
    assert error_of(slack.reactions_add, channel=INCIDENTS, timestamp=ts,
                    name=":eyes:")["error"] == "invalid_name"
    assert error_of(slack.reactions_add, channel=INCIDENTS, timestamp="1700000000.999999",
                    name="eyes")["error"] == "message_not_found"
    slack.reactions_remove(channel=INCIDENTS, timestamp=ts, name="eyes")
    assert error_of(slack.reactions_remove, channel=INCIDENTS, timestamp=ts,
                    name="eyes")["error"] == "no_reaction"
    assert slack.reactions_get(channel=INCIDENTS, timestamp=ts)["message"]["reactions"] == [
        {"name": "eyes", "users": [ALICE], "count": 1}]


def test_people_act_and_the_activity_log_says_who(sandbox: Sandbox) -> None:
    emulator = sandbox.slack
    ts = emulator.post_as(BOB, INCIDENTS, "the db is on fire")
    emulator.react_as(ALICE, INCIDENTS, ts, "pushpin")
    emulator.pin_as(ALICE, INCIDENTS, ts)
    assert [(a["user"], a["action"]) for a in emulator.activity] == [
        (BOB, "message"), (ALICE, "reactions.add"), (ALICE, "pins.add")]
    for user, code in ((CAROL, "not_in_channel"), (ERIN, "account_inactive"),
                       ("U0NOBODY01", "user_not_found")):
        with pytest.raises(SlackError) as info:
            emulator.post_as(user, INCIDENTS, "hi")
        assert info.value.code == code
    with pytest.raises(SlackError):
        emulator.post_as(ALICE, SECURITY, "not a member")


# -- views ------------------------------------------------------------------------------------
def modal(title: str = "Open an incident", **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "callback_id": "open_incident", "title":
            {"type": "plain_text", "text": title}, "submit": {"type": "plain_text",
                                                              "text": "Open"},
            "blocks": [{"type": "input", "block_id": "title", "label": {
                "type": "plain_text", "text": "What is broken?"}, "element": {
                "type": "plain_text_input", "action_id": "value"}}], **extra}


def test_views_open_and_update(slack: WebClient, sandbox: Sandbox) -> None:
    trigger = sandbox.slack.issue_trigger_id()
    view = slack.views_open(trigger_id=trigger, view=modal(external_id="open-1"))["view"]
    assert re.fullmatch(r"V[A-Z0-9]{10}", view["id"]) and view["state"] == {"values": {}}
    assert view["root_view_id"] == view["id"] and view["hash"]
    assert error_of(slack.views_open, trigger_id=trigger,
                    view=modal())["error"] == "exchanged_trigger_id"
    assert error_of(slack.views_open, trigger_id="1.2.abc",
                    view=modal())["error"] == "invalid_trigger_id"
    updated = slack.views_update(view_id=view["id"], hash=view["hash"],
                                 view=modal("Opening…", external_id="open-1"))["view"]
    assert updated["id"] == view["id"] and updated["title"]["text"] == "Opening…"
    assert updated["hash"] != view["hash"]
    assert error_of(slack.views_update, view_id=view["id"], hash=view["hash"],
                    view=modal())["error"] == "hash_conflict"
    assert slack.views_update(external_id="open-1", view=modal("Done"))["ok"]
    assert error_of(slack.views_update, view_id="V0NOPE00000",
                    view=modal())["error"] == "not_found"


def test_a_trigger_expires_after_three_seconds(slack: WebClient, sandbox: Sandbox) -> None:
    clock = Clock()
    sandbox.slack.clock = clock
    fresh, stale = sandbox.slack.issue_trigger_id(), sandbox.slack.issue_trigger_id()
    clock.now += 2.9
    assert slack.views_open(trigger_id=fresh, view=modal())["ok"]
    clock.now += 0.2
    assert error_of(slack.views_open, trigger_id=stale,
                    view=modal())["error"] == "expired_trigger_id"


@pytest.mark.parametrize(("change", "pointer"), [
    ({"title": {"type": "plain_text", "text": "x" * 25}}, "/view/title/text"),
    ({"submit": {"type": "plain_text", "text": "x" * 25}}, "/view/submit/text"),
    ({"close": {"type": "plain_text", "text": "x" * 25}}, "/view/close/text"),
    ({"callback_id": "c" * 256}, "/view/callback_id"),
    ({"blocks": [{"type": "divider"}] * 101}, "/view/blocks"),
    ({"type": "home"}, "/view/type"),
    ({"submit": None}, "/view"),
])
def test_views_open_checks_the_modal(slack: WebClient, sandbox: Sandbox,
                                     change: dict[str, Any], pointer: str) -> None:
    trigger = sandbox.slack.issue_trigger_id()
    view = {k: v for k, v in {**modal(), **change}.items() if v is not None}
    response = error_of(slack.views_open, trigger_id=trigger, view=view)
    assert response["error"] == "invalid_arguments"
    messages = response["response_metadata"]["messages"]
    assert any(m.startswith("[ERROR]") and f"[json-pointer:{pointer}]" in m
               for m in messages), messages
    assert slack.views_open(trigger_id=trigger, view=modal())["ok"]  # not spent by the error


# -- users ------------------------------------------------------------------------------------
def test_users(slack: WebClient) -> None:
    alice = slack.users_info(user=ALICE)["user"]
    assert (alice["name"], alice["real_name"], alice["tz"], alice["profile"]["email"]) == (
        "alice", "Alice Example", "Europe/Berlin", "alice@example.com")
    assert slack.users_info(user=ERIN)["user"]["deleted"] is True
    assert error_of(slack.users_info, user="U0NOBODY01")["error"] == "user_not_found"
    assert slack.users_lookupByEmail(email="bob@example.com")["user"]["id"] == BOB
    assert error_of(slack.users_lookupByEmail,
                    email="nobody@example.com")["error"] == "users_not_found"
    first = slack.users_list(limit=4)
    rest = slack.users_list(cursor=first["response_metadata"]["next_cursor"])
    ids = [u["id"] for u in first["members"] + rest["members"]]
    assert ids == [u["id"] for u in WORKSPACE["users"]]


# -- faults -----------------------------------------------------------------------------------
def test_rate_limit_is_retried_by_the_handler(slack: WebClient, sandbox: Sandbox) -> None:
    sandbox.faults.add(kind="rate_limit", service="slack", operation="chat.postMessage",
                       retry_after=1)
    slack.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    assert slack.chat_postMessage(channel=INCIDENTS, text="eventually")["ok"]
    assert [c.faults for c in sandbox.calls_to("slack", "chat.postMessage")] == [
        ("rate_limit",), ()]


def test_rate_limit_without_a_handler_is_a_429(slack: WebClient, sandbox: Sandbox) -> None:
    sandbox.faults.add(kind="rate_limit", service="slack", operation="chat.postMessage",
                       retry_after=7)
    response = error_of(slack.chat_postMessage, channel=INCIDENTS, text="x")
    assert (response.status_code, response["error"]) == (429, "ratelimited")
    assert response.headers["Retry-After"] == "7"
    assert sandbox.slack.messages(INCIDENTS) == []


def test_server_error_is_retried_and_a_late_one_duplicates(slack: WebClient,
                                                            sandbox: Sandbox) -> None:
    # Retried at once: what is checked is that the sandbox's 5xx is retried, not the pause.
    slack.retry_handlers.append(ServerErrorRetryHandler(
        max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0)))
    sandbox.faults.add(kind="error", service="slack", operation="chat.postMessage")
    assert slack.chat_postMessage(channel=INCIDENTS, text="once")["ok"]
    assert len(sandbox.slack.messages(INCIDENTS)) == 1
    # A 5xx after the write: the retry posts again, as it would against Slack.
    sandbox.faults.add(kind="error", service="slack", operation="chat.postMessage",
                       when="after", status=503)
    assert slack.chat_postMessage(channel=INCIDENTS, text="twice")["ok"]
    assert [m["text"] for m in sandbox.slack.messages(INCIDENTS)] == ["once", "twice", "twice"]


def test_a_dropped_connection(sandbox: Sandbox) -> None:
    token = sandbox.env()["SLACK_BOT_TOKEN"]
    bare = WebClient(token=token, base_url=sandbox.slack_url, retry_handlers=[])
    sandbox.faults.add(kind="drop", service="slack", operation="auth.test")
    with pytest.raises(ConnectionError):
        bare.auth_test()
    # slack-sdk's default handler retries a connection error once.
    sandbox.faults.add(kind="drop", service="slack", operation="auth.test")
    assert WebClient(token=token, base_url=sandbox.slack_url).auth_test()["ok"]


# -- state ------------------------------------------------------------------------------------
def test_dump_and_load_round_trip_through_a_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with Sandbox(state_file=state_file) as first:
        client = WebClient(token=first.env()["SLACK_BOT_TOKEN"], base_url=first.slack_url)
        channel = new_channel(client, "inc-persisted")
        client.chat_postMessage(channel=channel, text="kept")
        client.bookmarks_add(channel_id=channel, title="Issue", type="link",
                             link="https://example.com/7")
        dumped = first.slack.dump()
    assert json.loads(json.dumps(dumped)) == dumped
    with Sandbox(state_file=state_file) as second:
        assert second.slack.dump() == dumped
        client = WebClient(token=second.env()["SLACK_BOT_TOKEN"], base_url=second.slack_url)
        texts = [m["text"] for m in client.conversations_history(channel=channel)["messages"]]
        assert texts[0] == "kept"
        # Counters survive too: the next channel gets a new id.
        assert new_channel(client, "inc-next") != channel


def test_reset_restores_the_seed(sandbox: Sandbox, slack: WebClient) -> None:
    sandbox.slack.clock = Clock()
    new_channel(slack)
    sandbox.reset()
    assert sandbox.slack.channel_by_name("inc-test") is None
    assert sandbox.slack.channel_by_name("incidents")["members"] == [BOT_USER_ID, ALICE, BOB]
    assert not isinstance(sandbox.slack.clock, Clock)
