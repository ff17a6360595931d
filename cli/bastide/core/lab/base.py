"""The cached Debian 12 base system every lab host boots from.

debootstrap takes about a minute, so the base is built once and shared by every lab on the
machine (``/var/cache/bastide/base-bookworm-<recipe>``; ``BASTIDE_LAB_BASE_DIR`` moves the cache,
which the benchmark uses to measure a cold start without disturbing running labs). Hosts mount
it read-only as the lower layer of an overlay, so it must never change once published: it is
built in a temporary directory under an exclusive lock and renamed into place, and a new recipe
gets a new directory.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from bastide.core.lab.procs import run

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# What Ansible and the lab's own plumbing need on every host: systemd as PID 1, sshd, Python
# with apt bindings (the apt module), sudo (become), CA handling, pip/venv for the test of the
# proxy and for roles that build virtualenvs.
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "python3-apt",
    "python3-pip",
    "python3-venv",
    "iproute2",
    "sudo",
    "ca-certificates",
    "curl",
    "procps",
    "less",
)
SOURCES_LIST = (
    f"deb {MIRROR} {SUITE} main\n"
    f"deb {MIRROR} {SUITE}-updates main\n"
    f"deb http://deb.debian.org/debian-security {SUITE}-security main\n"
)
MARKER = ".bastide-base-complete"
# Units that cannot work inside a container on this machine; masked so hosts boot "running".
MASKED_UNITS = ("systemd-timesyncd.service", "apt-daily.timer", "apt-daily-upgrade.timer")


def recipe_digest() -> str:
    text = "\n".join([SUITE, MIRROR, *PACKAGES, SOURCES_LIST, *MASKED_UNITS, "v2"])
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def cache_root() -> Path:
    return Path(os.environ.get("BASTIDE_LAB_BASE_DIR", "/var/cache/bastide"))


def base_dir() -> Path:
    return cache_root() / f"base-{SUITE}-{recipe_digest()}"


def is_ready(path: Path | None = None) -> bool:
    return ((path or base_dir()) / MARKER).is_file()


def ensure_base(log: Callable[[str], object] = print) -> tuple[Path, bool]:
    """The base directory, built if missing; also says whether it had to be built."""
    target = base_dir()
    if is_ready(target):
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another lab may be building the same base
        if is_ready(target):
            return target, False
        log(f"building the Debian {SUITE} base in {target} (once; about a minute)")
        _build(target)
    return target, True


def _build(target: Path) -> None:
    work = target.with_name(target.name + ".building")
    if work.exists():
        shutil.rmtree(work)  # left by an interrupted build
    if target.exists():
        shutil.rmtree(target)  # incomplete (no marker)
    debs = cache_root() / "debootstrap-debs"
    debs.mkdir(parents=True, exist_ok=True)
    run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            f"--cache-dir={debs}",
            SUITE,
            str(work),
            MIRROR,
        ],
        timeout=1800,
    )
    (work / "etc/apt/sources.list").write_text(SOURCES_LIST, encoding="utf-8")
    # Each host gets its own identity: host keys and machine-id are written per host.
    for key in (work / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (work / "etc/machine-id").write_text("", encoding="utf-8")
    dbus_id = work / "var/lib/dbus/machine-id"
    if dbus_id.is_symlink() or dbus_id.exists():
        dbus_id.unlink()
    for unit in MASKED_UNITS:
        link = work / "etc/systemd/system" / unit
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists() and not link.is_symlink():
            link.symlink_to("/dev/null")
    run(["chroot", str(work), "apt-get", "clean"])
    (work / MARKER).write_text(recipe_digest() + "\n", encoding="utf-8")
    work.rename(target)
