"""Run ansible-playbook for an inventory: one run directory, a tuned configuration, live events.

Each run gets ``<state>/runs/<time>-<kind>/`` (mode 0700) holding the rendered ``hosts.yml``,
``ansible.cfg``, Ansible's raw output in ``ansible.log`` and the event stream in
``events.jsonl``. Secrets are never rendered there: roles fetch them through the keys agent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bastide.core import contract
from bastide.core.ansible.events import RunSummary
from bastide.core.ansible.render import render
from bastide.core.inventory import Inventory
from bastide.errors import EnvironmentProblem
from bastide.paths import ansible_plugins_dir, mitogen_strategy_dir, playbooks_dir, state_dir, templates_dir

EventHandler = Callable[[RunSummary, dict[str, Any]], None]

MAX_FORKS = 25


def ansible_command(name: str) -> str:
    """The Ansible executable installed beside this Python, so the venv's version is used."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise EnvironmentProblem(f"{name} was not found; reinstall bastide: pip install bastide")
    return found


def new_run_dir(kind: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    run_dir = state_dir() / "runs" / f"{stamp}-{kind}"
    run_dir.mkdir(parents=True, mode=0o700)
    os.chmod(run_dir, 0o700)
    return run_dir


def known_hosts_file(inventory: Inventory) -> Path:
    """Host keys are learnt on first contact and pinned afterwards, per inventory."""
    path = inventory.root / "known_hosts"
    path.touch(mode=0o600, exist_ok=True)
    return path


def _ssh_base(inventory: Inventory) -> list[str]:
    ssh = inventory.settings.ssh
    command = [
        "ssh",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=8",
        "-o", "StrictHostKeyChecking=accept-new",
        "-o", f"UserKnownHostsFile={known_hosts_file(inventory)}",
        "-p", str(ssh.port),
    ]  # fmt: skip
    identity = ssh_identity(inventory)
    if identity:
        command += ["-i", str(identity)]
    return command


def ssh_identity(inventory: Inventory) -> Path | None:
    ssh = inventory.settings.ssh
    if not ssh.private_key_file:
        return None
    key = Path(str(ssh.private_key_file)).expanduser()
    return key if key.is_absolute() else (inventory.root / key).resolve()


def write_ssh_config(target: Path, inventory: Inventory, users: dict[str, str], control_dir: Path) -> None:
    """An OpenSSH client configuration naming every host of ``users`` by its inventory name:
    pinned host keys, the inventory's key, and one multiplexed master connection per host that
    every later command of the run reuses (opened by the first, closed by close_connections)."""

    def path(value: Path, token: str = "") -> str:
        # ssh expands %-tokens in these paths; a literal % of the path is written %%.
        if '"' in str(value):
            raise EnvironmentProblem(f"{value}: a path with a double quote cannot be given to ssh")
        return '"' + str(value).replace("%", "%%") + token + '"'

    identity = ssh_identity(inventory)
    blocks = []
    for name, user in sorted(users.items()):
        lines = [
            f"Host {name}",
            f"  HostName {inventory.host(name).address}",
            f"  User {user}",
            f"  Port {inventory.settings.ssh.port}",
            "  BatchMode yes",
            "  ConnectTimeout 8",
            "  StrictHostKeyChecking yes",
            f"  UserKnownHostsFile {path(known_hosts_file(inventory))}",
            "  ControlMaster auto",
            f"  ControlPath {path(control_dir, '/%C')}",
            # For the whole run (close_connections ends them): on a first deploy the master
            # opened as the bootstrap user is the only way back in once hardening has closed
            # root's SSH login, and a host can wait minutes between two tasks while another
            # host installs packages.
            "  ControlPersist 2h",
            "  ServerAliveInterval 15",
        ]
        if identity:
            lines += [f"  IdentityFile {path(identity)}", "  IdentitiesOnly yes"]
        blocks.append("\n".join(lines))
    target.write_text("\n\n".join(blocks) + "\n")
    os.chmod(target, 0o600)


def _can_login(inventory: Inventory, address: str, user: str) -> bool:
    result = subprocess.run(
        [*_ssh_base(inventory), f"{user}@{address}", "true"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0


def connection_users(inventory: Inventory, host_names: list[str]) -> dict[str, str]:
    """Which account to connect with, per host: the admin once it exists, else the bootstrap user.

    The first converge of a new server has to log in as the provider's initial account (root);
    it creates the admin accounts and only then closes root's SSH access.
    """
    ssh = inventory.settings.ssh

    def choose(name: str) -> tuple[str, str]:
        address = inventory.host(name).address
        if _can_login(inventory, address, ssh.user):
            return name, ssh.user
        if (
            ssh.bootstrap_user
            and ssh.bootstrap_user != ssh.user
            and _can_login(inventory, address, ssh.bootstrap_user)
        ):
            return name, ssh.bootstrap_user
        return name, ssh.user  # unreachable either way: Ansible reports it with the reason

    with ThreadPoolExecutor(max_workers=min(16, max(1, len(host_names)))) as pool:
        return dict(pool.map(choose, host_names))


def write_run_files(run_dir: Path, inventory: Inventory, rendered: dict[str, Any], forks: int) -> Path:
    (run_dir / "hosts.yml").write_text(yaml.safe_dump(rendered, sort_keys=False, allow_unicode=True))
    control_dir = Path(tempfile.mkdtemp(prefix="bst-cp-"))
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())), undefined=StrictUndefined, autoescape=False
    )
    config = env.get_template("ansible.cfg.j2").render(
        run_dir=run_dir,
        roles_dir=":".join(str(d) for d in contract.role_dirs()),
        plugins_dir=ansible_plugins_dir(),
        strategy_dir=mitogen_strategy_dir(),
        forks=forks,
        known_hosts=known_hosts_file(inventory),
        control_dir=control_dir,
    )
    (run_dir / "ansible.cfg").write_text(config)
    return control_dir


