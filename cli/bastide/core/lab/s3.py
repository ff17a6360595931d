"""A real S3 endpoint for the lab: a one-node Ceph cluster in memory with RADOS Gateway.

Debian 12's Ceph (16.2) with the memstore object store: versioning and Object Lock are
enforced by RGW itself, which is what backups must be tested against (mocks and lighter
servers were found not to enforce COMPLIANCE retention on every path). Everything is in
memory: ``lab down`` drops the data. Each lab binds its daemons to its own gateway address.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
import urllib.request
import uuid
from pathlib import Path

from bastide.core.lab import procs
from bastide.core.lab.plan import LabPlan
from bastide.errors import BastideError
from bastide.i18n import Messages

_ = Messages("lab")

PORT = 7480
MON_PORT = 6789
DAEMONS = ("radosgw", "ceph-osd", "ceph-mon")  # stop order
ACCESS_KEY_PREFIX = "BASTIDELAB"


def endpoint(lab: LabPlan) -> str:
    return f"http://{lab.gateway}:{PORT}"


def work_dir(lab_dir: Path) -> Path:
    return lab_dir / "ceph"


def secret_key_path(lab_dir: Path) -> Path:
    return lab_dir / "s3" / "secret_key"


def memory_bytes() -> int:
    """What the in-memory store holds: 2 GiB, or ``BASTIDE_LAB_S3_GB`` (the backup benchmark
    keeps two locked copies of 1 GB: bench/backup.py). Full, the OSD stops taking writes and
    RGW's requests wait."""
    value = os.environ.get("BASTIDE_LAB_S3_GB", "")
    try:
        gigabytes = int(value) if value else 2
    except ValueError:
        raise BastideError(_("s3.bad_size", value=value), exit_code=2) from None
    if not 1 <= gigabytes <= 64:
        raise BastideError(_("s3.bad_size", value=value), exit_code=2)
    return gigabytes << 30


def render_config(lab: LabPlan, work: Path, fsid: str, memory_bytes: int = 2 << 30) -> str:
    return f"""# Written by bastide lab up; lab {lab.lab_id}. One node, in memory, no auth: lab only.
[global]
fsid = {fsid}
mon_host = {lab.gateway}:{MON_PORT}
public_addr = {lab.gateway}
cluster_addr = {lab.gateway}
ms_bind_msgr2 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
mon_allow_pool_size_one = true
mon_max_pg_per_osd = 1000
mon_warn_on_pool_no_redundancy = false
osd_objectstore = memstore
memstore_device_bytes = {memory_bytes}
osd_crush_chooseleaf_type = 0
run_dir = {work}/run
log_file = {work}/log/$name.log
admin_socket = {work}/run/$name.asok
mon_data = {work}/mon/$name
osd_data = {work}/osd/$name
keyring = /dev/null

[client.rgw]
rgw_frontends = beast endpoint={lab.gateway}:{PORT}
rgw_data = {work}/rgw
rgw_dns_name = {lab.gateway}
"""


def _ceph(config: Path, *args: str, timeout: float = 60, attempts: int = 5) -> str:
    # A mon that has just started can answer EPERM ("problem getting command descriptions")
    # until it has formed its quorum, more often on a loaded machine: retry before failing.
    for attempt in range(attempts):
        try:
            command = ["ceph", "-c", str(config), "--connect-timeout", "20", *args]
            return procs.run(command, timeout=timeout).stdout
        except procs.CommandFailed:
            if attempt == attempts - 1:
                raise
            time.sleep(1 + attempt)
    raise AssertionError("unreachable")


def start(lab: LabPlan, lab_dir: Path) -> tuple[str, str]:
    """Start the cluster and RGW; returns the (access key, secret key) of the lab's S3 user."""
    for attempt in range(2):
        try:
            return _start(lab, lab_dir)
        except procs.CommandFailed:
            # Seen once in CI, on a lab brought up again after a host was killed: RGW did not
            # answer within two minutes and its log said nothing after its start (cause not
            # found). Each start begins from nothing: a second one costs only when needed.
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


