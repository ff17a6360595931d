"""One command on one host of the inventory, over the same SSH settings as a deploy (the admin
account, or the bootstrap user before it exists), as root: what the commands that read a host's
state (the directory's locks, the drive's shares) need without running Ansible."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from bastide.core.ansible.runner import close_connections, connection_users, write_ssh_config
from bastide.core.inventory import Inventory


def run(
    inventory: Inventory, host: str, command: list[str], *, stdin: str | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """``command`` run as root on ``host`` (through sudo for the admin account); its output."""
    users = connection_users(inventory, [host])
    control_dir = Path(tempfile.mkdtemp(prefix="bst-cp-"))
    scratch = Path(tempfile.mkdtemp(prefix="bastide-remote-"))
    try:
        config = scratch / "ssh_config"
        write_ssh_config(config, inventory, users, control_dir)
        sudo = [] if users[host] == "root" else ["sudo", "-n"]
        return subprocess.run(
            ["ssh", "-F", str(config), host, "--", *map(shlex.quote, [*sudo, *command])],
            capture_output=True,
            text=True,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    finally:
        close_connections(control_dir)
        shutil.rmtree(scratch, ignore_errors=True)


def reason(done: subprocess.CompletedProcess[str]) -> str:
    """The last line of what a failed command said, for an error message."""
    return (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
