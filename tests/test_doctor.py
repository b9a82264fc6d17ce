"""`incidentbot doctor` names each problem with its fix; the manifest asks for what we use."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import yaml

from incidentbot.core import config as configuration
from incidentbot.core.config import standard_labels
from incidentbot.core.settings import Settings
from incidentbot.entrypoints.dispatcher import Dispatcher
from incidentbot.operations import doctor
from incidentbot.operations import incidents as operations
from incidentbot.sandbox import Sandbox
from incidentbot.sandbox.slack_api import BOT_SCOPES

ROOT = Path(__file__).resolve().parent.parent
CONFIG = configuration.load(ROOT / "incidentbot.yml")


def checks(sandbox: Sandbox, **kwargs: object) -> dict[str, doctor.Check]:
    settings = Settings.from_env(sandbox.env())
    return {c.name: c for c in doctor.run(CONFIG, settings, labels=standard_labels,
                                          **kwargs)}  # type: ignore[arg-type]


def test_the_sandbox_set_up_has_the_expected_problems(sandbox: Sandbox) -> None:
    found = checks(sandbox)
    assert found["Slack token"].ok
    assert found["Slack scopes"].ok
    assert found["bot can post in #incidents"].ok
    general = found["bot can post in #general"]  # SEV1 announces there; the bot is not in it
    assert not general.ok and "/invite @incidentbot" in general.fix
    assert found["GitHub access to acme/incidents"].ok
    labels = found["labels"]
    assert not labels.ok and "doctor --fix" in labels.fix


def test_fix_creates_the_labels(sandbox: Sandbox) -> None:
    assert checks(sandbox, fix=True)["labels"].ok
    assert checks(sandbox)["labels"].ok


def test_a_missing_scope_is_named_with_what_needs_it(sandbox: Sandbox) -> None:
    sandbox.slack.scopes.discard("bookmarks:write")
    scopes = checks(sandbox)["Slack scopes"]
    assert not scopes.ok
    assert "bookmarks:write (for bookmarks.add)" in scopes.detail


def test_missing_secrets_are_named_never_shown(sandbox: Sandbox) -> None:
    settings = Settings.from_env({**sandbox.env(), "SLACK_BOT_TOKEN": "",
                                  "PAGERDUTY_ROUTING_KEY": ""})
    found = {c.name: c for c in doctor.run(CONFIG, settings)}
    assert not found["SLACK_BOT_TOKEN is set"].ok
    assert "SEV1, SEV2 page on-call" in found["PAGERDUTY_ROUTING_KEY is set"].detail
    text = "\n".join(c.line() for c in found.values())
    assert "sandbox-github-token" not in text


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def dispatcher_url(sandbox: Sandbox) -> Iterator[str]:
    settings = Settings.from_env(sandbox.env())
    app = Dispatcher(CONFIG, settings.slack_signing_secret or "",
                     lambda: operations.connect(CONFIG))
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    app.close()


def test_the_dispatcher_check_sends_a_signed_request(sandbox: Sandbox,
                                                     dispatcher_url: str) -> None:
    assert checks(sandbox, dispatcher_url=dispatcher_url)["dispatcher answers"].ok
    wrong = Settings.from_env({**sandbox.env(), "SLACK_SIGNING_SECRET": "other"})
    found = {c.name: c for c in doctor.run(CONFIG, wrong, dispatcher_url=dispatcher_url)}
    assert "refused our signature" in found["dispatcher answers"].detail


def test_the_manifest_asks_for_every_scope_doctor_needs_and_our_urls() -> None:
    manifest = yaml.safe_load((ROOT / "slack-app-manifest.yml").read_text())
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert set(doctor.SCOPES.values()) <= scopes
    assert scopes == set(BOT_SCOPES)
    assert manifest["features"]["slash_commands"][0]["url"].endswith("/slack/commands")
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert settings["interactivity"]["request_url"].endswith("/slack/interactivity")
    assert {"pin_added", "reaction_added"} <= set(settings["event_subscriptions"]["bot_events"])


def test_on_call_and_notification_settings_are_checked(sandbox: Sandbox) -> None:
    from pathlib import Path

    from incidentbot.core import config as configuration

    cfg = configuration.parse(Path(CONFIG.source).read_text().replace(
        "    owners: [carol]\n", "    owners: [carol]\n    escalation_policy: PPAYS01\n")
        + "notify:\n  - {type: email, to: [majors@example.com]}\n"
        + "  - {type: webhook, url_env: AUDIT_HOOK_URL_FOR_DOCTOR}\n", source=CONFIG.source)
    settings = Settings.from_env({**sandbox.env(), "INCIDENTBOT_SMTP_HOST": ""})
    found = {c.name: c for c in doctor.run(cfg, settings)}
    assert not found["PAGERDUTY_API_KEY is set"].ok
    assert not found["INCIDENTBOT_SMTP_HOST is set"].ok
    assert "notify target 'webhook-2'" in found["AUDIT_HOOK_URL_FOR_DOCTOR is set"].detail
