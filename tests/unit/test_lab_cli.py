"""`bastide lab` refusals that need neither root nor a running lab."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bastide.commands import main

SMALL = Path(__file__).resolve().parent.parent / "fixtures" / "lab" / "small"


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BASTIDE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BASTIDE_LAB_ID", "9")
    monkeypatch.setenv("LANG", "C.UTF-8")
    return tmp_path


def test_up_with_fewer_hosts_than_the_inventory_names_the_fix(env: Path) -> None:
    result = CliRunner().invoke(
        main, ["lab", "up", "--hosts", "1", "--from", str(SMALL), "--out", str(env / "out")]
    )
    assert result.exit_code == 2
    assert "--hosts 2" in result.output and "syndicat.yml" in result.output
    assert not (env / "out").exists() and not (env / "state").exists()


def test_up_from_a_directory_without_inventory_says_what_to_give(env: Path) -> None:
    result = CliRunner().invoke(main, ["lab", "up", "--from", str(env / "nothing")])
    assert result.exit_code == 2
    assert "--from" in result.output


def test_bad_lab_id_is_bad_input(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTIDE_LAB_ID", "12")
    result = CliRunner().invoke(main, ["lab", "status"])
    assert result.exit_code == 2
    assert "BASTIDE_LAB_ID" in result.output


def test_status_and_ssh_without_a_lab(env: Path) -> None:
    status = CliRunner().invoke(main, ["lab", "status"])
    assert status.exit_code == 0 and "bastide lab up" in status.output
    ssh = CliRunner().invoke(main, ["lab", "ssh", "lab9-h1", "true"])
    assert ssh.exit_code == 3 and "bastide lab up" in ssh.output


def test_french_messages(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    result = CliRunner().invoke(main, ["lab", "up", "--hosts", "1", "--from", str(SMALL)])
    assert result.exit_code == 2 and "lancez `bastide lab up --hosts 2`" in result.output
