"""Independent judges of a host's hardening: OpenSCAP (ANSSI BP-028) and Lynis, run over SSH.

The roles claim to apply ANSSI BP-028; this module asks tools bastide did not write. It copies
the SCAP datastream to the host, installs Debian's ``openscap-scanner`` and ``lynis`` there,
evaluates the profile, reads the XCCDF results back and compares every applicable failing rule
with the versioned waiver file (``compliance/waivers-anssi-bp28-<level>.yml``): a failing rule
must be waived with a reason, otherwise the check fails. The Lynis hardening index is reported
alongside, as a second opinion (Lynis runs offline: ``skip-upgrade-test=yes``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bastide.errors import BastideError, EnvironmentProblem, InputError, Problem
from bastide.i18n import Messages
from bastide.paths import content_dir

_ = Messages("compliance")

DATASTREAM_ENV = "BASTIDE_SCAP_DATASTREAM"
DATASTREAM_NAME = "ssg-debian12-ds.xml.gz"
PROFILE_PREFIX = "xccdf_org.ssgproject.content_profile_"
RULE_PREFIX = "xccdf_org.ssgproject.content_rule_"
XCCDF_NS = "http://checklists.nist.gov/xccdf/1.2"
REMOTE_DIR = "/var/tmp/bastide-compliance"
# Results that mean "this rule applies here and the host does not satisfy it".
FAILING = ("fail", "error", "unknown")
PROFILES = ("anssi_bp28_minimal", "anssi_bp28_intermediary", "anssi_bp28_enhanced", "anssi_bp28_high")


def default_datastream() -> Path:
    """``BASTIDE_SCAP_DATASTREAM``, else the copy shipped with bastide (``compliance/``)."""
    override = os.environ.get(DATASTREAM_ENV)
    if override:
        return Path(override).expanduser()
    return content_dir() / "compliance" / DATASTREAM_NAME


def default_waivers(profile: str) -> Path:
    level = profile.removeprefix("anssi_bp28_")
    return content_dir() / "compliance" / f"waivers-anssi-bp28-{level}.yml"


# --- waivers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiver:
    rule: str
    reason: str
    status: str  # not-applicable | accepted
    scope: str = "all"  # all | container: waived only where the host is a container


WAIVER_STATUSES = ("not-applicable", "accepted")
WAIVER_SCOPES = ("all", "container")


def load_waivers(path: Path) -> dict[str, Waiver]:
    """Read and check the waiver file; every problem at once, with its line."""
    if not path.is_file():
        raise InputError(
            Problem(str(path), "(file)", _("waivers.missing"), _("waivers.missing_fix", path=path))
        )
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise InputError(
            Problem(
                str(path),
                "(syntax)",
                str(error).splitlines()[0],
                _("waivers.syntax_fix"),
                line=mark.line + 1 if mark else None,
            )
        ) from error
    problems: list[Problem] = []
    entries = data.get("waivers") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InputError(Problem(str(path), "waivers", _("waivers.not_list"), _("waivers.not_list_fix")))
    nodes = _mapping_value(root, "waivers")
    waivers: dict[str, Waiver] = {}
    for index, entry in enumerate(entries):
        line = _item_line(nodes, index)
        where = f"waivers[{index}]"
        if not isinstance(entry, dict):
            problems.append(Problem(str(path), where, _("waivers.not_mapping"), _("waivers.entry_fix"), line))
            continue
        unknown = sorted(set(entry) - {"rule", "reason", "status", "scope"})
        if unknown:
            problems.append(
                Problem(
                    str(path), f"{where}.{unknown[0]}", _("waivers.unknown_key"), _("waivers.entry_fix"), line
                )
            )
        rule = str(entry.get("rule") or "").removeprefix(RULE_PREFIX)
        reason = str(entry.get("reason") or "").strip()
        status = str(entry.get("status") or "")
        scope = str(entry.get("scope") or "all")
        if not rule:
            problems.append(
                Problem(str(path), f"{where}.rule", _("waivers.no_rule"), _("waivers.entry_fix"), line)
            )
        if len(reason) < 20:
            problems.append(
                Problem(str(path), f"{where}.reason", _("waivers.no_reason"), _("waivers.reason_fix"), line)
            )
        if status not in WAIVER_STATUSES:
            problems.append(
                Problem(
                    str(path),
                    f"{where}.status",
                    _("waivers.bad_choice", value=status, choices=", ".join(WAIVER_STATUSES)),
                    _("waivers.entry_fix"),
                    line,
                )
            )
        if scope not in WAIVER_SCOPES:
            problems.append(
                Problem(
                    str(path),
                    f"{where}.scope",
                    _("waivers.bad_choice", value=scope, choices=", ".join(WAIVER_SCOPES)),
                    _("waivers.entry_fix"),
                    line,
                )
            )
        if rule in waivers:
            problems.append(
                Problem(
                    str(path),
                    f"{where}.rule",
                    _("waivers.duplicate", rule=rule),
                    _("waivers.duplicate_fix"),
                    line,
                )
            )
        if rule:
            waivers[rule] = Waiver(rule=rule, reason=reason, status=status, scope=scope)
    if problems:
        raise InputError(problems)
    return waivers


def _mapping_value(node: Any, key: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == key:
                return value_node
    return None


def _item_line(node: Any, index: int) -> int | None:
    if isinstance(node, yaml.SequenceNode) and index < len(node.value):
        return int(node.value[index].start_mark.line) + 1
    return None


# --- results ---------------------------------------------------------------------------------


@dataclass
class ScapResult:
    profile: str
    counts: dict[str, int]
    failing: list[str]  # applicable rules the host does not satisfy (short ids)
    score: float | None = None
    scanner: str = ""


def parse_results(xml_text: str) -> ScapResult:
    """Count the rule results of an XCCDF 1.2 results document and list the failing rules."""
    root = ET.fromstring(xml_text)
    test_results = root.iter(f"{{{XCCDF_NS}}}TestResult")
    test_result = next(test_results, None)
    if test_result is None:
        raise BastideError(_("results.no_testresult"))
    profile_node = test_result.find(f"{{{XCCDF_NS}}}profile")
    profile = (profile_node.get("idref", "") if profile_node is not None else "").removeprefix(PROFILE_PREFIX)
    counts: Counter[str] = Counter()
    failing: list[str] = []
    for rule_result in test_result.iter(f"{{{XCCDF_NS}}}rule-result"):
        node = rule_result.find(f"{{{XCCDF_NS}}}result")
        result = (node.text or "").strip() if node is not None else "unknown"
        if result == "notselected":  # outside the profile: not part of the judgement
            continue
        counts[result] += 1
        if result in FAILING:
            failing.append(rule_result.get("idref", "").removeprefix(RULE_PREFIX))
    score_node = test_result.find(f"{{{XCCDF_NS}}}score")
    score = float(score_node.text) if score_node is not None and score_node.text else None
    return ScapResult(
        profile=profile,
        counts=dict(sorted(counts.items())),
        failing=sorted(failing),
        score=score,
        scanner=test_result.get("test-system", ""),
    )


@dataclass
class Judgement:
    """The failing rules split by the waiver file; ``ok`` when none is left unexplained."""

    waived: list[dict[str, str]] = field(default_factory=list)
    unwaived: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # waivers for rules that no longer fail

    @property
    def ok(self) -> bool:
        return not self.unwaived


def judge(result: ScapResult, waivers: dict[str, Waiver], *, in_container: bool) -> Judgement:
    judgement = Judgement()
    for rule in result.failing:
        waiver = waivers.get(rule)
        if waiver and (waiver.scope == "all" or in_container):
            judgement.waived.append({"rule": rule, "status": waiver.status, "reason": waiver.reason})
        else:
            judgement.unwaived.append(rule)
    failing = set(result.failing)
    judgement.stale = sorted(rule for rule in waivers if rule not in failing)
    return judgement


def parse_lynis_report(text: str) -> dict[str, Any]:
    """The figures of a Lynis ``report.dat`` bastide reports: index, version, warnings."""
    values: dict[str, Any] = {"warnings": [], "suggestions": 0}
    for line in text.splitlines():
        key, _sep, value = line.partition("=")
        if key == "hardening_index":
            values["hardening_index"] = int(value)
        elif key == "lynis_version":
            values["version"] = value
        elif key == "lynis_tests_done":
            values["tests_done"] = int(value)
        elif key == "warning[]":
            values["warnings"].append(value.split("|")[0])
        elif key == "suggestion[]":
            values["suggestions"] += 1
    return values


# --- running on a host -----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """How to reach the host: the same SSH settings ``bastide deploy`` uses."""

    name: str
    address: str
    user: str
    port: int = 22
    private_key_file: str | None = None
    known_hosts: str | None = None
    http_proxy: str = ""

    def ssh_command(self) -> list[str]:
        command = [
            "ssh",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=10",
            "-o", "StrictHostKeyChecking=accept-new",
            "-p", str(self.port),
        ]  # fmt: skip
        if self.known_hosts:
            command += ["-o", f"UserKnownHostsFile={self.known_hosts}"]
        if self.private_key_file:
            command += ["-i", self.private_key_file]
        return [*command, f"{self.user}@{self.address}"]


class Remote:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.sudo = "" if target.user == "root" else "sudo -n "

    def run(
        self, script: str, *, stdin: bytes | None = None, timeout: int = 900
    ) -> subprocess.CompletedProcess[bytes]:
        command = [*self.target.ssh_command(), f"{self.sudo}sh -c {shlex.quote(script)}"]
        try:
            return subprocess.run(
                command,
                input=stdin,
                stdin=None if stdin is not None else subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as error:
            raise EnvironmentProblem(_("env.no_ssh")) from error

    def check(self, script: str, what: str, **kwargs: Any) -> bytes:
        result = self.run(script, **kwargs)
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise BastideError(
                _("remote.failed", host=self.target.name, what=what, detail=" / ".join(detail))
            )
        return result.stdout


def _apt_install(remote: Remote, packages: list[str]) -> None:
    """Install the judges from Debian, through the inventory's proxy when there is one."""
    proxy = remote.target.http_proxy
    options = f"-o Acquire::http::Proxy={shlex.quote(proxy)} " if proxy else ""
    names = " ".join(packages)
    remote.check(
        f"missing=''; for p in {names}; do "
        f"dpkg-query -W -f '${{Status}}' $p 2>/dev/null | grep -q 'install ok installed' "
        f'|| missing="$missing $p"; '
        f'done; [ -z "$missing" ] && exit 0; export DEBIAN_FRONTEND=noninteractive; '
        f"apt-get {options}-q update >/dev/null && "
        f"apt-get {options}-q -y --no-install-recommends install $missing >/dev/null",
        f"apt-get install {names}",
    )


