"""`incidentbot doctor`: the preflight that says what is wrong with the set-up, and the fix.

Silent set-up failure is what users of incident bots complain about most: a bot that is not
in the announcement channel, a token without a scope, labels nobody created. Each check here
names the problem and the exact fix; `--fix` does the fixes a token can do (labels).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from incidentbot.core.config import Config
from incidentbot.core.errors import AuthFailed, IncidentbotError, MissingSetting, NotFound
from incidentbot.core.settings import Settings
from incidentbot.operations import init
from incidentbot.operations.init import Check

# The Slack methods incidentbot calls, and the bot scope each needs.
SCOPES = {
    "conversations.create/archive/rename/setTopic/setPurpose/invite": "channels:manage",
    "conversations.list/info (public)": "channels:read",
    "conversations.history (public)": "channels:history",
    "private incident channels": "groups:write",
    "conversations.list/info (private)": "groups:read",
    "conversations.history (private)": "groups:history",
    "chat.postMessage/update/postEphemeral": "chat:write",
    "bookmarks.add": "bookmarks:write",
    "bookmarks.list": "bookmarks:read",
    "pins (key events)": "pins:read",
    "reactions (:pushpin: key events)": "reactions:read",
    "users.info": "users:read",
    "/incident": "commands",
}


_UNREACHABLE = "check {} and the network, then run `incidentbot doctor` again"


def run(config: Config, settings: Settings, *, fix: bool = False,
        dispatcher_url: str | None = None,
        labels: Callable[[Config], Sequence[tuple[str, str, str]]] | None = None,
        root: Path | None = None) -> Iterator[Check]:
    """Every check, in order; `root`, the repository's folder, adds its files' checks."""
    yield Check("config", True, config.source)
    yield from _secrets(config, settings)
    yield from _slack(config, settings)
    yield from _github(config, settings, fix, labels)
    if root is not None:
        from incidentbot.adapters import packageindex

        def released(version: str) -> tuple[bool | None, str]:
            return packageindex.published(settings.package_index, "incidentbot", version)

        yield from init.check(root, config, released)
    if dispatcher_url:
        yield _dispatcher(settings, dispatcher_url)


def _secrets(config: Config, settings: Settings) -> Iterator[Check]:
    if config.repository and settings.repository and settings.repository != config.repository:
        yield Check("repository", False, f"incidentbot.yml names {config.repository}, "
                    f"GITHUB_REPOSITORY {settings.repository}: wherever GITHUB_REPOSITORY is "
                    f"not set (a dispatcher, a laptop), incidentbot acts on {config.repository}",
                    f"set `repository: {settings.repository}` in incidentbot.yml, or remove it")
    for name in ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "SLACK_BOT_TOKEN",
                 "SLACK_SIGNING_SECRET"):
        try:
            settings.require(name)
            yield Check(f"{name} is set", True)
        except MissingSetting as exc:
            yield Check(f"{name} is set", False, "missing", f"set {name}: {exc.purpose}")
    pages = [s.name for s in config.severities if s.page]
    if pages and not settings.pagerduty_routing_key:
        yield Check("PAGERDUTY_ROUTING_KEY is set", False,
                    f"{', '.join(pages)} page on-call but no routing key is set",
                    "set PAGERDUTY_ROUTING_KEY (an Events API v2 integration key), or "
                    "`page: false` on those severities")
    policies = [s.escalation_policy for s in config.services if s.escalation_policy]
    policies += [s.escalation_policy for s in config.severities if s.escalation_policy]
    if policies and not settings.pagerduty_api_key:
        yield Check("PAGERDUTY_API_KEY is set", False,
                    "escalation policies are configured but nobody on call can be looked up",
                    "set PAGERDUTY_API_KEY (a read-only REST API key), or remove "
                    "`escalation_policy`")
    if any(t.kind == "email" for t in config.notify) and not settings.smtp_host:
        yield Check("INCIDENTBOT_SMTP_HOST is set", False,
                    "notify: has email targets but no SMTP server is set",
                    "set INCIDENTBOT_SMTP_HOST (and INCIDENTBOT_SMTP_PORT, _FROM)")
    for target in config.notify:
        if target.url_env and not os.environ.get(target.url_env):
            yield Check(f"{target.url_env} is set", False,
                        f"notify target {target.name!r} reads its URL from it",
                        f"set {target.url_env} to the webhook's URL (keep it secret)")


def _slack(config: Config, settings: Settings) -> Iterator[Check]:
    if not settings.slack_bot_token:
        return
    from incidentbot.adapters import slack

    chat = slack.connect(settings)
    try:
        scopes = chat.granted_scopes()
        who = chat.identity()
    except IncidentbotError as exc:
        yield Check("Slack token", False, str(exc),
                    "reinstall the app and copy the Bot User OAuth Token into SLACK_BOT_TOKEN"
                    if isinstance(exc, AuthFailed) else _UNREACHABLE.format("SLACK_API_URL"))
        return
    yield Check("Slack token", True, f"bot {who.get('user')} in {who.get('team')}")
    team = str(who.get("team_id") or "")
    if config.slack.teams and team not in config.slack.teams:
        yield Check("Slack workspace accepted", False,
                    f"the dispatcher accepts only {', '.join(config.slack.teams)}, and this "
                    f"token is for {team}",
                    f"add {team} to slack.teams in incidentbot.yml (or remove slack.teams)")
    missing = sorted({scope for scope in SCOPES.values() if scope not in scopes})
    needed_by = {scope: [m for m, s in SCOPES.items() if s == scope] for scope in missing}
    yield Check("Slack scopes", not missing,
                "all granted" if not missing else "missing " + "; ".join(
                    f"{s} (for {', '.join(needed_by[s])})" for s in missing),
                "add the scopes in OAuth & Permissions (or paste slack-app-manifest.yml), "
                "then reinstall the app")
    channels = [*config.slack.announce,
                *(ref for s in config.severities for ref in s.announce)]
    if config.slack.security_channel:
        channels.append(config.slack.security_channel)
    for ref in dict.fromkeys(channels):
        try:
            member = chat.is_member(chat.channel_id(ref))
        except IncidentbotError as exc:
            yield Check(f"bot can post in {ref}", False, str(exc),
                        f"create {ref}, or fix the name in incidentbot.yml; for a private "
                        f"channel, /invite @{who.get('user')} there first")
            continue
        yield Check(f"bot can post in {ref}", member, "" if member else "not a member",
                    f"in Slack, open {ref} and type /invite @{who.get('user')}")


def _github(config: Config, settings: Settings, fix: bool,
            labels: Callable[[Config], Sequence[tuple[str, str, str]]] | None,
            ) -> Iterator[Check]:
    if not (settings.github_token and settings.repository):
        return
    from incidentbot.adapters import github

    tracker = github.connect(settings)
    try:
        access = tracker.access()
    except IncidentbotError as exc:
        yield Check(f"GitHub access to {settings.repository}", False, str(exc),
                    "give the token access to the repository (Actions: the workflow's "
                    "`permissions:`; a PAT or App: issues and contents read/write)"
                    if isinstance(exc, AuthFailed | NotFound)
                    else _UNREACHABLE.format("GITHUB_API_URL"))
        return
    yield Check(f"GitHub access to {settings.repository}", access["push"],
                "read and write" if access["push"] else "read only",
                "the token needs write access to issues (permissions: issues: write)")
    yield Check("GitHub contents readable", access["contents"], "",
                "grant contents: read (postmortems and the status page are committed)")
    if labels is None:
        return
    wanted = labels(config)
    have = {name.lower() for name in tracker.label_names()}
    missing = [w for w in wanted if w[0].lower() not in have]
    if missing and fix:
        created = tracker.ensure_labels(missing)
        yield Check("labels", True, f"created {len(created)}: " + ", ".join(created))
    else:
        yield Check("labels", not missing,
                    f"{len(wanted)} present" if not missing else
                    f"{len(missing)} missing: " + ", ".join(m[0] for m in missing),
                    "run `incidentbot doctor --fix` to create them")
    tracker.close()


def _dispatcher(settings: Settings, url: str) -> Check:
    import requests

    from incidentbot.adapters.slack_inbound import sign

    if not settings.slack_signing_secret:
        return Check("dispatcher answers", False, "SLACK_SIGNING_SECRET is not set",
                     "set SLACK_SIGNING_SECRET")
    challenge = f"doctor-{int(time.time())}"
    body = json.dumps({"type": "url_verification", "challenge": challenge}).encode()
    ts = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts,
               "X-Slack-Signature": sign(settings.slack_signing_secret, body, ts)}
    target = url.rstrip("/") + "/slack/events"
    try:
        answer = requests.post(target, data=body, headers=headers, timeout=5)
    except requests.RequestException as exc:
        kind = "timed out" if isinstance(exc, requests.Timeout) else "cannot connect"
        return Check("dispatcher answers", False, f"{kind}: {target}",
                     "start it with `incidentbot serve` and check the URL")
    if answer.status_code == 401:
        return Check("dispatcher answers", False, "it refused our signature",
                     "the dispatcher and doctor must use the same SLACK_SIGNING_SECRET")
    ok = answer.status_code == 200 and challenge in answer.text
    return Check("dispatcher answers", ok, f"{target}: HTTP {answer.status_code}",
                 "check that the URL is the dispatcher's and that it is running")
