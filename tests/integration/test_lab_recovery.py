"""`lab up` recovers, without manual cleanup, from a host that died, from a run killed half-way,
and from a missing or half-built base system."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from bastide.core.lab import Lab, LabInfo, base, procs

pytestmark = pytest.mark.lab


def nspawn_processes(the_lab: Lab) -> list[int]:
    return [
        pid for pid in procs.processes_mentioning(the_lab.dir) if procs.cmdline(pid)[:1] == ["systemd-nspawn"]
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


def _seed_debootstrap_cache(shared: Path, cache: Path) -> None:
    """Hard-link the shared cache's .debs into ``cache`` so that debootstrap really runs (unpacks,
    configures, every step of a build) without downloading the same 60 MB again."""
    target = cache / "debootstrap-debs"
    target.mkdir(parents=True)
    for deb in shared.glob("*.deb") if shared.is_dir() else ():
        try:
            os.link(deb, target / deb.name)
        except OSError:
            shutil.copyfile(deb, target / deb.name)


def test_up_rebuilds_a_missing_or_half_built_base(lab: LabInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    """The one test that runs debootstrap (about a minute and a half on 2 cores), in a cache
    directory of its own (``BASTIDE_LAB_BASE_DIR``): the shared base is never touched."""
    from lab_fixtures import bring_up

    the_lab = Lab(lab.lab_id)
    hosts = len(lab.hosts)
    # Not under pytest's tmp_path: Squid (user proxy) keeps its cache below this directory and
    # must be able to reach it, which pytest's 0700 base directory forbids.
    shared_debs = base.cache_root() / "debootstrap-debs"
    cache = Path(tempfile.mkdtemp(prefix="bastide-test-base-", dir="/var/tmp"))
    cache.chmod(0o755)
    try:
        with monkeypatch.context() as env:
            env.setenv("BASTIDE_LAB_BASE_DIR", str(cache))
            target = base.base_dir()
            assert target.parent == cache and not base.is_ready(target)
            _seed_debootstrap_cache(shared_debs, cache)
            # What an interrupted build leaves: a half-filled work directory, a target without
            # its completion marker.
            (target.with_name(target.name + ".building") / "etc").mkdir(parents=True)
            (target / "etc").mkdir(parents=True)
            started = time.monotonic()
            info = the_lab.up(1)
            seconds = time.monotonic() - started
            print(f"lab up --hosts 1 with the base missing (debootstrap included): {seconds:.0f} s")
            assert base.is_ready(target)
            assert not target.with_name(target.name + ".building").exists()
            assert not list((target / "etc/ssh").glob("ssh_host_*")), "host keys are made per host"
            assert the_lab.is_up(1) and [h.state for h in the_lab.status().hosts] == ["running"]
            assert info.hosts == lab.hosts[:1]
            assert base.ensure_base(log=lambda message: None) == (target, False)
            the_lab.down()
            assert the_lab.leftovers() == []
    finally:
        the_lab.down(quiet=True)
        shutil.rmtree(cache, ignore_errors=True)
    assert base.is_ready(), "the shared base was left alone"
    bring_up(the_lab, hosts)
    assert the_lab.is_up(hosts)
