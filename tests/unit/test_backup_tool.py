"""The host's backup tool (roles/backup/files/bastide-backup) on a scratch tree, restic replaced by
a recorder of what it was asked to read: what a snapshot would hold must match its manifest."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import io
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

TOOL = Path(__file__).resolve().parents[2] / "roles" / "backup" / "files" / "bastide-backup"


@pytest.fixture
def tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("bastide_backup_tool", str(TOOL))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    monkeypatch.setattr(module, "STATE", tmp_path / "state")
    monkeypatch.setattr(module, "CACHE", tmp_path / "cache")
    return module


def _recording(calls: list[tuple[str, ...]]) -> Any:
    def restic(slug: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        summary = json.dumps(
            {"message_type": "summary", "snapshot_id": "abc", "total_bytes_processed": 1},
            separators=(",", ":"),
        )
        return subprocess.CompletedProcess(["restic", *args], 0, summary + "\n", "")

    return restic


def test_a_data_directory_that_is_a_symlink_is_backed_up_where_its_files_are(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """systemd's DynamicUser= keeps state in /var/lib/private/x behind a /var/lib/x symlink:
    restic stores a symlink as a link, so the snapshot would hold none of the files the manifest
    lists, and a restore would meet the link already there."""
    real = tmp_path / "lib" / "private" / "svc"
    real.mkdir(parents=True)
    (real / "visits.log").write_text("one visit\n")
    link = tmp_path / "lib" / "svc"
    link.symlink_to(Path("private") / "svc")
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(tool, "restic", _recording(calls))
    done = tool.backup_service("ville", {"name": "svc", "directories": [str(link), str(real)]})
    assert done["ok"] and done["files"] == 1
    (backup,) = calls
    assert str(real) in backup and str(link) not in backup
    assert backup.count(str(real)) == 1, "the same directory twice is read once"
    manifest = json.loads((tmp_path / "state" / "ville" / "staging" / "svc" / "manifest.json").read_text())
    assert manifest["directories"] == [str(real)]
    assert list(manifest["files"]) == [str(real / "visits.log")]


def test_a_missing_data_directory_is_left_out(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(tool, "restic", _recording(calls))
    done = tool.backup_service("ville", {"name": "svc", "directories": [str(tmp_path / "never-made")]})
    assert done["files"] == 0 and str(tmp_path / "never-made") not in calls[0]


def test_the_cache_of_another_bucket_is_dropped_once_per_command(tool: ModuleType, tmp_path: Path) -> None:
    """After a point-in-time recovery the commune reads a fresh bucket: the old one's cache goes."""
    old = tmp_path / "cache" / "ville" / "bucket-ville"
    old.mkdir(parents=True)
    own = tool.cache_dir("ville", "s3:https://s3.example/bucket-ville-g1")
    assert own == tmp_path / "cache" / "ville" / "bucket-ville-g1" and not old.exists()
    old.mkdir()
    assert tool.cache_dir("ville", "s3:https://s3.example/bucket-ville-g1") == own
    assert old.exists(), "not scanned again within the same command"