def is_container(remote: Remote) -> bool:
    result = remote.run("systemd-detect-virt --container")
    if result.returncode == 255:  # ssh itself failed: say why rather than guess
        remote.check("true", "ssh")
    return result.returncode == 0 and result.stdout.decode().strip() not in ("", "none")


# The content recognises "a system with a kernel" by this package, and marks most rule groups
# (SSH, sudo, PAM, AIDE, auditd...) not applicable without it. A container has no kernel
# package, so it is installed there: every rule is then evaluated, and the kernel-level ones
# fail honestly and must be waived with `scope: container`, instead of vanishing as "not
# applicable" together with the controls the roles do apply.
KERNEL_MARKER_PACKAGE = "linux-base"


def run_openscap(
    remote: Remote, datastream: Path, profile: str, *, as_machine: bool = False
) -> tuple[ScapResult, str]:
    """Evaluate ``profile`` on the host; returns the parsed result and the raw XCCDF results."""
    _apt_install(remote, ["openscap-scanner", *([KERNEL_MARKER_PACKAGE] if as_machine else [])])
    remote.check(f"install -d -m 0700 {REMOTE_DIR}", "mkdir")
    remote.check(
        f"cat > {REMOTE_DIR}/{DATASTREAM_NAME} && gunzip -f {REMOTE_DIR}/{DATASTREAM_NAME}",
        "copy the datastream",
        stdin=datastream.read_bytes(),
    )
    ds = f"{REMOTE_DIR}/{DATASTREAM_NAME.removesuffix('.gz')}"
    # oscap exits 2 when at least one rule fails: that is a result, not an error.
    evaluation = remote.run(
        f"oscap xccdf eval --profile {PROFILE_PREFIX}{profile} "
        f"--results {REMOTE_DIR}/results.xml {ds} >/dev/null",
        timeout=1800,
    )
    if evaluation.returncode not in (0, 2):
        detail = evaluation.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise BastideError(
            _("remote.failed", host=remote.target.name, what="oscap xccdf eval", detail=" / ".join(detail))
        )
    xml_text = remote.check(f"cat {REMOTE_DIR}/results.xml", "read results").decode()
    result = parse_results(xml_text)
    result.scanner = remote.check("oscap --version | head -1", "oscap --version").decode().strip()
    return result, xml_text


