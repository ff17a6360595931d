"""Every bad-input fixture fails `bastide validate` with exit 2 and its own precise problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bastide.commands import main
from bastide.core.inventory import load
from bastide.errors import InputError

BAD = Path(__file__).resolve().parents[1] / "fixtures" / "bad"
CASES = sorted(path for path in BAD.iterdir() if (path / "expected.yml").is_file())


def _flat(text: str) -> str:
    """rich wraps long lines; compare the words, not the layout."""
    return " ".join(text.split())


def test_there_are_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_validate_reports_the_defect(case: Path) -> None:
    expected = yaml.safe_load((case / "expected.yml").read_text(encoding="utf-8"))
    result = CliRunner(env={"COLUMNS": "400"}).invoke(main, ["validate", str(case)])
    assert result.exit_code == 2, result.output
    stderr = _flat(result.stderr)
    assert _flat(expected["message"]) in stderr
    location = str(case / expected["file"])
    if expected["field"]:
        assert f"{expected['field']}:" in stderr
    assert location in stderr
    if "fix" in expected:
        assert _flat(expected["fix"]) in stderr
    assert result.stdout == ""


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_load_raises_the_same_problem(case: Path) -> None:
    expected = yaml.safe_load((case / "expected.yml").read_text(encoding="utf-8"))
    with pytest.raises(InputError) as raised:
        load(case)
    matching = [
        problem
        for problem in raised.value.problems
        if problem.file == str(case / expected["file"])
        and problem.field == expected["field"]
        and expected["message"] in problem.message
        and expected.get("fix", "") in problem.fix
        and problem.fix
    ]
    assert matching, raised.value.problems


def test_json_output_lists_problems_with_lines() -> None:
    case = BAD / "residency-hyperscaler-paris"
    result = CliRunner().invoke(main, ["validate", str(case), "--json"])
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["valid"] is False
    assert document["summary"] is None
    [problem] = document["problems"]
    assert problem["field"] == "hosts[1].provider"
    assert problem["file"] == str(case / "syndicat.yml")
    assert problem["line"] == 44
    assert "US jurisdiction" in problem["message"]


def test_syntax_error_gives_the_line() -> None:
    with pytest.raises(InputError) as raised:
        load(BAD / "yaml-syntax")
    [problem] = raised.value.problems
    assert problem.line == 3


def test_messages_in_french(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    result = CliRunner(env={"COLUMNS": "400"}).invoke(main, ["validate", str(BAD / "insee-corsica-20")])
    assert result.exit_code == 2
    stderr = _flat(result.stderr)
    assert "les communes corses utilisent 2A (Corse-du-Sud) ou 2B (Haute-Corse), pas 20" in stderr
    assert "remplacez le 20 initial par 2A ou 2B" in stderr


def test_the_installed_command_exits_2(tmp_path: Path) -> None:
    """The real entry point, in a child process, as an administrator or CI runs it."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "LANG": "C.UTF-8", "COLUMNS": "400"}
    env.pop("LC_ALL", None)
    case = BAD / "unknown-host"
    done = subprocess.run(
        [sys.executable, "-m", "bastide", "validate", str(case)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 2
    assert "host `srv-ours-3` is not in syndicat.yml" in _flat(done.stderr)
    ok = subprocess.run(
        [sys.executable, "-m", "bastide", "validate", str(BAD.parents[2] / "inventories" / "demo")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert "4 commune(s)" in _flat(ok.stdout)
