"""How ``bastide verify`` folds testinfra's JUnit results into its per-commune report."""

from __future__ import annotations

from pathlib import Path

from bastide.core.inventory import load
from bastide.core.verify import CheckResult, VerifyReport, _parse_junit

DEMO = Path(__file__).resolve().parents[2] / "inventories" / "demo"

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
  <testcase classname="base.tests.test_base" name="test_locale[ansible://srv-ours-1]"/>
  <testcase classname="base.tests.test_base" name="test_locale[ansible://srv-ours-2]">
    <failure message="fr_FR.UTF-8 missing"/>
  </testcase>
  <testcase classname="hardening.tests.test_hardening" name="test_kernel_sysctls[ansible://srv-ours-1]">
    <skipped message="not applicable in a container"/>
  </testcase>
  <testcase classname="postgresql.tests.test_postgresql" name="postgresql.tests.test_postgresql">
    <error message="collection failure"/>
  </testcase>
</testsuite></testsuites>
"""


def test_a_module_that_cannot_be_collected_fails_on_every_host(tmp_path: Path) -> None:
    junit = tmp_path / "verify.xml"
    junit.write_text(JUNIT)
    role_of = {"test_base": "base", "test_hardening": "hardening", "test_postgresql": "postgresql"}
    results = _parse_junit(junit, role_of, ["srv-ours-1", "srv-ours-2"])
    outcomes = {(r.role, r.test, r.host): r.outcome for r in results}
    assert outcomes[("base", "test_locale", "srv-ours-1")] == "passed"
    assert outcomes[("base", "test_locale", "srv-ours-2")] == "failed"
    assert outcomes[("hardening", "test_kernel_sysctls", "srv-ours-1")] == "not_applicable"
    broken = [r for r in results if r.role == "postgresql"]
    assert {r.host for r in broken} == {"srv-ours-1", "srv-ours-2"}
    assert all(r.outcome == "failed" for r in broken)


def test_the_report_covers_only_the_hosts_checked() -> None:
    inventory = load(DEMO)
    checked = inventory.hosts[0].name
    report = VerifyReport(
        run_dir=Path("/nonexistent"),
        results=[CheckResult("base", "test_locale", checked, "passed")],
        hosts=[checked],
    )
    rows = report.commune_report(inventory)
    assert {row["commune"] for row in rows} == {c.slug for c in inventory.communes_on(checked)}
    assert all(row["ok"] for row in rows)


def test_a_host_without_any_check_is_not_ok() -> None:
    inventory = load(DEMO)
    report = VerifyReport(run_dir=Path("/nonexistent"), results=[], hosts=None)
    assert not report.ok
    assert not any(row["ok"] for row in report.commune_report(inventory))