def test_a_fresh_server_refuses_to_back_up_over_the_communes_backups(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a disaster the fresh server's services are empty until the restore: a backup then
    (the nightly timer) would make empty snapshots the newest, the ones a restore takes."""
    monkeypatch.setattr(tool, "BACKUP_LOCK", tmp_path / "backup.lock")
    monkeypatch.setattr(tool, "DEPLOY_MARKER", tmp_path / "deploy")
    plan = {"host": "srv-ville-1", "services": [{"name": "svc", "directories": []}]}
    monkeypatch.setattr(tool, "plan", lambda slug: plan)
    old = [{"id": "old", "time": "2026-12-01", "tags": ["service:svc"]}]
    monkeypatch.setattr(tool, "snapshots", lambda slug, service=None: old)
    backed: list[str] = []
    monkeypatch.setattr(tool, "backup_service", lambda slug, service: backed.append(slug) or {"ok": True})
    assert tool.run("ville") == 1 and not backed
    assert "bastide restore INVENTORY --host srv-ville-1" in capsys.readouterr().err
    assert tool.run("ville") == 1 and not backed, "no status was written: it refuses again"
    # Once the commune is restored on it, the server backs it up.
    (tmp_path / "state" / "ville").mkdir(parents=True)
    (tmp_path / "state" / "ville" / tool.RESTORED).write_text("2026-12-03T00:00:00Z\n")
    assert tool.run("ville") == 0 and backed == ["ville"]


def test_a_server_a_commune_moved_to_says_to_restore_that_commune_only(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server that already backs up other communes: `restore --host` would roll their newer
    data back to their last backup; the refusal names the commune and `--to` instead."""
    monkeypatch.setattr(tool, "BACKUP_LOCK", tmp_path / "backup.lock")
    monkeypatch.setattr(tool, "DEPLOY_MARKER", tmp_path / "deploy")
    monkeypatch.setattr(tool, "CONFIG", tmp_path / "etc")
    (tmp_path / "etc").mkdir()
    for slug in ("ville", "bourg"):
        (tmp_path / "etc" / f"{slug}.json").write_text("{}")
    plan = {"host": "srv-ville-2", "services": [{"name": "svc", "directories": []}]}
    monkeypatch.setattr(tool, "plan", lambda slug: plan)
    old = [{"id": "old", "time": "2026-12-01", "tags": ["service:svc"]}]
    monkeypatch.setattr(tool, "snapshots", lambda slug, service=None: old)
    monkeypatch.setattr(tool, "backup_service", lambda slug, service: {"ok": True})
    assert tool.restore_hint("ville") == "--host srv-ville-2", "nothing here ran yet: a fresh server"
    tool.write_status("bourg", {"commune": "bourg", "ok": True})
    assert tool.run("ville") == 1
    assert "bastide restore INVENTORY ville --to srv-ville-2" in capsys.readouterr().err


def test_a_first_backup_into_an_empty_repository_runs(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tool, "BACKUP_LOCK", tmp_path / "backup.lock")
    monkeypatch.setattr(tool, "DEPLOY_MARKER", tmp_path / "deploy")
    monkeypatch.setattr(tool, "plan", lambda slug: {"services": [{"name": "svc", "directories": []}]})
    monkeypatch.setattr(tool, "snapshots", lambda slug, service=None: [])
    monkeypatch.setattr(tool, "backup_service", lambda slug, service: {"ok": True})
    assert tool.run("ville") == 0
    assert tool.read_status("ville")["ok"]


def test_a_run_stopped_by_systemd_resumes_the_service_and_goes_no_further(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A storage that stopped answering holds restic for ever; systemd's TimeoutStartSec stops
    the run: the quiesced service must come back, and the next service is not stopped."""
    import signal

    monkeypatch.setattr(tool, "BACKUP_LOCK", tmp_path / "backup.lock")
    monkeypatch.setattr(tool, "DEPLOY_MARKER", tmp_path / "deploy")
    services = [
        {"name": "a", "directories": [], "quiesce": "stop a", "resume": "start a"},
        {"name": "b", "directories": [], "quiesce": "stop b", "resume": "start b"},
    ]
    monkeypatch.setattr(tool, "plan", lambda slug: {"services": services})
    monkeypatch.setattr(tool, "snapshots", lambda slug, service=None: [])
    ran: list[str] = []
    monkeypatch.setattr(tool, "sh", lambda command, what: ran.append(command))

    def hung_restic(slug: str, *args: str, check: bool = True) -> None:
        ran.append(f"restic {args[0]}")
        tool.on_stop(signal.SIGTERM, None)

    monkeypatch.setattr(tool, "restic", hung_restic)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert tool.run("ville") == 1
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN, "the resume is not cut short"
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert ran == ["stop a", "restic backup", "start a"]
    status = tool.read_status("ville")
    assert set(status["services"]) == {"a"} and not status["ok"]
    assert "TimeoutStartSec" in status["services"]["a"]["error"]


def test_an_export_is_in_the_snapshot_with_its_records_and_a_failed_one_sends_nothing(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory's branch comes from slapcat: its exit status and its records are checked
    before restic is asked anything, as a database's dump is."""
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(tool, "restic", _recording(calls))
    ldif = "dn: ou=b,dc=x\\nou: b\\n\\ndn: ou=a,dc=x\\nou: a\\n"
    service = {"name": "directory", "exports": [{"file": "directory.ldif", "command": f"printf '{ldif}'"}]}
    done = tool.backup_service("ville", service)
    assert done["ok"] and done["records"] == {"directory.ldif": 2}
    staging = tmp_path / "state" / "ville" / "staging" / "directory"
    assert str(staging) in calls[0] and (staging / "directory.ldif").is_file()
    manifest = json.loads((staging / "manifest.json").read_text())
    assert manifest["exports"]["directory.ldif"]["records"] == 2
    # The same entries in another order are the same directory.
    again = tmp_path / "again.ldif"
    again.write_text("dn: ou=a,dc=x\nou: a\n\ndn: ou=b,dc=x\nou: b\n")
    assert tool.compare(manifest, exports={"directory.ldif": again})["identical"]
    again.write_text("dn: ou=a,dc=x\nou: a\n")
    assert tool.compare(manifest, exports={"directory.ldif": again})["differing_files"] == ["directory.ldif"]
    calls.clear()
    for command in ("exit 3", "true"):
        failing = {"name": "directory", "exports": [{"file": "directory.ldif", "command": command}]}
        with pytest.raises(tool.Failed, match=r"exited 3|is empty"):
            tool.backup_service("ville", failing)
    assert not calls, "a failed or empty export never becomes a snapshot"


def test_only_the_servers_own_services_make_it_fresh_over_backups(
    tool: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The identity host backs up the commune's people into the repository its own server fills:
    the server's snapshots do not make a first backup of the people a refused one."""
    monkeypatch.setattr(tool, "plan", lambda slug: {"services": [{"name": "directory"}]})
    held = [{"id": "d", "tags": ["service:drive"]}]
    asked: list[str | None] = []
    monkeypatch.setattr(tool, "snapshots", lambda slug, service=None: asked.append(service) or held)
    assert not tool.fresh_over_backups("ville")
    held.append({"id": "p", "tags": ["service:directory"]})
    assert tool.fresh_over_backups("ville")
    assert asked == [None, None], "one listing of the repository, not one per service"


def test_a_rotated_password_is_added_once_as_a_key_through_the_lock_retries(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """keys rotate: each host of the commune opens the repository with the password it holds and
    adds the new one, unless another host (the identity host, for its people) did already."""
    monkeypatch.setattr(tool, "CONFIG", tmp_path / "config")
    (tmp_path / "config").mkdir()
    (tmp_path / "state").mkdir()
    (tmp_path / "config" / "ville.env").write_text("RESTIC_PASSWORD=old\n")
    keys = {"old"}
    asked: list[tuple[str | None, tuple[str, ...]]] = []

    def restic(slug: str, *args: str, check: bool = True, password: str | None = None) -> Any:
        asked.append((password, args))
        if args[:2] == ("key", "add"):
            keys.add(Path(args[-1]).read_text().strip())
        opens = (password or "old") in keys
        said = "" if opens else "wrong password"
        return subprocess.CompletedProcess(["restic", *args], 0 if opens else 1, "", said)

    monkeypatch.setattr(tool, "restic", restic)
    monkeypatch.setattr("sys.stdin", io.StringIO("new\n"))
    assert tool.rekey("ville") == 0 and capsys.readouterr().out == "rekeyed\n"
    assert keys == {"old", "new"}
    assert asked[1] == ("new", ("cat", "config")), "the new password tried through the helper (lock retries)"
    monkeypatch.setattr("sys.stdin", io.StringIO("new\n"))
    assert tool.rekey("ville") == 0 and capsys.readouterr().out == "unchanged\n"
    assert sum(args[:2] == ("key", "add") for _, args in asked) == 1, "another host's rekey adds nothing"


def test_a_host_that_restored_every_service_it_holds_may_back_up_again(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh identity host holds only the people of the communes other servers run: their
    `--service directory` restore is all it has to bring back before it backs them up again; on
    a server of two services, one restored is not enough."""
    monkeypatch.setattr(tool, "chosen_snapshot", lambda slug, service, at: {"id": "s1", "time": "t"})

    def restic(slug: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        if args[0] == "restore" and "--include" in args:
            staged = Path(args[args.index("--target") + 1] + args[args.index("--include") + 1])
            staged.mkdir(parents=True, exist_ok=True)
            (staged / "manifest.json").write_text("{}")
        return subprocess.CompletedProcess(["restic", *args], 0, "", "")

    monkeypatch.setattr(tool, "restic", restic)
    old = [{"id": "old", "time": "2026-12-01", "tags": ["service:drive", "service:directory"]}]
    monkeypatch.setattr(tool, "snapshots", lambda slug, service=None: old)
    (tmp_path / "state").mkdir()
    services = [{"name": "drive"}, {"name": "directory"}]
    monkeypatch.setattr(tool, "plan", lambda slug: {"services": services})
    assert tool.fresh_over_backups("ville")
    assert tool.restore("ville", "directory", None, None) == 0
    assert tool.fresh_over_backups("ville"), "the drive is still empty"
    assert tool.restore("ville", "drive", None, None) == 0
    assert not tool.fresh_over_backups("ville")
    # A marker of the older tool (a date only) stood for every service of the plan.
    (tmp_path / "state" / "ville" / tool.RESTORED).write_text("2026-12-03T00:00:00Z\n")
    assert tool.restored_services("ville") == {"drive", "directory"}
    capsys.readouterr()


def test_the_identity_host_a_commune_moved_to_refuses_its_empty_services(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The identity host backed up the commune's people every night; the commune moved onto it:
    its drive is new here, still empty, and the repository holds the drive's backups from the
    old server. The people it knows; the drive it must restore first."""
    monkeypatch.setattr(tool, "CONFIG", tmp_path / "etc")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "ville.json").write_text("{}")
    tool.write_status("ville", {"commune": "ville", "ok": True, "services": {"directory": {"ok": True}}})
    services = [{"name": "directory"}]
    monkeypatch.setattr(tool, "plan", lambda slug: {"host": "srv-1", "services": services})
    old = [{"id": "old", "time": "2026-12-01", "tags": ["service:drive"]},
           {"id": "p", "time": "2026-12-02", "tags": ["service:directory"]}]  # fmt: skip
    monkeypatch.setattr(tool, "snapshots", lambda slug, service=None: old)
    assert not tool.fresh_over_backups("ville"), "its people only: nothing new"
    services.insert(0, {"name": "drive"})
    assert tool.fresh_over_backups("ville")
    assert tool.restore_hint("ville") == "ville --to srv-1"


def test_a_run_stopped_halfway_does_not_make_the_server_fresh(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The services a stopped run did not reach are still this server's: its next run goes on."""
    monkeypatch.setattr(tool, "BACKUP_LOCK", tmp_path / "backup.lock")
    monkeypatch.setattr(tool, "DEPLOY_MARKER", tmp_path / "deploy")
    services = [{"name": "drive"}, {"name": "rdv"}]
    monkeypatch.setattr(tool, "plan", lambda slug: {"host": "srv-1", "services": services})
    old = [{"id": "d", "time": "2026-12-01", "tags": ["service:drive"]},
           {"id": "r", "time": "2026-12-01", "tags": ["service:rdv"]}]  # fmt: skip
    monkeypatch.setattr(tool, "snapshots", lambda slug, service=None: old)
    both = {"drive": {"ok": True}, "rdv": {"ok": True}}
    tool.write_status("ville", {"commune": "ville", "ok": True, "services": both})
    monkeypatch.setattr(tool, "backup_service", lambda slug, service: {"ok": True})
    assert tool.run("ville") == 0
    tool.write_status("ville", {**tool.read_status("ville"), "services": {"drive": {"ok": False}}})
    assert not tool.fresh_over_backups("ville"), "rdv is known from an earlier run"


@pytest.fixture
def umask_kept() -> Iterator[None]:
    """The tool's main() sets the process's umask to 077 (for root's files on the host): put back
    after, or every file the lab tests later write from this process would be root's only."""
    kept = os.umask(0o022)
    os.umask(kept)
    yield
    os.umask(kept)


@pytest.mark.usefixtures("umask_kept")
def test_statuses_reads_every_commune_named_and_the_other_actions_take_one(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tool.write_status("ville", {"commune": "ville", "ok": True})
    monkeypatch.setattr("sys.argv", ["bastide-backup", "statuses", "ville", "bourg"])
    assert tool.main() == 0
    assert json.loads(capsys.readouterr().out) == {"ville": {"commune": "ville", "ok": True}, "bourg": {}}
    (tmp_path / "state" / "bourg").mkdir()
    (tmp_path / "state" / "bourg" / "status.json").write_text("{broken")
    assert tool.main() == 0
    read = json.loads(capsys.readouterr().out)
    assert read["ville"]["ok"] and not read["bourg"]["ok"] and "unreadable" in read["bourg"]["error"]
    monkeypatch.setattr("sys.argv", ["bastide-backup", "run", "ville", "bourg"])
    with pytest.raises(SystemExit) as refused:
        tool.main()
    assert refused.value.code == 2 and "run takes one commune" in capsys.readouterr().err
