"""The lab's records on the controller: lab.json, PID files, the /etc/hosts block, prerequisites."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from bastide.core.lab import hostsfile, prerequisites, procs
from bastide.core.lab.info import LabInfo, S3Info
from bastide.errors import EnvironmentProblem


def test_lab_info_survives_a_round_trip_without_the_secret(tmp_path: Path) -> None:
    secret = tmp_path / "s3" / "secret_key"
    secret.parent.mkdir()
    secret.write_text("very-secret\n")
    info = LabInfo(
        lab_id=1,
        hosts=[("lab1-h1", "10.77.1.11")],
        gateway="10.77.1.1",
        gateway_name="gateway.lab1.bastide.test",
        ssh_key="/k",
        ssh_public_key="ssh-ed25519 AAAA",
        known_hosts="/kh",
        ssh_user="root",
        proxy_url="http://10.77.1.1:3129",
        s3=S3Info(endpoint="http://10.77.1.1:7480", access_key="AK", secret_key_file=str(secret)),
        acme=None,
        smtp=None,
        state_dir=str(tmp_path),
    )
    path = info.save()
    assert path.stat().st_mode & 0o777 == 0o600
    assert "very-secret" not in path.read_text()
    loaded = LabInfo.from_dict(json.loads(path.read_text()))
    assert loaded == info
    assert loaded.s3 is not None and loaded.s3.secret_key == "very-secret"
    assert loaded.address("lab1-h1") == "10.77.1.11"


def test_missing_or_corrupt_lab_json_means_no_lab(tmp_path: Path) -> None:
    assert LabInfo.load(0, tmp_path) is None
    (tmp_path / "lab" / "0").mkdir(parents=True)
    (tmp_path / "lab" / "0" / "lab.json").write_text("{not json")
    assert LabInfo.load(0, tmp_path) is None


def test_hosts_block_is_added_replaced_and_removed_without_touching_the_rest(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n# BEGIN bastide lab 2\n10.77.2.11\tlab2-h1\n# END bastide lab 2\n")
    hostsfile.install(0, [("lab0-h1", "10.77.0.11")], hosts)
    hostsfile.install(0, [("lab0-h1", "10.77.0.11"), ("lab0-h2", "10.77.0.12")], hosts)
    text = hosts.read_text()
    assert text.count("# BEGIN bastide lab 0") == 1 and "10.77.0.12\tlab0-h2" in text
    assert "10.77.2.11\tlab2-h1" in text  # another lab's block stays
    hostsfile.remove(0, hosts)
    hostsfile.remove(0, hosts)  # idempotent
    assert (
        hosts.read_text()
        == "127.0.0.1 localhost\n# BEGIN bastide lab 2\n10.77.2.11\tlab2-h1\n# END bastide lab 2\n"
    )
    assert not hostsfile.has_block(0, hosts) and hostsfile.has_block(2, hosts)


def test_a_pid_file_never_designates_another_program(tmp_path: Path) -> None:
    pid_dir, log_dir = tmp_path / "pids", tmp_path / "logs"
    sleep = shutil.which("sleep")
    assert sleep
    pid = procs.start_daemon("sleeper", [sleep, "60"], pid_dir, log_dir)
    assert procs.daemon_pid("sleeper", pid_dir) == pid
    # A stale file whose PID now belongs to some other program (here: this test's Python).
    (pid_dir / "stale.pid").write_text(f"{os.getpid()}\nsquid\n")
    assert procs.daemon_pid("stale", pid_dir) is None
    procs.stop_daemon("stale", pid_dir)  # must not signal this process
    procs.stop_daemon("sleeper", pid_dir, timeout=5)
    assert not procs.alive(pid)
    assert not (pid_dir / "sleeper.pid").exists()
    assert procs.processes_mentioning(tmp_path) == []


def test_processes_mentioning_finds_daemons_whose_pid_file_was_lost(tmp_path: Path) -> None:
    marker = tmp_path / "lab"
    marker.mkdir()
    pid = procs.start_daemon(
        "x", [sys.executable, "-c", "import time; time.sleep(60)", str(marker / "m")], tmp_path, tmp_path
    )
    try:
        assert pid in procs.processes_mentioning(marker)
    finally:
        procs.stop_pid(pid, timeout=5)
    assert pid not in procs.processes_mentioning(marker)


def test_missing_packages_are_reported_with_the_exact_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real_which = shutil.which
    monkeypatch.setattr(prerequisites.os, "geteuid", lambda: 0)
    monkeypatch.setattr(
        prerequisites.shutil,
        "which",
        lambda name: None if name in ("squid", "pebble") else real_which(name) or "/x",
    )
    missing = prerequisites.missing()
    assert missing.packages == ["pebble", "squid"]
    with pytest.raises(EnvironmentProblem) as problem:
        prerequisites.ensure(install=False)
    assert "apt-get install -y --no-install-recommends pebble squid" in str(problem.value)
    assert problem.value.exit_code == 3


def test_the_lab_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prerequisites.os, "geteuid", lambda: 1000)
    with pytest.raises(EnvironmentProblem) as problem:
        prerequisites.ensure(install=True)
    assert "sudo bastide lab up" in str(problem.value)


def test_the_hosts_disks_are_made_with_debians_umask_whatever_the_controllers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hardened controller (umask 077) would make the hosts' files root's only: their sshd
    could not read its configuration and no host would ever answer. The umask is put back."""
    from bastide.core.lab import lifecycle

    seen: list[int] = []

    def record(*args: object) -> None:
        current = os.umask(0o022)
        os.umask(current)
        seen.append(current)
        raise lifecycle.LabError("stop here")

    lab = lifecycle.Lab(0, tmp_path, log=lambda message: None)
    monkeypatch.setattr(lifecycle.prerequisites, "ensure", lambda **kw: None)
    monkeypatch.setattr(lab, "is_up", lambda hosts=None: False)
    monkeypatch.setattr(lab, "down", lambda quiet=False: None)
    monkeypatch.setattr(lab, "_up", record)
    kept = os.umask(0o077)
    try:
        with pytest.raises(lifecycle.LabError):
            lab.up(1)
        after = os.umask(0o077)
    finally:
        os.umask(kept)
    assert seen == [0o022] and after == 0o077
