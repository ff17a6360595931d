"""``bastide compliance`` end to end on a lab host: OpenSCAP really runs there and really judges.

The host is a freshly bootstrapped lab host (root still logs in over SSH, nothing hardened), so
the verdict must be "not compliant" with rules the hardening role fixes among the unwaived ones:
a judge that passed such a host would prove nothing. Lynis is left out to keep the run near one
oscap evaluation (~45 s); the hardened before/after figures are recorded in docs/hardening.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bastide.core.lab import LabInfo

pytestmark = pytest.mark.lab

DATASTREAM = Path(__file__).resolve().parents[2] / "compliance" / "ssg-debian12-ds.xml.gz"


def test_compliance_judges_an_unhardened_lab_host(lab_info: LabInfo, tmp_path: Path) -> None:
    if not DATASTREAM.is_file():
        pytest.fail(f"the SCAP datastream {DATASTREAM} is missing (it ships in compliance/)")
    if not lab_info.inventory:
        pytest.fail("the lab has no inventory (it is written from inventories/demo by the lab fixture)")
    host = next(iter(lab_info.inventory_hosts), None) or lab_info.hosts[0][0]
    env = {**os.environ, "BASTIDE_SCAP_DATASTREAM": str(DATASTREAM)}
    result = subprocess.run(
        [sys.executable, "-m", "bastide", "compliance", lab_info.inventory, host, "--no-lynis", "--json",
         "--results-dir", str(tmp_path)],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    report = json.loads(result.stdout)
    assert report["in_container"] is True and report["evaluated_as_machine"] is True
    counts = report["openscap"]["counts"]
    assert counts.get("pass", 0) > 0 and counts.get("fail", 0) > 0
    assert sum(counts.values()) > 200, counts  # the whole profile was evaluated
    assert report["ok"] is False
    # Controls the hardening role applies, failing here and never waived.
    for rule in ("sshd_disable_root_login", "sudo_add_noexec", "package_aide_installed"):
        assert rule in report["unwaived"], rule
    # Container-only waivers do apply in the lab (partitions are the machine's).
    assert "partition_for_var" in {w["rule"] for w in report["waived"]}
    results = tmp_path / f"{host}-anssi_bp28_intermediary-results.xml"
    assert results.is_file() and "TestResult" in results.read_text(encoding="utf-8")
