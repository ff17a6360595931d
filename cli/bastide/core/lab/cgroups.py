"""A cgroup per lab host, so that each host's systemd manages its own subtree.

The controller's PID 1 is not systemd and every process sits in the root cgroup. A machine
booted from there would take the whole cgroup tree for its own: two hosts' systemd would then
create and remove the same ``/system.slice/...`` groups, and units fail at random ("Failed to
attach to cgroup"). Moving nspawn into ``bastide/lab<id>/<host>`` before it starts the machine
gives each host a subtree of its own (in the named ``systemd`` hierarchy and in the unified one),
and lists, at ``lab down``, every process a host left behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def hierarchies() -> list[Path]:
    hybrid = [
        CGROUP_ROOT / name
        for name in ("systemd", "unified")
        if (CGROUP_ROOT / name / "cgroup.procs").exists()
    ]
    if hybrid:
        return hybrid
    return [CGROUP_ROOT] if (CGROUP_ROOT / "cgroup.procs").exists() else []


def lab_groups(lab_id: int) -> list[Path]:
    return [root / "bastide" / f"lab{lab_id}" for root in hierarchies()]


def host_groups(lab_id: int, host_name: str) -> list[Path]:
    groups = [group / host_name for group in lab_groups(lab_id)]
    for group in groups:
        group.mkdir(parents=True, exist_ok=True)
    return groups


def joiner(groups: list[Path]) -> Callable[[], None]:
    """A ``preexec_fn`` moving the child into ``groups`` (plain system calls only: it runs
    between fork and exec)."""
    paths = [str(group / "cgroup.procs").encode() for group in groups]

    def join() -> None:
        pid = str(os.getpid()).encode()
        for path in paths:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)

    return join


def pids_under(group: Path) -> list[int]:
    found: list[int] = []
    if not group.is_dir():
        return found
    # The host's systemd creates and removes groups below while we walk: os.walk skips the
    # directories that vanish (rglob raises on them).
    for directory, _subdirs, files in os.walk(group):
        if "cgroup.procs" not in files:
            continue
        try:
            found += [int(pid) for pid in Path(directory, "cgroup.procs").read_text().split()]
        except OSError:
            continue
    return sorted(set(found))


def remove(group: Path) -> None:
    """Remove ``group`` and its empty children, deepest first (cgroups are removed with rmdir)."""
    if not group.is_dir():
        return
    for directory, _subdirs, _files in os.walk(group, topdown=False):
        with contextlib.suppress(OSError):
            os.rmdir(directory)
    with contextlib.suppress(OSError):
        group.rmdir()