def _start(lab: LabPlan, lab_dir: Path) -> tuple[str, str]:
    stop(lab_dir)
    work = work_dir(lab_dir)
    if work.exists():
        shutil.rmtree(work)
    for sub in ("run", "log", "mon/mon.a", "osd/osd.0", "rgw"):
        (work / sub).mkdir(parents=True)
    fsid = str(uuid.uuid4())
    config = work / "ceph.conf"
    config.write_text(render_config(lab, work, fsid, memory_bytes()), encoding="utf-8")
    pids, logs = lab_dir / "pids", lab_dir / "logs"
    monmap = work / "monmap"
    procs.run(
        ["monmaptool", "--create", "--add", "a", f"{lab.gateway}:{MON_PORT}", "--fsid", fsid, str(monmap)]
    )
    procs.run(["ceph-mon", "-c", str(config), "--mkfs", "-i", "a", "--monmap", str(monmap)])
    procs.start_daemon("ceph-mon", ["ceph-mon", "-c", str(config), "-i", "a", "-f"], pids, logs)
    osd_id = _ceph(config, "osd", "create").strip()
    procs.run(["ceph-osd", "-c", str(config), "-i", osd_id, "--mkfs"], timeout=120)
    _ceph(config, "osd", "crush", "add", f"osd.{osd_id}", "1.0", "host=localhost", "root=default")
    procs.start_daemon("ceph-osd", ["ceph-osd", "-c", str(config), "-i", osd_id, "-f"], pids, logs)
    procs.start_daemon("radosgw", ["radosgw", "-c", str(config), "-n", "client.rgw", "-f"], pids, logs)
    restarts = 0

    def up() -> bool:
        # Seen once on a fresh bridge: the OSD exited silently right after its first boot.
        # A second start of the same (in-memory, just made) OSD works; try that before failing.
        nonlocal restarts
        for name, argv in (
            ("ceph-osd", ["ceph-osd", "-c", str(config), "-i", osd_id, "-f"]),
            ("radosgw", ["radosgw", "-c", str(config), "-n", "client.rgw", "-f"]),
        ):
            if procs.daemon_pid(name, pids) is None and restarts < 3:
                restarts += 1
                procs.start_daemon(name, argv, pids, logs)
        return procs.daemon_pid("radosgw", pids) is not None and ready(lab)

    if not procs.wait_for(up, timeout=120, interval=0.5):
        raise procs.CommandFailed(["radosgw"], 1, (logs / "radosgw.log").read_text(errors="replace"))
    access_key, secret_key = credentials(lab_dir)
    procs.run(
        [
            "radosgw-admin",
            "-c",
            str(config),
            "-n",
            "client.rgw",
            "user",
            "create",
            "--uid=bastide-lab",
            "--display-name=bastide lab",
            f"--access-key={access_key}",
            f"--secret={secret_key}",
            # The lab user is the backup target's account: it makes the communes' backup users
            # through RGW's admin API, as a DSI's provider account would (docs/backups.md).
            "--caps=users=*",
        ],
        timeout=120,
    )
    return access_key, secret_key


def credentials(lab_dir: Path) -> tuple[str, str]:
    """The lab's S3 key pair: made once per lab and kept across runs (RGW forgets its users at
    every ``lab down``; the same keys are given again at the next ``lab up``), so inventories
    and keyrings that hold them stay valid. Throwaway lab keys, still kept out of sight."""
    access_file, secret_file = lab_dir / "s3" / "access_key", secret_key_path(lab_dir)
    if access_file.is_file() and secret_file.is_file():
        return access_file.read_text().strip(), secret_file.read_text().strip()
    access_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    access_key = ACCESS_KEY_PREFIX + secrets.token_hex(5).upper()
    secret_key = secrets.token_urlsafe(30)
    access_file.write_text(access_key + "\n", encoding="utf-8")
    secret_file.unlink(missing_ok=True)
    secret_file.touch(mode=0o600)
    secret_file.write_text(secret_key + "\n", encoding="utf-8")
    return access_key, secret_key


def ready(lab: LabPlan) -> bool:
    try:
        with _NO_PROXY.open(endpoint(lab) + "/", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def stop(lab_dir: Path) -> None:
    for name in DAEMONS:
        procs.stop_daemon(name, lab_dir / "pids", timeout=10)


# The lab is reached directly, whatever proxy the controller's environment names.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