LYNIS_PROFILE = """\
# bastide: offline run, no upgrade check against cisofy.com.
skip-upgrade-test=yes
"""


def run_lynis(remote: Remote) -> dict[str, Any]:
    _apt_install(remote, ["lynis"])
    remote.check(f"install -d -m 0700 {REMOTE_DIR}", "mkdir")
    remote.check(f"cat > {REMOTE_DIR}/bastide.prf", "write the Lynis profile", stdin=LYNIS_PROFILE.encode())
    remote.check(
        f"lynis audit system --quick --no-colors --profile {REMOTE_DIR}/bastide.prf "
        f"--logfile {REMOTE_DIR}/lynis.log --report-file {REMOTE_DIR}/lynis-report.dat >/dev/null",
        "lynis audit system",
        timeout=1800,
    )
    return parse_lynis_report(
        remote.check(f"cat {REMOTE_DIR}/lynis-report.dat", "read the Lynis report").decode()
    )


@dataclass
class Report:
    host: str
    date: str
    profile: str
    datastream: str
    waivers_file: str
    in_container: bool
    evaluated_as_machine: bool
    scap: ScapResult
    judgement: Judgement
    lynis: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.judgement.ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "date": self.date,
            "profile": self.profile,
            "datastream": self.datastream,
            "waivers_file": self.waivers_file,
            "in_container": self.in_container,
            "evaluated_as_machine": self.evaluated_as_machine,
            "openscap": asdict(self.scap),
            "waived": self.judgement.waived,
            "unwaived": self.judgement.unwaived,
            "stale_waivers": self.judgement.stale,
            "lynis": self.lynis,
            "ok": self.ok,
        }


