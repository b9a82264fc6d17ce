"""`status_page.output` is where `status-page build` writes the site unless --out says."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from incidentbot.entrypoints.cli import main


def _config(tmp_path: Path, output: str) -> Path:
    path = tmp_path / "incidentbot.yml"
    path.write_text("repository: acme/incidents\n"
                    "services:\n  - {slug: checkout, name: Checkout}\n"
                    f"status_page:\n  title: Acme status\n  output: {output}\n")
    return path


def test_the_site_goes_to_status_page_output(tmp_path: Path,
                                             sandbox_env: dict[str, str]) -> None:
    config = _config(tmp_path, str(tmp_path / "public"))
    result = CliRunner().invoke(main, ["status-page", "build", "--config", str(config),
                                       "--data", str(tmp_path / "data")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "public" / "index.html").is_file()
    assert f"under {tmp_path / 'public'}/" in result.output
    assert not (tmp_path / "site").exists()


def test_out_wins_over_status_page_output(tmp_path: Path, sandbox_env: dict[str, str]) -> None:
    config = _config(tmp_path, str(tmp_path / "public"))
    result = CliRunner().invoke(main, ["status-page", "build", "--config", str(config),
                                       "--out", str(tmp_path / "elsewhere"),
                                       "--data", str(tmp_path / "data")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "elsewhere" / "index.html").is_file()
    assert not (tmp_path / "public").exists()
