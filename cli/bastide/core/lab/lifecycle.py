"""Bringing a whole lab up and down: the order of things, recovery from earlier runs, status."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastide import paths
from bastide.core.lab import (
    acme,
    base,
    cgroups,
    dns,
    hostsfile,
    machines,
    network,
    prerequisites,
    procs,
    proxy,
    s3,
    smtp,
    sshkeys,
)
from bastide.core.lab.info import INFO_FILE, AcmeInfo, LabInfo, S3Info, SmtpInfo, lab_dir
from bastide.core.lab.plan import HostPlan, LabPlan, lab_id_from_env, plan
from bastide.errors import BastideError
from bastide.i18n import Messages

_ = Messages("lab")

EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")
SERVICE_DAEMONS = ("squid", "dnsmasq", "smtp-sink", "pebble", *s3.DAEMONS)
BOOT_TIMEOUT = 120.0


class LabError(BastideError):
    """The lab could not be brought up; the message names the log to read."""


def controller_extra_cas() -> list[Path]:
    """The CA files the controller trusts on top of Debian's (a site proxy's CA, for instance)."""
    if not EXTRA_CA_DIR.is_dir():
        return []
    return sorted(path for path in EXTRA_CA_DIR.rglob("*.crt") if path.is_file())


@contextlib.contextmanager
def system_umask() -> Iterator[None]:
    """The umask a Debian system's own files are made with: the hosts' disks (the base, what the
    controller writes into each) must not inherit a hardened controller's 077, or the hosts'
    services could read none of their configuration (sshd included: the host never answers).
    Process-wide: set around the whole of an up or a replace, never per host thread."""
    kept = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(kept)


@dataclass
class HostStatus:
    name: str
    address: str
    running: bool
    state: str = "unknown"  # systemctl is-system-running, when reachable


@dataclass
class LabStatus:
    lab_id: int
    up: bool
    hosts: list[HostStatus] = field(default_factory=list)
    services: dict[str, bool] = field(default_factory=dict)
    leftovers: list[str] = field(default_factory=list)


class Lab:
    """One lab (``lab_id``, state under ``state_dir``/lab/<id>); see the package docstring."""

    def __init__(
        self,
        lab_id: int | None = None,
        state_dir: Path | None = None,
        *,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.lab_id = lab_id_from_env() if lab_id is None else lab_id
        plan(self.lab_id, 1)  # validates the id
        self.state_root = Path(state_dir) if state_dir else paths.state_dir()
        self.dir = lab_dir(self.lab_id, self.state_root)
        self.log = log or (lambda message: None)

    # -- reading -------------------------------------------------------------------------
    def info(self) -> LabInfo | None:
        return LabInfo.load(self.lab_id, self.state_root)

    def _recorded_plan(self) -> LabPlan | None:
        info = self.info()
        return plan(self.lab_id, len(info.hosts)) if info and info.hosts else None

    def is_up(self, hosts: int | None = None) -> bool:
        """Every recorded host and lab service is alive (and there are ``hosts`` hosts)."""
        recorded = self._recorded_plan()
        if recorded is None or (hosts is not None and len(recorded.hosts) != hosts):
            return False
        if not all(machines.running(self.dir, host) for host in recorded.hosts):
            return False
        return all(procs.daemon_pid(name, self.dir / "pids") is not None for name in SERVICE_DAEMONS)

    def status(self, *, probe: bool = True) -> LabStatus:
        recorded = self._recorded_plan()
        result = LabStatus(lab_id=self.lab_id, up=self.is_up())
        result.services = {
            name: procs.daemon_pid(name, self.dir / "pids") is not None for name in SERVICE_DAEMONS
        }
        for host in recorded.hosts if recorded else ():
            running = machines.running(self.dir, host)
            state = (
                self._system_state(host) if running and probe else ("stopped" if not running else "unknown")
            )
            result.hosts.append(HostStatus(host.name, host.address, running, state))
        if recorded is None:
            result.leftovers = self.leftovers()
        return result

    def _system_state(self, host: HostPlan, wait: bool = False) -> str:
        command = ["systemctl", "is-system-running", *(["--wait"] if wait else [])]
        try:
            answer = subprocess.run(
                self.ssh_argv(host.address, command),
                capture_output=True,
                text=True,
                timeout=BOOT_TIMEOUT if wait else 15,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return "unreachable"
        return answer.stdout.strip() or "unreachable"

    def ssh_argv(self, host: str, command: list[str] | None = None) -> list[str]:
        info = self.info()
        key = self.dir / "ssh" / "id_ed25519"
        known = self.dir / "ssh" / "known_hosts"
        target = host
        if info:
            names = {name: address for name, address in info.hosts}
            target = names.get(host, host)
        return ["ssh", *sshkeys.ssh_options(key, known), f"root@{target}", *(command or [])]

    def _own_processes(self) -> list[int]:
        # Squid's files sit beside its cache, outside the lab's state directory.
        return procs.processes_mentioning(self.dir) + procs.processes_mentioning(proxy.run_dir(self.lab_id))

    def leftovers(self) -> list[str]:
        """What of this lab still exists on the controller (empty after a clean ``down``)."""
        found = network.leftovers(self.lab_id)
        found += [f"mount {point}" for point in machines.mount_points_under(self.dir)]
        pid_dir = self.dir / "pids"
        pids = set(self._own_processes())
        for pid_file in sorted(pid_dir.glob("*.pid")) if pid_dir.is_dir() else []:
            alive = procs.read_pid(pid_file)
            if alive:
                pids.add(alive[0])
        for group in cgroups.lab_groups(self.lab_id):
            pids.update(pid for pid in cgroups.pids_under(group) if procs.alive(pid))
            if group.is_dir():
                found.append(f"cgroup {group}")
        found += [f"process {pid} ({' '.join(procs.cmdline(pid))[:100]})" for pid in sorted(pids)]
        if hostsfile.has_block(self.lab_id):
            found.append(f"/etc/hosts block of lab {self.lab_id}")
        return found

    # -- changing ------------------------------------------------------------------------
    def up(
        self, hosts: int, *, install_packages: bool = True, domains: dict[str, str] | None = None
    ) -> LabInfo:
        """Bring the lab up with ``hosts`` hosts (reusing it if it already runs that way).

        ``domains`` maps DNS names (commune domains) to lab host names, for the lab DNS that
        pebble validates through.
        """
        lab = plan(self.lab_id, hosts)
        prerequisites.ensure(install=install_packages, log=self.log)
        if self.is_up(hosts):
            self.log(_("up.reusing", lab=self.lab_id))
            if domains is not None:
                dns.start(lab, self.dir, self._domain_addresses(lab, domains))
                procs.wait_for(lambda: dns.ready(lab), 10)
            info = self.info()
            assert info is not None
            return info
        self.down(quiet=True)  # whatever an earlier run left, half-started or killed
        try:
            with system_umask():
                return self._up(lab, domains or {})
        except BaseException:
            self.log(_("up.failed_cleanup", logs=self.dir / "logs"))
            self.down(quiet=True)
            raise

    def _domain_addresses(self, lab: LabPlan, domains: dict[str, str]) -> dict[str, str]:
        addresses = {host.name: host.address for host in lab.hosts}
        # Every host also answers for <host>.lab<id>.bastide.test and the names under it, so
        # ACME can be exercised without an inventory.
        found = {f"{host.name}.{lab.domain}": host.address for host in lab.hosts}
        found.update({domain: addresses.get(target, target) for domain, target in domains.items()})
        return found

    def _up(self, lab: LabPlan, domains: dict[str, str]) -> LabInfo:
        started = time.monotonic()
        self.dir.mkdir(parents=True, exist_ok=True)
        base_path, built = base.ensure_base(log=self.log)
        key = sshkeys.ensure_key(self.dir / "ssh", f"bastide-lab-{self.lab_id}")
        public_key = key.with_suffix(".pub").read_text(encoding="utf-8").strip()
        acme.ensure_server_ca(lab, self.dir)
        extra_cas = controller_extra_cas()
        network.ensure_bridge(lab)
        for host in lab.hosts:
            network.setup_host(lab, host)

        timings: dict[str, float] = {"base": time.monotonic() - started}

        def timed(name: str, function: Callable[..., Any], *args: Any) -> Any:
            begin = time.monotonic()
            result = function(*args)
            timings[name] = time.monotonic() - begin
            return result

        with ThreadPoolExecutor(max_workers=5) as pool:
            services: dict[str, Future[Any]] = {
                "s3": pool.submit(timed, "s3", s3.start, lab, self.dir),
                "proxy": pool.submit(timed, "proxy", proxy.start, lab, self.dir),
                "dns": pool.submit(
                    timed, "dns", dns.start, lab, self.dir, self._domain_addresses(lab, domains)
                ),
                "smtp": pool.submit(timed, "smtp", smtp.start, lab, self.dir),
                "acme": pool.submit(timed, "acme", acme.start, lab, self.dir),
            }
            host_keys = timed(
                "hosts_created",
                self._start_hosts,
                lab,
                base_path,
                public_key,
                [*extra_cas, acme.server_ca_path(self.dir)],
            )
            known_hosts = self.dir / "ssh" / "known_hosts"
            known_hosts.write_text(
                sshkeys.known_hosts_text([([h.name, h.address], host_keys[h.name]) for h in lab.hosts]),
                encoding="utf-8",
            )
            hostsfile.install(
                self.lab_id, [(lab.gateway_name, lab.gateway)] + [(h.name, h.address) for h in lab.hosts]
            )
            for name in ("proxy", "dns", "smtp", "acme"):
                services[name].result()
            timed("services_ready", self._wait_services, lab)
            timed("hosts_booted", self._wait_hosts, lab)
            access_key, _secret = services["s3"].result()

        issuer_root = acme.fetch_issuer_root(lab, self.dir)
        info = LabInfo(
            lab_id=self.lab_id,
            hosts=[(h.name, h.address) for h in lab.hosts],
            gateway=lab.gateway,
            gateway_name=lab.gateway_name,
            ssh_key=str(key),
            ssh_public_key=public_key,
            known_hosts=str(known_hosts),
            ssh_user="root",
            proxy_url=proxy.proxy_url(lab),
            s3=S3Info(
                endpoint=s3.endpoint(lab),
                access_key=access_key,
                secret_key_file=str(s3.secret_key_path(self.dir)),
            ),
            acme=AcmeInfo(
                directory=acme.directory_url(lab),
                server_ca_pem=str(acme.server_ca_path(self.dir)),
                issuer_root_pem=str(issuer_root),
                dns_server=f"{lab.gateway}:53",
            ),
            smtp=SmtpInfo(host=lab.gateway, port=smtp.PORT, maildir=str(smtp.maildir(self.dir))),
            extra_cas=[str(path) for path in extra_cas],
            state_dir=str(self.dir),
        )
        info.save()
        timings["total"] = time.monotonic() - started
        (self.dir / "logs" / "up-timings.json").write_text(
            json.dumps(timings, indent=2) + "\n", encoding="utf-8"
        )
        self.log(
            _(
                "up.done",
                lab=self.lab_id,
                hosts=len(lab.hosts),
                seconds=f"{time.monotonic() - started:.1f}",
                base=_("up.base_built") if built else _("up.base_cached"),
            )
        )
        return info

    def _start_hosts(self, lab: LabPlan, base_path: Path, public_key: str, cas: list[Path]) -> dict[str, str]:
        def one(host: HostPlan) -> tuple[str, str]:
            return host.name, self._make_host(lab, host, base_path, public_key, cas)

        with ThreadPoolExecutor(max_workers=len(lab.hosts)) as pool:
            return dict(pool.map(one, lab.hosts))

    def _make_host(
        self, lab: LabPlan, host: HostPlan, base_path: Path, public_key: str, cas: list[Path]
    ) -> str:
        """A host's disk made from the base, given the lab's key, proxy and CAs, and booted; its
        new SSH host key."""
        root = machines.prepare_root(self.dir, host, base_path)
        host_key = machines.configure_root(
            root, lab, host, public_key=public_key, proxy_url=proxy.proxy_url(lab), ca_files=cas
        )
        machines.boot(lab, self.dir, host)
        return host_key

    def _wait_services(self, lab: LabPlan) -> None:
        checks: dict[str, Callable[[], bool]] = {
            "squid": lambda: proxy.ready(lab),
            "dnsmasq": lambda: dns.ready(lab),
            "smtp-sink": lambda: smtp.ready(lab),
            "pebble": lambda: acme.ready(lab, self.dir),
        }
        for name, check in checks.items():
            if not procs.wait_for(check, 30):
                raise LabError(_("up.service_failed", service=name, log=self.dir / "logs" / f"{name}.log"))

    def _wait_hosts(self, lab: LabPlan, hosts: list[HostPlan] | None = None) -> None:
        waited = lab.hosts if hosts is None else hosts

        def one(host: HostPlan) -> tuple[HostPlan, str]:
            reachable = procs.wait_for(
                lambda: (
                    procs.run(self.ssh_argv(host.address, ["true"]), check=False, timeout=10).returncode == 0
                    or not machines.running(self.dir, host)
                ),
                BOOT_TIMEOUT,
                interval=0.3,
            )
            if not reachable or not machines.running(self.dir, host):
                return host, "unreachable"
            return host, self._system_state(host, wait=True)

        with ThreadPoolExecutor(max_workers=len(waited)) as pool:
            for host, state in pool.map(one, waited):
                if state != "running":
                    raise LabError(
                        _(
                            "up.host_failed",
                            host=host.name,
                            state=state,
                            log=self.dir / "logs" / f"host-{host.name}.log",
                        )
                    )

    def replace(self, host_name: str) -> LabInfo:
        """A fresh server in place of a lost one, as a provider hands out after a disaster: the
        same name and address, a new disk holding only the base system, a new SSH host key
        (written into the lab's known_hosts). Everything deployed on the old one is gone."""
        info = self.info()
        lab = self._recorded_plan()
        if info is None or lab is None or not self.is_up():
            raise LabError(_("replace.not_up", lab=self.lab_id))
        host = next((h for h in lab.hosts if host_name in (h.name, h.address)), None)
        if host is None:
            raise LabError(_("replace.no_host", host=host_name, hosts=", ".join(h.name for h in lab.hosts)))
        started = time.monotonic()
        machines.stop(self.lab_id, self.dir, host)
        with system_umask():
            base_path, _built = base.ensure_base(log=self.log)
            cas = [*map(Path, info.extra_cas), acme.server_ca_path(self.dir)]
            host_key = self._make_host(lab, host, base_path, info.ssh_public_key, cas)
        known_hosts = Path(info.known_hosts)
        kept = [
            line
            for line in known_hosts.read_text(encoding="utf-8").splitlines()
            if line and host.address not in line.split(" ", 1)[0].split(",")
        ]
        kept.append(sshkeys.known_hosts_text([([host.name, host.address], host_key)]).strip())
        known_hosts.write_text("\n".join(kept) + "\n", encoding="utf-8")
        self._wait_hosts(lab, [host])
        self.log(_("replace.done", host=host.name, seconds=f"{time.monotonic() - started:.1f}"))
        return info

    def down(self, *, quiet: bool = False) -> None:
        """Stop everything of this lab and remove what it put on the controller. Idempotent."""
        pid_dir = self.dir / "pids"
        host_names = (
            sorted(p.stem[len("host-") :] for p in pid_dir.glob("host-*.pid")) if pid_dir.is_dir() else []
        )
        recorded = self._recorded_plan()
        count = max([len(recorded.hosts) if recorded else 0] + [_index(n) for n in host_names])
        hosts = plan(self.lab_id, count).hosts if count else ()
        if hosts:
            with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
                list(pool.map(lambda host: machines.stop(self.lab_id, self.dir, host), hosts))
        # Namespaces of hosts beyond what the records say (a run killed before writing them).
        for ns in network.namespaces():
            if ns.startswith(f"bl{self.lab_id}h"):
                for pid in machines.netns_pids(ns):
                    procs.stop_pid(pid, timeout=0.1)
        for pid_file in sorted(pid_dir.glob("host-*.pid")) if pid_dir.is_dir() else []:
            procs.stop_daemon(pid_file.stem, pid_dir)
        smtp.stop(self.dir)
        acme.stop(self.dir)
        dns.stop(self.dir)
        proxy.stop(self.dir)
        s3.stop(self.dir)
        for pid in self._own_processes():
            procs.stop_pid(pid, timeout=5)
        for group in cgroups.lab_groups(self.lab_id):
            for pid in cgroups.pids_under(group):
                procs.stop_pid(pid, timeout=0.1)
            cgroups.remove(group)
        machines.unmount_all_under(self.dir)
        network.teardown(self.lab_id)
        hostsfile.remove(self.lab_id)
        for leftover in ("machines", "ceph", "mail", "pids", "dns"):
            shutil.rmtree(self.dir / leftover, ignore_errors=True)
        for leftover_file in (INFO_FILE, "ssh/known_hosts"):
            (self.dir / leftover_file).unlink(missing_ok=True)
        if not quiet:
            self.log(_("down.done", lab=self.lab_id))


def _index(host_name: str) -> int:
    try:
        return int(host_name.rsplit("-h", 1)[1])
    except (IndexError, ValueError):
        return 0
