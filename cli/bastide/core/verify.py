"""``bastide verify``: run every deployed role's testinfra checks against the inventory's hosts.

Which role runs where is read from the converge playbook itself (each play's ``hosts`` pattern
and roles), so verification checks exactly what deploy converged. Results come back as JUnit
XML, which is folded into a per-host and per-commune report.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bastide.core.ansible.render import render
from bastide.core.ansible.runner import (
    ansible_env,
    close_connections,
    connection_users,
    new_run_dir,
    write_run_files,
)
from bastide.core.inventory import Inventory
from bastide.paths import playbooks_dir, roles_dir

# testinfra names each case ``test_x[ansible://host]``, or ``test_x[ansible://host-param]`` when the
# test is parametrised further; host names contain dashes too, so hosts are matched by name.
_CASE = re.compile(r"^(?P<test>[^\[]+)\[(?:ansible://)?(?P<id>[^\]]+)\]$")


def _split_case(name: str, hosts: list[str]) -> tuple[str, str, str]:
    """(test, host, parameter) of a testinfra case name."""
    match = _CASE.match(name)
    if not match:
        return name, "", ""
    case_id = match.group("id")
    for host in sorted(hosts, key=len, reverse=True):
        if case_id == host or case_id.startswith(host + "-"):
            return match.group("test"), host, case_id[len(host) + 1 :]
    return match.group("test"), case_id, ""


@dataclass(frozen=True)
class CheckResult:
    role: str
    test: str
    host: str
    outcome: str  # passed | failed | not_applicable
    detail: str = ""


def _concerns(check: CheckResult, slug: str, slugs: list[str]) -> bool:
    """Host-wide checks concern every commune of the host; a check parametrised with a commune's
    slug concerns that commune only (the longest slug wins when one contains another)."""
    named = [s for s in slugs if f"[{s}" in check.test or f"-{s}" in check.test or f"{s}]" in check.test]
    if not named:
        return True
    return max(named, key=len) == slug


@dataclass
class VerifyReport:
    run_dir: Path
    results: list[CheckResult] = field(default_factory=list)
    hosts: list[str] | None = None  # the hosts checked (None: all of the inventory's)

    @property
    def ok(self) -> bool:
        return bool(self.results) and not any(r.outcome == "failed" for r in self.results)

    def by_host(self, host: str) -> list[CheckResult]:
        return [r for r in self.results if r.host == host]

    def for_commune(self, inventory: Inventory, slug: str) -> list[CheckResult]:
        """The checks of a commune's host that concern it: the platform under it and its own sites."""
        slugs = [c.slug for c in inventory.communes]
        return [r for r in self.by_host(inventory.commune(slug).host) if _concerns(r, slug, slugs)]

    def commune_report(self, inventory: Inventory) -> list[dict[str, Any]]:
        rows = []
        for commune in inventory.communes:
            if self.hosts is not None and commune.host not in self.hosts:
                continue
            checks = self.for_commune(inventory, commune.slug)
            failed = [f"{r.role}: {r.test}" for r in checks if r.outcome == "failed"]
            rows.append(
                {
                    "commune": commune.slug,
                    "name": commune.name,
                    "host": commune.host,
                    "passed": sum(r.outcome == "passed" for r in checks),
                    "failed": len(failed),
                    "not_applicable": sum(r.outcome == "not_applicable" for r in checks),
                    "failures": failed,
                    "ok": bool(checks) and not failed,
                }
            )
        return rows

    def as_dict(self, inventory: Inventory) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "run_dir": str(self.run_dir),
            "communes": self.commune_report(inventory),
            "checks": [r.__dict__ for r in self.results],
        }


def role_targets() -> list[tuple[str, list[str]]]:
    """(hosts pattern, roles) for each play of the converge playbook."""
    plays = yaml.safe_load((playbooks_dir() / "site.yml").read_text())
    targets = []
    for play in plays:
        roles = [r["role"] if isinstance(r, dict) else r for r in play.get("roles", [])]
        targets.append((str(play["hosts"]), roles))
    return targets


