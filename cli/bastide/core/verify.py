"""``bastide verify``: run every deployed role's testinfra checks against the inventory's hosts.

Which role runs where is read from the converge playbook itself (each play's ``hosts`` pattern
and roles), so verification checks exactly what deploy converged. Each host is checked by one
pytest run over one multiplexed SSH connection, hosts in parallel; results come back as JUnit
XML, which is folded into a per-host and per-commune report (docs/architecture.md, "Verify").
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bastide.core import contract
from bastide.core.ansible.render import group_name, host_variables, render
from bastide.core.ansible.runner import (
    ansible_env,
    close_connections,
    connection_users,
    new_run_dir,
    write_run_files,
    write_ssh_config,
)
from bastide.core.inventory import Inventory
from bastide.paths import playbooks_dir, roles_dir

# testinfra names each case ``test_x[ssh://host]``, or ``test_x[ssh://host-param]`` when the test
# is parametrised further; host names contain dashes too, so hosts are matched by name.
_CASE = re.compile(r"^(?P<test>[^\[]+)\[(?:[a-z+-]+://)?(?P<id>[^\]]+)\]$")


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
    unreachable: dict[str, str] = field(default_factory=dict)  # host: why it could not be reached

    def mark_unreachable(self, host: str, reason: str) -> None:
        """None of the host's checks ran: one failed check says so for each of its communes."""
        self.unreachable[host] = reason
        self.results.append(
            CheckResult("connection", "host_reachable", host, "failed", f"unreachable: {reason}")
        )

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
                    "unreachable": self.unreachable.get(commune.host),
                    "ok": bool(checks) and not failed,
                }
            )
        return rows

    def as_dict(self, inventory: Inventory) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "run_dir": str(self.run_dir),
            "communes": self.commune_report(inventory),
            "unreachable": self.unreachable,
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


MAX_PARALLEL_HOSTS = 8


def play_hosts(groups: dict[str, Any], pattern: str, all_hosts: list[str]) -> list[str]:
    """The hosts a play's ``hosts`` pattern names: ``all``, a group, or groups joined by ``:``."""
    if pattern == "all":
        return list(all_hosts)
    named = {h for part in pattern.split(":") for h in groups.get(part, {}).get("hosts", {})}
    return [h for h in all_hosts if h in named]


def _part_tests(parts: list[dict[str, Any]], host: str) -> list[Path]:
    """The check modules of the services' syndicat-wide parts ``host`` runs (their roles are
    found where the services' roles are)."""
    paths = []
    for part in parts:
        if part.get("host") != host:
            continue
        for base in contract.role_dirs():
            tests = base / part["role"] / "tests"
            if tests.is_dir():
                paths.extend(sorted(tests.glob("test_*.py")))
                break
    return paths


def host_tests(groups: dict[str, Any], host: str, parts: list[dict[str, Any]] | None = None) -> list[Path]:
    """The check modules of every role the converge playbook applies to ``host``, then those
    of the services' syndicat-wide parts it runs (``bastide_syndicat_parts``), then those the
    contracts of the services it runs name."""
    roles: list[str] = []
    for pattern, play_roles in role_targets():
        if play_hosts(groups, pattern, [host]):
            roles += [role for role in play_roles if role not in roles]
    services = [
        module
        for name, service in contract.services().items()
        if host in groups.get(group_name("service", name), {}).get("hosts", {})
        for module in service.checks
    ]
    return _test_paths(roles) + _part_tests(parts or [], host) + services


def _open_master(ssh_config: Path, host: str) -> str | None:
    """Open the run's master connection to ``host``; None, or why it cannot be reached."""
    try:
        result = subprocess.run(
            ["ssh", "-F", str(ssh_config), host, "true"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "no answer within 60 s"
    if result.returncode == 0:
        return None
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"ssh exited with {result.returncode}"


def _check_host(
    host: str, tests: list[Path], run_dir: Path, env: dict[str, str], sudo: bool
) -> tuple[Path, bytes]:
    """One pytest run of ``host``'s checks over its master connection: (JUnit file, output)."""
    junit = run_dir / f"verify-{host}.xml"
    command = [
        sys.executable, "-m", "pytest", "-c", str(run_dir / "pytest.ini"),
        "--rootdir", str(roles_dir()), "-p", "bastide.checks", "-q", "--tb=line",
        f"--hosts=ssh://{host}", f"--ssh-config={run_dir / 'ssh_config'}",
        *(["--sudo"] if sudo else []),
        f"--junitxml={junit}", "-o", "junit_family=xunit2",
        *map(str, tests),
    ]  # fmt: skip
    done = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        cwd=roles_dir(),
        check=False,
    )
    return junit, done.stdout + done.stderr


def verify(
    inventory: Inventory, *, limit_hosts: list[str] | None = None, keyring: Any | None = None
) -> VerifyReport:
    """Every host's checks, hosts in parallel (at most MAX_PARALLEL_HOSTS at once), each through
    one SSH master connection opened for the run and reused by all its checks (see
    docs/architecture.md, "Verify")."""
    from bastide.core import keys

    # Some checks log in as a commune's database or Redis user to prove it reaches its own data
    # and nobody else's; they read the password through the same agent as a deploy. Unlike a
    # deploy, verify creates no secret: a missing one fails its check.
    if keyring is None:
        keyring = keys.open_keyring(inventory.root)
    host_names = limit_hosts or [h.name for h in inventory.hosts]
    run_dir = new_run_dir("verify")
    users = connection_users(inventory, host_names)
    rendered = render(inventory, users)
    control_dir = write_run_files(run_dir, inventory, rendered, forks=5)
    ssh_config = run_dir / "ssh_config"
    write_ssh_config(ssh_config, inventory, users, control_dir)
    variables = {name: host_variables(rendered, name) for name in host_names}
    (run_dir / "hostvars.json").write_text(json.dumps(variables, ensure_ascii=False))
    (run_dir / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    report = VerifyReport(run_dir=run_dir, hosts=host_names)
    groups = rendered["all"]["children"]
    try:
        with (
            keys.serve(keyring) as secret_env,
            ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_HOSTS, len(host_names))) as pool,
        ):
            env = ansible_env(run_dir, secret_env)
            env.update(
                BASTIDE_VERIFY_HOSTVARS=str(run_dir / "hostvars.json"),
                BASTIDE_VERIFY_SSH_CONFIG=str(ssh_config),
            )

            def check(host: str) -> tuple[str, str | None, list[CheckResult], bytes]:
                tests = host_tests(groups, host, rendered["all"]["vars"].get("bastide_syndicat_parts", []))
                problem = _open_master(ssh_config, host)
                if problem is not None or not tests:
                    return host, problem, [], b""
                junit, output = _check_host(host, tests, run_dir, env, sudo=users[host] != "root")
                if not junit.exists():
                    return host, None, [], output
                role_of = {p.stem: p.parent.parent.name for p in tests}
                return host, None, _parse_junit(junit, role_of, [host]), output

            with (run_dir / "verify.log").open("ab") as log:
                for host, problem, results, output in pool.map(check, host_names):
                    log.write(f"=== {host}\n".encode() + output)
                    if problem is not None:
                        log.write(f"unreachable: {problem}\n".encode())
                        report.mark_unreachable(host, problem)
                    report.results.extend(results)
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
