"""`lab up` recovers, without manual cleanup, from a host that died, from a run killed half-way,
and from a missing or half-built base system."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bastide.core.lab import Lab, LabInfo, base, procs

pytestmark = pytest.mark.lab


def nspawn_processes(the_lab: Lab) -> list[int]:
    return [
        pid for pid in procs.processes_mentioning(the_lab.dir) if procs.cmdline(pid)[0] == "systemd-nspawn"
    ]


def test_up_recovers_from_a_host_that_died(lab: LabInfo) -> None:
    from lab_fixtures import bring_up

    the_lab = Lab(lab.lab_id)
    hosts = len(lab.hosts)
    victim = lab.hosts[0][0]
    pid = procs.daemon_pid(f"host-{victim}", the_lab.dir / "pids")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # nspawn gone, its machine's processes orphaned
    assert procs.wait_for(lambda: not procs.alive(pid), 10)
    assert not the_lab.is_up(hosts)
    bring_up(the_lab, hosts)
    assert the_lab.is_up(hosts)
    assert len(nspawn_processes(the_lab)) == hosts
    assert the_lab.status().hosts[0].state == "running"


def test_up_recovers_from_a_run_killed_half_way(lab: LabInfo) -> None:
    from lab_fixtures import bring_up

    the_lab = Lab(lab.lab_id)
    hosts = len(lab.hosts)
    the_lab.down()
    run = subprocess.Popen(
        [sys.executable, "-m", "bastide", "lab", "up", "--hosts", str(hosts), "--no-inventory"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Killed once the first machine is booting: namespaces, mounts and daemons are in place.
        assert procs.wait_for(lambda: bool(nspawn_processes(the_lab)), 60, interval=0.05)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    assert the_lab.leftovers(), "a killed run leaves things behind: the case to recover from"
    bring_up(the_lab, hosts)
    assert the_lab.is_up(hosts)
    assert len(nspawn_processes(the_lab)) == hosts
    assert all(host.state == "running" for host in the_lab.status().hosts)


def test_base_is_rebuilt_when_missing_or_half_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTIDE_LAB_BASE_DIR", str(tmp_path))
    target = base.base_dir()
    assert target.parent == tmp_path
    # What an interrupted build leaves: a half-filled work directory, a target without marker.
    (target.with_name(target.name + ".building") / "etc").mkdir(parents=True)
    (target / "etc").mkdir(parents=True)
    assert not base.is_ready(target)
    started = time.monotonic()
    path, built = base.ensure_base(log=lambda message: None)
    assert built and path == target and base.is_ready(target)
    assert not target.with_name(target.name + ".building").exists()
    assert (target / "usr/sbin/sshd").is_file() and (target / "usr/bin/python3").exists()
    assert not list((target / "etc/ssh").glob("ssh_host_*")), "host keys are made per host"
    again, built_again = base.ensure_base(log=lambda message: None)
    assert again == target and not built_again
    print(f"base built in {time.monotonic() - started:.0f} s")
