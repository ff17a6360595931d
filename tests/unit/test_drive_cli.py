"""`bastide drive shares/revoke`: bad input is refused before any host is reached (exit 2, the
file or argument and the fix), and what a host's tool answers becomes shares with their
downloads."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bastide.commands import main
from bastide.core.ansible import remote
from bastide.core.drive import shares
from bastide.core.inventory import load

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "inventories" / "demo"


@pytest.fixture()
def no_ssh(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Commands the CLI would run on hosts; none is expected for bad input."""
    ran: list[list[str]] = []

    def run(_inventory: Any, host: str, command: list[str], **_kw: Any) -> subprocess.CompletedProcess[str]:
        ran.append([host, *command])
        return subprocess.CompletedProcess(
            command, 0, stdout=json.dumps({"shares": [], "events": []}), stderr=""
        )

    monkeypatch.setattr(remote, "run", run)
    return ran


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["drive", "shares", str(DEMO), "nowhere"], "no commune `nowhere`"),
        (["drive", "revoke", str(DEMO), "ours-les-bains", "bad key!"], "is not a share key"),
    ],
)
def test_bad_input_stops_before_any_host(args: list[str], needle: str, no_ssh: list[list[str]]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert no_ssh == []


def test_a_commune_without_the_drive_is_refused(tmp_path: Path, no_ssh: list[list[str]]) -> None:
    import shutil

    root = tmp_path / "inv"
    shutil.copytree(DEMO, root)
    path = root / "communes" / "anse-aux-ours.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("services: [drive, calendars, rdv]", "services: []"),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["drive", "shares", str(root), "anse-aux-ours"])
    assert result.exit_code == 2, result.output
    assert "does not run the drive" in result.output and "anse-aux-ours.yml" in result.output
    assert no_ssh == []


def test_shares_carry_their_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = {
        "shares": [
            {"key": "k1", "path": "/services/urbanisme", "files": ["plan.pdf"], "user": "sophie.lefevre",
             "created": "2026-12-01T10:00:00+0100", "expires": None, "state": "live", "password": True,
             "permissions": "rg"},
        ],
        "events": [
            {"time": "2026-12-01T10:00:00+0100", "event": "share-created", "key": "k1",
             "user": "sophie.lefevre"},
            {"time": "2026-12-01T10:05:00+0100", "event": "share-download", "key": "k1", "path": "plan.pdf",
             "ip": "198.51.100.7"},
            {"time": "2026-12-01T10:06:00+0100", "event": "share-download", "key": "k2", "path": "x",
             "ip": "x"},
        ],
    }  # fmt: skip
    asked: list[list[str]] = []

    def run(_inventory: Any, host: str, command: list[str], **_kw: Any) -> subprocess.CompletedProcess[str]:
        asked.append([host, *command])
        return subprocess.CompletedProcess(command, 0, stdout=json.dumps(answer), stderr="")

    monkeypatch.setattr(remote, "run", run)
    found, events = shares.shares(load(DEMO), "ours-les-bains")
    assert asked == [["srv-ours-1", shares.TOOL, "list", "ours-les-bains"]]
    assert [(s.key, [d["ip"] for d in s.downloads]) for s in found] == [("k1", ["198.51.100.7"])]
    assert len(events) == 3
    result = CliRunner().invoke(main, ["drive", "shares", str(DEMO), "ours-les-bains"])
    assert result.exit_code == 0, result.output
    assert "k1" in result.output and "198.51.100.7" in result.output and "1 download" in result.output