def close_connections(control_dir: Path) -> None:
    """Stop the SSH master connections of a run so no process outlives it."""
    for socket in control_dir.glob("*"):
        subprocess.run(
            ["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "bastide-run"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=15,
            check=False,
        )
    shutil.rmtree(control_dir, ignore_errors=True)


def ansible_env(run_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # ansible-playbook and testinfra start Ansible's other tools (ansible-inventory...) by name:
    # they must come from bastide's own environment even when its venv is not on PATH.
    tools = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([tools, *(p for p in env.get("PATH", "").split(os.pathsep) if p != tools)])
    env.update(
        ANSIBLE_CONFIG=str(run_dir / "ansible.cfg"),
        BASTIDE_EVENTS_FILE=str(run_dir / "events.jsonl"),
        ANSIBLE_LOCAL_TEMP=str(run_dir / "tmp"),
        ANSIBLE_FORCE_COLOR="0",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def _follow(path: Path, process: subprocess.Popen[bytes]) -> Iterator[dict[str, Any]]:
    """Yield events as the callback appends them, until the run ends and the file is drained."""
    import json

    position = 0
    pending = ""
    while True:
        finished = process.poll() is not None
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                handle.seek(position)
                chunk = handle.read()
                position = handle.tell()
            pending += chunk
            *lines, pending = pending.split("\n")
            for line in lines:
                if line.strip():
                    yield json.loads(line)
        if finished:
            return
        time.sleep(0.1)


def ansible_errors(log: Path, limit: int = 20) -> list[str]:
    """The ``[ERROR]`` blocks of a run's log (with the lines that locate them)."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    picked: list[str] = []
    for index, line in enumerate(lines):
        if line.startswith(("[ERROR]", "ERROR!")):
            picked += [candidate for candidate in lines[index : index + 8] if candidate.strip()]
    if not picked:
        picked = [line for line in lines[-10:] if line.strip()]
    return picked[:limit]


@contextlib.contextmanager
def _no_agent() -> Iterator[dict[str, str]]:
    yield {}


def run_playbook(
    inventory: Inventory,
    *,
    kind: str,
    playbook: str = "site.yml",
    limit_hosts: list[str] | None = None,
    check: bool = False,
    diff: bool = False,
    secrets: contextlib.AbstractContextManager[dict[str, str]] | None = None,
    on_event: EventHandler | None = None,
    extra_vars: dict[str, Any] | None = None,
) -> RunSummary:
    host_names = limit_hosts or [h.name for h in inventory.hosts]
    run_dir = new_run_dir(kind)
    users = connection_users(inventory, host_names)
    rendered = render(inventory, users)
    control_dir = write_run_files(run_dir, inventory, rendered, forks=min(MAX_FORKS, max(5, len(host_names))))
    command = [ansible_command("ansible-playbook"), str(playbooks_dir() / playbook)]
    if limit_hosts:
        command += ["--limit", ",".join(limit_hosts)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    if extra_vars:
        import json

        command += ["--extra-vars", json.dumps(extra_vars)]
    summary = RunSummary(kind=kind, run_dir=run_dir)
    for name in host_names:
        summary.host(name)
    try:
        with secrets or _no_agent() as secret_env, (run_dir / "ansible.log").open("wb") as log:
            os.chmod(run_dir / "ansible.log", 0o600)
            log.write(f"$ {' '.join(command)}\n".encode())
            log.flush()
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=ansible_env(run_dir, secret_env),
                cwd=run_dir,
            )
            try:
                for event in _follow(run_dir / "events.jsonl", process):
                    summary.apply(event)
                    if on_event:
                        on_event(summary, event)
            except BaseException:
                process.terminate()
                process.wait(timeout=30)
                raise
            summary.returncode = process.wait()
        if summary.returncode != 0 and not summary.failures:
            summary.errors = ansible_errors(run_dir / "ansible.log")
    finally:
        close_connections(control_dir)
    return summary
