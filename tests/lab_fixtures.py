"""pytest fixtures for tests that need the lab (real Debian 12 hosts and the lab services).

Loaded from ``tests/conftest.py`` (``pytest_plugins = ["lab_fixtures"]``). The session fixture
``lab`` brings lab ``BASTIDE_LAB_ID`` up once per session with ``BASTIDE_TEST_LAB_HOSTS`` hosts
(default 3, as in the issue's "Done when"), with an inventory written from ``inventories/demo``,
or reuses a lab that is already up with at least that many hosts (and then leaves it up). What it
started, it tears down at the end of the session, and then checks the machine: any process,
network namespace, mount, veth link, cgroup or /etc/hosts line of the lab still there fails the
run (an error at the fixture's teardown, naming each leftover). The lab needs root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from bastide.core.lab import Lab, LabInfo, inventory_writer
from bastide.core.lab import smtp as lab_smtp

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "inventories" / "demo"
BASTIDE = [sys.executable, "-m", "bastide"]


def bastide(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the bastide CLI as a user would (a separate process, no terminal); with ``check``, a
    non-zero exit fails the test with everything the command printed."""
    result = subprocess.run(
        [*BASTIDE, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    if check and result.returncode != 0:
        pytest.fail(f"bastide {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def wanted_hosts() -> int:
    return int(os.environ.get("BASTIDE_TEST_LAB_HOSTS", "3"))


TEST_SERVICE = "whoami"


# A commune whose drive is small, for the quota test (tests/integration/test_drive.py).
SMALL_DRIVE = ("saint-aubin-des-combes", "30M")


def _source() -> inventory_writer.SourceInventory | None:
    """The demo syndicat, every commune also running the test service (tests/roles/whoami,
    which shows the identity nginx passes on and needs the backends), and one commune with a
    small drive."""
    if not (DEMO / "syndicat.yml").is_file():
        return None
    source = inventory_writer.read_source(DEMO)
    for host in source.syndicat.get("hosts") or []:
        host["services"] = [*(host.get("services") or []), TEST_SERVICE]
    for name, commune in source.communes.items():
        commune["services"] = [*(commune.get("services") or []), TEST_SERVICE]
        if name.removesuffix(".yml") == SMALL_DRIVE[0]:
            commune.setdefault("drive", {})["quota"] = SMALL_DRIVE[1]
    return source


def bring_up(the_lab: Lab, hosts: int) -> LabInfo:
    """Bring ``the_lab`` up with ``hosts`` hosts and an inventory written from the demo (when
    the demo fits on that many hosts) in the lab's state directory."""
    source = _source()
    fits = source is not None and len(source.host_names) <= hosts
    names = [f"lab{the_lab.lab_id}-h{i}" for i in range(1, hosts + 1)]
    info = the_lab.up(hosts, domains=source.domains(names) if source and fits else {})
    if source is not None and fits:
        info = inventory_writer.write_and_record(source, info, the_lab.dir / "inventory")
    return info


def private_inventory(info: LabInfo, work: Path) -> dict[str, str]:
    """A copy of the lab inventory in ``work`` with a keyring of its own (opened by a throwaway
    age identity) and its own run state, so a test module's logs and secrets can be searched
    without anyone else's; returns the environment for the bastide commands."""
    assert info.inventory, "the lab has no inventory (written from inventories/demo by the fixture)"
    inventory = work / "inventory"
    shutil.copytree(info.inventory, inventory, ignore=shutil.ignore_patterns("keyring", "known_hosts"))
    env = dict(
        os.environ,
        BASTIDE_STATE_DIR=str(work / "state"),
        BASTIDE_IDENTITY=str(work / "operator.age"),
        BASTIDE_INVENTORY=str(inventory),
        LANG="C.UTF-8",
    )
    bastide("keys", "init", str(inventory), "--identity", env["BASTIDE_IDENTITY"], env=env)
    return env


def private_keyring(env: dict[str, str]) -> Any:
    """The keyring of a ``private_inventory``, opened with its test operator's identity."""
    from bastide.core.keys import Identity, Keyring

    return Keyring.open(env["BASTIDE_INVENTORY"], Identity(Path(env["BASTIDE_IDENTITY"]).read_text()))


@pytest.fixture(scope="session")
def lab() -> Iterator[LabInfo]:
    if os.geteuid() != 0:
        pytest.fail("the lab needs root (network namespaces, mounts); run the lab tests as root")
    the_lab = Lab(log=lambda message: print(f"[lab] {message}"))
    wanted = wanted_hosts()
    existing = the_lab.info()
    if existing is not None and the_lab.is_up() and len(existing.hosts) >= wanted:
        if existing.inventory is None or not Path(existing.inventory).is_dir():
            source = _source()
            if source is not None and len(source.host_names) <= len(existing.hosts):
                existing = inventory_writer.write_and_record(source, existing, the_lab.dir / "inventory")
        yield existing
        return
    info = bring_up(the_lab, wanted)
    try:
        yield info
    finally:
        the_lab.down()
        left = the_lab.leftovers()
        if left:
            pytest.fail(
                f"lab {the_lab.lab_id} left behind after the test session:\n  " + "\n  ".join(left),
                pytrace=False,
            )


@pytest.fixture()
def lab_info(lab: LabInfo) -> LabInfo:
    """The lab's current info (re-read: a test may have restarted the lab since the session began)."""
    current = Lab(lab.lab_id).info()
    assert current is not None, "the lab is not up any more"
    return current


def host_handle(info: LabInfo, address: str) -> Any:
    import testinfra

    extra = f"-o UserKnownHostsFile={info.known_hosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
    return testinfra.get_host(
        f"ssh://{info.ssh_user}@{address}",
        ssh_identity_file=info.ssh_key,
        ssh_extra_args=extra,
    )


@pytest.fixture()
def lab_hosts(lab_info: LabInfo) -> list[Any]:
    """testinfra hosts (SSH as root with the lab key), in the lab's order."""
    return [host_handle(lab_info, address) for _name, address in lab_info.hosts]


@pytest.fixture()
def s3_client(lab_info: LabInfo) -> Any:
    """A boto3 S3 client on the lab's Ceph RGW."""
    import boto3
    from botocore.config import Config

    assert lab_info.s3 is not None
    return boto3.client(
        "s3",
        endpoint_url=lab_info.s3.endpoint,
        aws_access_key_id=lab_info.s3.access_key,
        aws_secret_access_key=lab_info.s3.secret_key,
        region_name="us-east-1",
        # boto3 >= 1.36 sends CRC32 checksums by default; RGW 16 does not take them on every
        # call (NOTES.md). Uploads to locked buckets send ContentMD5 instead.
        config=Config(
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": "path"},
            proxies={},
        ),
    )


@pytest.fixture()
def acme_directory(lab_info: LabInfo) -> str:
    """The ACME directory URL of the lab's pebble (its TLS CA: ``lab_info.acme.server_ca_pem``)."""
    assert lab_info.acme is not None
    return lab_info.acme.directory


class SmtpSink:
    """Read what the lab's SMTP sink received."""

    def __init__(self, maildir: Path, host: str, port: int) -> None:
        self.maildir = maildir
        self.host = host
        self.port = port

    def messages(self) -> list[Message]:
        return lab_smtp.messages(self.maildir)

    def wait_for(self, predicate: Callable[[Message], bool], timeout: float = 30.0) -> Message:
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages():
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching mail reached the sink in {timeout:.0f} s")
            time.sleep(0.2)


@pytest.fixture()
def smtp_sink(lab_info: LabInfo) -> SmtpSink:
    assert lab_info.smtp is not None
    return SmtpSink(Path(lab_info.smtp.maildir), lab_info.smtp.host, lab_info.smtp.port)


Env = dict[str, str]
Deployed = dict[str, Any]


@pytest.fixture(scope="session")
def deploy_env(lab: LabInfo, tmp_path_factory: pytest.TempPathFactory) -> Env:
    """A private copy of the lab inventory, its keyring unlocked by a throwaway age identity,
    and run state kept apart so the logs of the deployed lab's tests can be searched for
    secrets. Shared by the modules that test services on the deployed lab."""
    return private_inventory(lab, tmp_path_factory.mktemp("deploy"))


@pytest.fixture(scope="session")
def first_deploy(deploy_env: Env) -> Deployed:
    """The demo syndicat deployed once for the session (tests/integration/test_deploy.py checks
    it first; the service modules after it rely on it)."""
    import json

    # The communes' buckets first, as a DSI does (docs/backups.md): the target's account key
    # into the keyring (the lab's S3 user), then the buckets; the deploy schedules the backups.
    store_lab_account(deploy_env)
    bastide("backup", "init", deploy_env["BASTIDE_INVENTORY"], env=deploy_env)
    result = bastide("deploy", deploy_env["BASTIDE_INVENTORY"], "--json", env=deploy_env)
    return {"result": result, "summary": json.loads(result.stdout)}


def store_lab_account(env: Env) -> None:
    """``bastide backup credentials --target`` for each backup target, with the lab's S3 key
    (the secret on standard input, as a DSI pipes it from a password manager)."""
    from bastide.core.inventory import load
    from bastide.core.lab import Lab

    info = Lab().info()  # the lab's own state, not the private inventory's run state
    assert info is not None and info.s3 is not None, "the lab has no S3"
    for target in load(Path(env["BASTIDE_INVENTORY"])).backup_targets:
        done = subprocess.run(
            [*BASTIDE, "backup", "credentials", env["BASTIDE_INVENTORY"], "--target", target.name,
             "--access-key", info.s3.access_key],
            input=info.s3.secret_key + "\n", env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="session")
def converged(first_deploy: Deployed) -> None:
    """Every host as the inventory says, for the service modules of the session: the session's
    one full deploy. The modules before them keep it so, which is what spares the suite a
    deploy per module: test_deploy's failure paths converge no host with a wrong inventory,
    test_identity brings the directory back, and the internal CA's module runs after them."""
    summary = first_deploy["summary"]
    assert summary["ok"], summary["failures"]


def admin_host(deploy_env: Env, host_name: str) -> Any:
    """A testinfra handle on a deployed host, as the inventory's administrator (root's SSH login
    is refused once the hardening role has run)."""
    import testinfra

    from bastide.core.inventory import load

    inventory = load(Path(deploy_env["BASTIDE_INVENTORY"]))
    host = inventory.host(host_name)
    known_hosts = inventory.root / "known_hosts"
    extra = f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
    return testinfra.get_host(
        f"ssh://{inventory.settings.ssh.user}@{host.address}",
        ssh_identity_file=str(inventory.ssh_private_key_path()),
        ssh_extra_args=extra,
        sudo=True,
    )


def on_host(
    deploy_env: Env, host_name: str, command: list[str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (argv) on a deployed host as its administrator, with ``stdin`` as its
    standard input (for passwords a test made: never on a command line)."""
    import shlex

    from bastide.core.inventory import load

    inventory = load(Path(deploy_env["BASTIDE_INVENTORY"]))
    host = inventory.host(host_name)
    return subprocess.run(
        [
            "ssh", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={inventory.root / 'known_hosts'}",
            "-i", str(inventory.ssh_private_key_path()),
            f"{inventory.settings.ssh.user}@{host.address}", "--", *map(shlex.quote, command),
        ],
        input=stdin, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def assert_no_secret_leaked(deploy_env: Env, outputs: list[str]) -> None:
    """No value of the keyring (8 characters or more) in ``outputs``, in any file the runs of
    ``deploy_env`` left in its state directory, or in the inventory outside the keyring."""
    from bastide.core.inventory import load

    inventory = load(Path(deploy_env["BASTIDE_INVENTORY"]))
    keyring = private_keyring(deploy_env)
    values = [keyring.get(info.scope, info.name).decode("utf-8", "replace") for info in keyring.secrets()]
    values = [value for value in values if len(value) >= 8]
    assert values, "the deploy created secrets"
    haystacks = list(outputs)
    for path in Path(deploy_env["BASTIDE_STATE_DIR"]).rglob("*"):
        if path.is_file():
            haystacks.append(path.read_bytes().decode("utf-8", "replace"))
    for path in inventory.root.rglob("*"):
        if path.is_file() and "keyring" not in path.parts:
            haystacks.append(path.read_bytes().decode("utf-8", "replace"))
    leaks = [v[:4] + "…" for v in values if any(v in text for text in haystacks)]
    assert leaks == []
