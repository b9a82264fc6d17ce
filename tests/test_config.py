"""incidentbot.yml: defaults with no file, the examples, and a table of bad files."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from incidentbot.core import config, schema
from incidentbot.core.errors import ConfigError, ConfigErrors
from incidentbot.core.model import Role

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [*sorted((ROOT / "examples").glob("*.yml")), ROOT / "incidentbot.yml"]


def test_no_file_means_working_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    loaded = config.load()
    assert loaded.source == "(defaults)"
    assert [s.name for s in loaded.severities] == ["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"]
    assert [s.level for s in loaded.severities if s.postmortem] == [1, 2, 3]
    assert loaded.slack.channel_pattern == "inc-{name}"
    assert set(loaded.roles) == set(Role)


def test_an_empty_file_is_the_defaults() -> None:
    assert config.parse("", source="x.yml").severities == config.Config().severities
    assert config.parse("# nothing yet\n", source="x.yml").services == ()


def test_the_file_is_found_by_env_then_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "incidentbot.yml").write_text("timezone: Europe/Paris\n")
    monkeypatch.chdir(tmp_path)
    assert config.load().timezone == "Europe/Paris"
    other = tmp_path / "other.yml"
    other.write_text("timezone: Asia/Tokyo\n")
    monkeypatch.setenv("INCIDENTBOT_CONFIG", str(other))
    assert config.load().timezone == "Asia/Tokyo"


def test_a_named_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yml: file not found"):
        config.load(tmp_path / "nope.yml")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_shipped_examples_load(path: Path) -> None:
    loaded = config.load(path)
    assert loaded.services
    assert loaded.people


def test_the_p_scale_example() -> None:
    loaded = config.load(ROOT / "examples" / "p1-p3.yml")
    assert [(s.label, s.postmortem, s.page) for s in loaded.severities] == [
        ("P1", True, True), ("P2", False, False), ("P3", False, False)]
    assert loaded.roles[Role.COMMS] == "Comms lead"
    assert loaded.severity(1).update_every_minutes == 30
    assert loaded.severity(2).update_every_minutes == 120
    assert loaded.person_by_slack("U0BOB00001").id == "bob"  # type: ignore[union-attr]
    assert loaded.person_by_github("ALICE").id == "alice"  # type: ignore[union-attr]


# Each bad file, and the one line of the error it must get (file:line: key: message).
BAD = [
    ("timezone: [1]\n", "x.yml:1: timezone: expected an IANA time zone name, like Europe/Berlin, "
                        "got a list"),
    ("timzone: UTC\n", "x.yml:1: timzone: unknown key (did you mean 'timezone'?)"),
    ("slack:\n  on_close: delete\n", "x.yml:2: slack.on_close: expected one of \"archive\", "
                                     "\"rename\", got \"delete\""),
    ("slack:\n  announce: incidents\n", "x.yml:2: slack.announce: expected a list, got "
                                        "\"incidents\""),
    ("slack:\n  announce: #incidents\n", "x.yml:2: slack.announce: expected a list, got null "
                                        "(YAML reads `#incidents` as a comment: quote it, "
                                        "[\"#incidents\"])"),
    ("slack:\n  announce: [Incidents]\n", "x.yml:2: slack.announce[0]: expected a channel as "
                                          "#name (lowercase)"),
    ("severities:\n  - level: 1\n  - level: 2\n    label: 3\n",
     "x.yml:4: severities[1].label: expected a label ending in the level's number, like "
     "\"sev:1\" or \"P1\", got 3"),
    ("severities:\n  - label: sev:1\n", "x.yml:2: severities[0].level: missing; expected a "
                                        "whole number"),
    ("severities: []\n", "x.yml:1: severities: expected at least 1 item(s), got 0"),
    ("severities:\n  - level: 1\n  - level: 1\n", "x.yml:3: severities[1].level: level 1 is "
                                                  "used twice"),
    ("severities:\n  - level: 2\n  - level: 1\n", "x.yml:1: severities: expected levels in "
                                                  "order"),
    ("severities:\n  - {level: 1, label: P2}\n", "x.yml:2: severities[0].label: expected a "
                                                  "label ending in its level 1, got 'P2'"),
    ("severities:\n  - {level: 1, update_every: soon}\n",
     "x.yml:2: severities[0].update_every: expected minutes as a number, or a duration like 30m"),
    ("severities:\n  - {level: 1, invite: [zed]}\n",
     "x.yml:2: severities[0].invite[0]: expected a person id from `people` (none are "
     "configured) or a Slack user id, got 'zed'"),
    ("default_severity: 9\n", "x.yml:1: default_severity: expected one of the levels 1, 2, 3, "
                              "4, 5, got 9"),
    ("default_severity: true\n", "x.yml:1: default_severity: expected a whole number, got true"),
    ("services:\n  - slug: Checkout API\n", "x.yml:2: services[0].slug: expected lowercase "
                                            "letters, digits and hyphens"),
    ("services:\n  - {slug: a}\n  - {slug: a}\n", "x.yml:3: services[1].slug: slug 'a' is used "
                                                  "twice"),
    ("services:\n  - {slug: a, depends_on: [b]}\n", "x.yml:2: services[0].depends_on[0]: "
                                                     "expected the slug of a service, got 'b'"),
    ("services:\n  - slug: a\n    checks:\n      - {type: tcp, host: db}\n",
     "x.yml:4: services[0].checks[0]: a tcp check needs 'port'"),
    ("services:\n  - slug: a\n    checks:\n      - {type: ping}\n",
     "x.yml:4: services[0].checks[0].type: expected one of \"http\", \"tcp\", \"tls\", "
     "got \"ping\""),
    ("services:\n  - slug: a\n    docs: [{title: x, url: 'ftp://x'}]\n",
     "x.yml:3: services[0].docs[0].url: expected an http(s) URL, got \"ftp://x\""),
    ("people:\n  alice: {slack: alice}\n", "x.yml:2: people.alice.slack: expected a Slack user "
                                           "id like U0123ABCD, got \"alice\""),
    ("people:\n  Alice: {}\n", "x.yml:2: people.Alice: not a valid id"),
    ("people:\n  a: {github: x}\n  b: {github: X}\n", "x.yml:3: people.b.github: 'X' is also "
                                                      "'a''s github"),
    ("timezone: Mars/Olympus\n", "x.yml:1: timezone: expected an IANA time zone name, like "
                                 "Europe/Berlin, got 'Mars/Olympus'"),
    ("slack:\n  channel_pattern: inc-{title}\n", "x.yml:2: slack.channel_pattern: unknown "
                                                 "placeholder {title}"),
    ("slack:\n  channel_pattern: incidents\n", "x.yml:2: slack.channel_pattern: expected "
                                               "{name} or {number}"),
    ("slack:\n  channel_pattern: 'Inc {number}'\n", "x.yml:2: slack.channel_pattern: gives "
                                                    "channel names Slack refuses"),
    ("slack:\n  channel_pattern: 'inc-{name'\n", "x.yml:2: slack.channel_pattern: not a valid "
                                                 "pattern"),
    ("timezone: UTC\ntimezone: UTC\n", "x.yml:2: timezone: appears twice; keep one"),
    ("- a\n- b\n", "x.yml:1: expected a mapping of settings, got a list"),
    ("slack: {announce: [\n", "x.yml:2: not valid YAML"),
    ("status_page:\n  url: status.example.com\n", "x.yml:2: status_page.url: expected an "
                                                  "http(s) URL"),
    ("postmortem:\n  review: email\n", "x.yml:2: postmortem.review: expected one of "
                                       "\"pull_request\", \"direct\""),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m.split(": ")[1] for _, m in BAD])
def test_bad_files_get_a_located_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.parse(text, source="x.yml")
    assert message in str(err.value), str(err.value)


def test_every_problem_is_reported_at_once_in_line_order() -> None:
    text = "timezone: 5\nslack:\n  on_close: never\nservices:\n  - slug: BAD\n"
    with pytest.raises(ConfigErrors) as err:
        config.parse(text, source="x.yml")
    assert [e.line for e in err.value.errors] == [1, 3, 5]
    assert str(err.value).count("\n") == 2


def test_the_cli_refuses_a_bad_file_with_exit_2(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from incidentbot.entrypoints.cli import main

    bad = tmp_path / "incidentbot.yml"
    bad.write_text("severities:\n  - level: 1\n    label: 3\n")
    for option in ("-f", "--file", "--config"):  # --config, as every other command takes it
        result = CliRunner().invoke(main, ["config", "check", option, str(bad)])
        assert result.exit_code == 2, result.output
        assert f"{bad}:3: severities[0].label: expected" in result.output
        assert "Traceback" not in result.output


# -- the schema is one source: editors, our validator and the reference implementation agree --
def test_the_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema.schema())


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_satisfy_the_reference_validator(path: Path) -> None:
    jsonschema.Draft202012Validator(schema.schema()).validate(yaml.safe_load(path.read_text()))


SCHEMA_ERRORS = [(text, msg) for text, msg in BAD
                 if not any(w in msg for w in ("used twice", "in order", "ending in its level",
                                               "person id", "levels 1", "slug of a service",
                                               "needs", "also", "IANA", "placeholder",
                                               "{name} or", "Slack refuses", "valid pattern",
                                               "appears twice", "valid YAML", "mapping of"))]


@pytest.mark.parametrize(("text", "message"), SCHEMA_ERRORS,
                         ids=[m.split(": ")[1] for _, m in SCHEMA_ERRORS])
def test_what_our_validator_rejects_the_reference_rejects_too(text: str, message: str) -> None:
    data = yaml.safe_load(text)
    assert schema.validate(data)
    assert list(jsonschema.Draft202012Validator(schema.schema()).iter_errors(data))


def test_every_config_dataclass_field_is_in_the_schema() -> None:
    import dataclasses

    props = schema.schema()["properties"]
    defs = schema.schema()["$defs"]
    # role_descriptions is the `description` of each entry under `roles`.
    assert {f.name for f in dataclasses.fields(config.Config)} \
        - {"source", "role_descriptions"} == set(props)
    assert "description" in defs["role"]["properties"]
    assert {f.name for f in dataclasses.fields(config.ReminderSettings)} == \
        set(props["reminders"]["properties"])
    for cls, name in [(config.SlackSettings, "slack"), (config.PostmortemSettings, "postmortem"),
                      (config.StatusPageSettings, "status_page"),
                      (config.MonitorSettings, "monitor")]:
        assert {f.name for f in dataclasses.fields(cls)} == set(defs[name]["properties"])
