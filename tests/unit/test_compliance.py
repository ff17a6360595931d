"""The compliance judge's pure parts: XCCDF results, the waiver file, the verdict, Lynis."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastide.core import compliance
from bastide.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
NS = "http://checklists.nist.gov/xccdf/1.2"
RULE = compliance.RULE_PREFIX


def results_xml(results: dict[str, str]) -> str:
    rules = "".join(
        f'<rule-result idref="{RULE}{rule}"><result>{result}</result></rule-result>'
        for rule, result in results.items()
    )
    return (
        f'<Benchmark xmlns="{NS}"><TestResult id="x" test-system="cpe:/a:redhat:openscap:1.3.7">'
        f'<profile idref="{compliance.PROFILE_PREFIX}anssi_bp28_intermediary"/>{rules}'
        '<score system="urn:xccdf:scoring:default">72.5</score></TestResult></Benchmark>'
    )


def test_parse_results_counts_and_failing_rules() -> None:
    parsed = compliance.parse_results(
        results_xml(
            {
                "sshd_disable_root_login": "pass",
                "partition_for_var": "fail",
                "grub2_password": "notapplicable",
                "unrelated": "notselected",
                "broken_check": "error",
            }
        )
    )
    assert parsed.profile == "anssi_bp28_intermediary"
    assert parsed.counts == {"error": 1, "fail": 1, "notapplicable": 1, "pass": 1}
    assert parsed.failing == ["broken_check", "partition_for_var"]
    assert parsed.score == 72.5


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_judge_splits_waived_unwaived_and_stale(tmp_path: Path) -> None:
    waivers = compliance.load_waivers(
        write(
            tmp_path,
            "waivers:\n"
            "  - rule: partition_for_var\n    status: not-applicable\n    scope: container\n"
            "    reason: the container's filesystem is a directory of the machine\n"
            "  - rule: sudoers_no_root_target\n    status: accepted\n"
            "    reason: administrators administer the host as root, by design\n",
        )
    )
    result = compliance.parse_results(results_xml({"partition_for_var": "fail", "accounts_tmout": "fail"}))
    in_container = compliance.judge(result, waivers, in_container=True)
    assert [w["rule"] for w in in_container.waived] == ["partition_for_var"]
    assert in_container.unwaived == ["accounts_tmout"]
    assert in_container.stale == ["sudoers_no_root_target"]
    assert not in_container.ok
    # A container-only waiver does not excuse the same failure on a real machine.
    on_machine = compliance.judge(result, waivers, in_container=False)
    assert on_machine.unwaived == ["accounts_tmout", "partition_for_var"]


LONG = "    reason: a long enough reason to be read\n"


@pytest.mark.parametrize(
    ("text", "field", "line"),
    [
        ("waivers:\n  - rule: x\n    status: accepted\n    reason: short\n", "waivers[0].reason", 2),
        ("waivers:\n  - rule: x\n    status: maybe\n" + LONG, "waivers[0].status", 2),
        ("waivers:\n  - rule: x\n    status: accepted\n" + LONG + "    scope: vm\n", "waivers[0].scope", 2),
        ("waivers:\n  - status: accepted\n" + LONG, "waivers[0].rule", 2),
        ("rules: []\n", "waivers", None),
        ("waivers: [\n", "(syntax)", 2),
    ],
)
def test_bad_waivers_are_reported_with_field_and_line(
    tmp_path: Path, text: str, field: str, line: int | None
) -> None:
    with pytest.raises(InputError) as raised:
        compliance.load_waivers(write(tmp_path, text))
    problem = raised.value.problems[0]
    assert problem.field == field
    assert problem.line == line
    assert problem.fix


def test_duplicate_waiver_is_refused(tmp_path: Path) -> None:
    entry = "  - rule: x\n    status: accepted\n    reason: a long enough reason to be read\n"
    with pytest.raises(InputError) as raised:
        compliance.load_waivers(write(tmp_path, "waivers:\n" + entry + entry))
    assert raised.value.problems[0].line == 5


def test_the_shipped_waiver_file_is_valid() -> None:
    waivers = compliance.load_waivers(ROOT / "compliance" / "waivers-anssi-bp28-intermediary.yml")
    assert waivers
    assert all(w.status in compliance.WAIVER_STATUSES for w in waivers.values())


def test_lynis_report() -> None:
    report = compliance.parse_lynis_report(
        "lynis_version=3.0.8\nhardening_index=72\nlynis_tests_done=243\n"
        "warning[]=PKGS-7392|Found one or more vulnerable packages.|-|-|\nsuggestion[]=SSH-7408|x|-|-|\n"
    )
    assert report == {
        "version": "3.0.8",
        "hardening_index": 72,
        "tests_done": 243,
        "warnings": ["PKGS-7392"],
        "suggestions": 1,
    }


def test_missing_datastream_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compliance.DATASTREAM_ENV, str(tmp_path / "absent.xml.gz"))
    target = compliance.Target(name="h", address="127.0.0.1", user="root")
    with pytest.raises(compliance.EnvironmentProblem) as raised:
        compliance.check_host(target)
    assert compliance.DATASTREAM_ENV in str(raised.value)
