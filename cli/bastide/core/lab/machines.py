"""Lab hosts: an overlay over the cached base, configured from the controller, booted by nspawn.

Each host's root is an overlay mount (lower: the shared read-only base; upper: this host's
changes, discarded by ``lab down``), so creating a host costs no copy. Identity and lab wiring
(hostname, machine-id, SSH host keys, the lab key, trusted CAs, apt and pip proxy, resolver)
are written into the root before boot, so the host comes up ready for Ansible.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from bastide.core.lab import cgroups, procs
from bastide.core.lab.plan import HostPlan, LabPlan

NSPAWN = "systemd-nspawn"
CA_DIR_IN_HOST = "usr/local/share/ca-certificates/bastide-lab"


def machine_dir(lab_dir: Path, host: HostPlan) -> Path:
    return lab_dir / "machines" / host.name


def root_dir(lab_dir: Path, host: HostPlan) -> Path:
    return machine_dir(lab_dir, host) / "root"


def mounted(path: Path) -> bool:
    return str(path) in mount_points_under(path.parent)


def mount_points_under(directory: Path) -> list[str]:
    """Mount points at or below ``directory`` in the controller's namespace, deepest first."""
    prefix = str(directory.resolve()).rstrip("/")
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    return sorted(set(points), key=len, reverse=True)


def unmount_all_under(directory: Path) -> None:
    for point in mount_points_under(directory):
        if procs.run(["umount", point], check=False).returncode != 0:
            procs.run(["umount", "-l", point], check=False)


def prepare_root(lab_dir: Path, host: HostPlan, base: Path) -> Path:
    """A fresh overlay root for ``host`` (whatever a previous run left there is discarded)."""
    machine = machine_dir(lab_dir, host)
    unmount_all_under(machine)
    if machine.exists():
        shutil.rmtree(machine)
    for sub in ("upper", "work", "root"):
        (machine / sub).mkdir(parents=True)
    root = machine / "root"
    procs.run(
        [
            "mount",
            "-t",
            "overlay",
            "overlay",
            "-o",
            f"lowerdir={base},upperdir={machine / 'upper'},workdir={machine / 'work'}",
            str(root),
        ]
    )
    return root


def hosts_file(lab: LabPlan, host: HostPlan) -> str:
    lines = ["127.0.0.1\tlocalhost", f"127.0.1.1\t{host.name}", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines.append(f"{lab.gateway}\t{lab.gateway_name}")
    lines += [f"{other.address}\t{other.name}" for other in lab.hosts]
    return "\n".join(lines) + "\n"


def apt_proxy_conf(proxy_url: str) -> str:
    return (
        "// Written by bastide lab up: lab hosts reach the package mirrors only through the lab proxy.\n"
        f'Acquire::http::Proxy "{proxy_url}";\n'
        f'Acquire::https::Proxy "{proxy_url}";\n'
    )


def pip_conf(proxy_url: str) -> str:
    return (
        "# Written by bastide lab up: PyPI only through the lab proxy, verified with the system CAs.\n"
        "[global]\n"
        f"proxy = {proxy_url}\n"
        "cert = /etc/ssl/certs/ca-certificates.crt\n"
    )


def configure_root(
    root: Path,
    lab: LabPlan,
    host: HostPlan,
    *,
    public_key: str,
    proxy_url: str,
    ca_files: Iterable[Path],
) -> str:
    """Write the host's identity and lab wiring; returns its SSH host public key line."""
    _write(root / "etc/hostname", host.name + "\n")
    _write(root / "etc/hosts", hosts_file(lab, host))
    _write(root / "etc/resolv.conf", f"nameserver {lab.gateway}\n")
    _write(root / "etc/machine-id", secrets.token_hex(16) + "\n")
    _write(root / "etc/apt/apt.conf.d/80bastide-lab-proxy", apt_proxy_conf(proxy_url))
    _write(root / "etc/pip.conf", pip_conf(proxy_url))
    ssh_dir = root / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write(ssh_dir / "authorized_keys", public_key.strip() + "\n", mode=0o600)
    key = root / "etc/ssh/ssh_host_ed25519_key"
    for old in (root / "etc/ssh").glob("ssh_host_*"):
        old.unlink()
    procs.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{host.name}", "-f", str(key)])
    ca_dir = root / CA_DIR_IN_HOST
    ca_dir.mkdir(parents=True, exist_ok=True)
    for ca in ca_files:
        name = ca.name if ca.name.endswith(".crt") else ca.stem + ".crt"
        shutil.copyfile(ca, ca_dir / name)
    procs.run(["chroot", str(root), "update-ca-certificates"], timeout=120)
    return key.with_suffix(".pub").read_text(encoding="utf-8").strip()


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        path.unlink()
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def boot(lab: LabPlan, lab_dir: Path, host: HostPlan) -> int:
    root = root_dir(lab_dir, host)
    argv = [
        NSPAWN,
        "--quiet",
        f"--directory={root}",
        f"--machine={host.name}",
        "--boot",
        "--register=no",
        "--keep-unit",
        f"--network-namespace-path=/run/netns/{host.netns}",
        # The namespace is the host's own: it may manage its firewall (nftables) there, as a
        # real server does. nspawn grants CAP_NET_ADMIN only with networking it made itself.
        "--capability=CAP_NET_ADMIN",
        "--resolv-conf=off",
        "--timezone=off",
        "--link-journal=no",
        "--console=passive",
    ]
    groups = cgroups.host_groups(lab.lab_id, host.name)
    return procs.start_daemon(
        f"host-{host.name}", argv, lab_dir / "pids", lab_dir / "logs", preexec=cgroups.joiner(groups)
    )


def running(lab_dir: Path, host: HostPlan) -> bool:
    return procs.daemon_pid(f"host-{host.name}", lab_dir / "pids") is not None


def netns_pids(netns: str) -> list[int]:
    result = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True, check=False)
    return [int(pid) for pid in result.stdout.split() if pid.isdigit()]


def stop(lab_id: int, lab_dir: Path, host: HostPlan, *, timeout: float = 20.0) -> None:
    """Power the host off (SIGTERM makes nspawn shut its systemd down), then make sure."""
    procs.stop_daemon(f"host-{host.name}", lab_dir / "pids", timeout=timeout)
    # Whatever still lives in the host's network namespace belongs to it (a killed nspawn
    # leaves its container's init orphaned): SIGKILL to those ends them.
    leftover = set(netns_pids(host.netns))
    for group in cgroups.lab_groups(lab_id):
        leftover.update(cgroups.pids_under(group / host.name))
    for pid in leftover:
        procs.stop_pid(pid, timeout=0.1)
    for group in cgroups.lab_groups(lab_id):
        cgroups.remove(group / host.name)
    unmount_all_under(machine_dir(lab_dir, host))