def _test_paths(roles: list[str]) -> list[Path]:
    paths = []
    for role in roles:
        tests = roles_dir() / role / "tests"
        if tests.is_dir():
            paths.extend(sorted(tests.glob("test_*.py")))
    return paths


def _parse_junit(path: Path, role_of: dict[str, str], hosts: list[str]) -> list[CheckResult]:
    results = []
    for case in ET.parse(path).getroot().iter("testcase"):
        test, host, parameter = _split_case(case.get("name", ""), hosts)
        if parameter:
            test = f"{test}[{parameter}]"
        module = case.get("classname", "").split(".")[-1]
        role = role_of.get(module, module)
        outcome, detail = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome, detail = "failed", (child.get("message") or "")[:500]
            elif child.tag == "skipped":
                outcome, detail = "not_applicable", (child.get("message") or "")[:500]
        if host in hosts:
            results.append(CheckResult(role=role, test=test, host=host, outcome=outcome, detail=detail))
        else:
            # A module that could not even be collected (or a host-less error) fails its checks
            # on every host it was meant for: a broken check never counts as a pass.
            results += [CheckResult(role, test, member, "failed", detail) for member in hosts]
    return results


def verify(
    inventory: Inventory, *, limit_hosts: list[str] | None = None, keyring: Any | None = None
) -> VerifyReport:
    from bastide.core import keys

    # Some checks log in as a commune's database or Redis user to prove it reaches its own data
    # and nobody else's; they read the password through the same agent as a deploy. Unlike a
    # deploy, verify creates no secret: a missing one fails its check.
    if keyring is None:
        keyring = keys.open_keyring(inventory.root)
    host_names = limit_hosts or [h.name for h in inventory.hosts]
    run_dir = new_run_dir("verify")
    rendered = render(inventory, connection_users(inventory, host_names))
    control_dir = write_run_files(run_dir, inventory, rendered, forks=5)
    (run_dir / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    report = VerifyReport(run_dir=run_dir, hosts=host_names)
    groups = rendered["all"]["children"]
    try:
        with keys.serve(keyring) as secret_env:
            for index, (pattern, roles) in enumerate(role_targets()):
                members = host_names if pattern == "all" else sorted(groups.get(pattern, {}).get("hosts", {}))
                members = [h for h in members if h in host_names]
                tests = _test_paths(roles)
                if not members or not tests:
                    continue
                junit = run_dir / f"verify-{index}.xml"
                command = [
                    sys.executable, "-m", "pytest", "-c", str(run_dir / "pytest.ini"),
                    "--rootdir", str(roles_dir()), "-q", "--tb=line",
                    f"--hosts={','.join('ansible://' + h for h in members)}",
                    f"--ansible-inventory={run_dir / 'hosts.yml'}",
                    f"--junitxml={junit}", "-o", "junit_family=xunit2",
                    *map(str, tests),
                ]  # fmt: skip
                with (run_dir / "verify.log").open("ab") as log:
                    subprocess.run(
                        command,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=ansible_env(run_dir, secret_env),
                        cwd=roles_dir(),
                        check=False,
                    )
                if junit.exists():
                    role_of = {p.stem: p.parent.parent.name for p in tests}
                    report.results.extend(_parse_junit(junit, role_of, members))
    finally:
        close_connections(control_dir)
    return report


def write_junit(report: VerifyReport, inventory: Inventory, path: Path) -> None:
    """One JUnit suite per commune (CI dashboards group by it), one case per check."""
    suites = ET.Element("testsuites")
    for row in report.commune_report(inventory):
        checks = report.for_commune(inventory, row["commune"])
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"commune {row['commune']}",
            tests=str(len(checks)),
            failures=str(row["failed"]),
            skipped=str(row["not_applicable"]),
        )
        for check in checks:
            case = ET.SubElement(
                suite, "testcase", classname=f"{row['commune']}.{check.role}", name=check.test
            )
            if check.outcome == "failed":
                ET.SubElement(case, "failure", message=check.detail)
            elif check.outcome == "not_applicable":
                ET.SubElement(case, "skipped", message=check.detail)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
