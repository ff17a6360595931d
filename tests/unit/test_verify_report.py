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


def test_ssh_backend_case_names_are_split_by_host(tmp_path: Path) -> None:
    junit = tmp_path / "verify.xml"
    junit.write_text(JUNIT.replace("ansible://", "ssh://"))
    results = _parse_junit(junit, {"test_base": "base"}, ["srv-ours-1", "srv-ours-2"])
    outcomes = {(r.test, r.host): r.outcome for r in results if r.role == "base"}
    assert outcomes == {("test_locale", "srv-ours-1"): "passed", ("test_locale", "srv-ours-2"): "failed"}


def test_an_unreachable_host_fails_each_of_its_communes_and_says_why() -> None:
    inventory = load(DEMO)
    down, up = inventory.hosts[0].name, inventory.hosts[1].name
    report = VerifyReport(
        run_dir=Path("/nonexistent"), results=[CheckResult("base", "test_locale", up, "passed")]
    )
    report.mark_unreachable(down, "connect to host 192.0.2.10 port 22: No route to host")
    assert not report.ok
    rows = {row["commune"]: row for row in report.commune_report(inventory)}
    for commune in inventory.communes:
        row = rows[commune.slug]
        if commune.host == down:
            assert not row["ok"] and row["passed"] == 0
            assert "No route to host" in row["unreachable"]
        else:
            assert row["ok"] and row["unreachable"] is None
    assert report.as_dict(inventory)["unreachable"] == {down: report.unreachable[down]}


def test_the_ssh_configuration_names_hosts_and_multiplexes_one_connection_each(tmp_path: Path) -> None:
    """What OpenSSH itself reads from the run's configuration (``ssh -G``), paths with a space
    and a percent sign included."""
    import shutil
    import subprocess

    from bastide.core.ansible.runner import write_ssh_config

    root = tmp_path / "inventaire 100%"
    shutil.copytree(DEMO, root)
    inventory = load(root)
    control = tmp_path / "cp"
    control.mkdir()
    users = {inventory.hosts[0].name: "dsi-demo", inventory.hosts[1].name: "root"}
    config = tmp_path / "ssh_config"
    write_ssh_config(config, inventory, users, control)
    assert config.stat().st_mode & 0o077 == 0
    for name, user in users.items():
        seen = subprocess.run(
            ["ssh", "-G", "-F", str(config), name], capture_output=True, text=True, check=True
        ).stdout
        options = dict(line.split(" ", 1) for line in seen.splitlines() if " " in line)
        assert options["hostname"] == inventory.host(name).address
        assert options["user"] == user
        assert options["controlmaster"] == "auto"
        assert options["controlpath"].startswith(f"{control}/") and "%" not in options["controlpath"]
        assert options["userknownhostsfile"] == str(root / "known_hosts")
        assert options["stricthostkeychecking"] == "true"
        assert options["batchmode"] == "yes"


def test_host_variables_are_what_ansible_gives_the_host() -> None:
    from bastide.core.ansible.render import host_variables, render

    inventory = load(DEMO)
    host = inventory.hosts[0]
    rendered = render(inventory)
    variables = host_variables(rendered, host.name)
    assert variables["inventory_hostname"] == host.name
    assert variables["ansible_host"] == host.address
    assert [c["slug"] for c in variables["bastide_communes"]] == [
        c.slug for c in inventory.communes_on(host.name)
    ]
    assert "frontend" in variables["group_names"]
    assert set(rendered["all"]["vars"]) <= set(variables)