def check_host(
    target: Target,
    *,
    datastream: Path | None = None,
    waivers_file: Path | None = None,
    profile: str = "anssi_bp28_intermediary",
    lynis: bool = True,
    results_dir: Path | None = None,
    evaluate_all: bool = True,
) -> Report:
    """Judge one host: OpenSCAP against the waivers, and (optionally) the Lynis index."""
    datastream = datastream or default_datastream()
    if not datastream.is_file():
        raise EnvironmentProblem(_("env.no_datastream", path=datastream, env=DATASTREAM_ENV))
    if profile not in PROFILES:
        raise InputError(
            Problem(
                "(command line)",
                "--profile",
                _("profile.unknown", value=profile),
                _("profile.fix", choices=", ".join(PROFILES)),
            )
        )
    waivers_file = waivers_file or default_waivers(profile)
    waivers = load_waivers(waivers_file)  # bad waivers are bad input: fail before touching the host
    remote = Remote(target)
    container = is_container(remote)
    scap, xml_text = run_openscap(remote, datastream, profile, as_machine=container and evaluate_all)
    lynis_report = run_lynis(remote) if lynis else None
    if results_dir:
        results_dir.mkdir(parents=True, exist_ok=True)
        (results_dir / f"{target.name}-{profile}-results.xml").write_text(xml_text, encoding="utf-8")
    return Report(
        host=target.name,
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        profile=profile,
        datastream=str(datastream),
        waivers_file=str(waivers_file),
        in_container=container,
        evaluated_as_machine=container and evaluate_all,
        scap=scap,
        judgement=judge(scap, waivers, in_container=container),
        lynis=lynis_report,
    )
