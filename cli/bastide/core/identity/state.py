"""What the directory holds now, read on the identity host (root over the local socket), to
show people as they are: active, locked after failed logins, disabled, or not deployed yet."""

from __future__ import annotations

import base64
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bastide.core.ansible.runner import close_connections, connection_users, write_ssh_config
from bastide.core.inventory import Inventory
from bastide.errors import BastideError

DISABLED = "000001010000Z"


@dataclass(frozen=True)
class Entry:
    dn: str
    commune: str
    login: str
    lock: str  # "" (none), DISABLED, or the time a lock after failed logins began

    @property
    def state(self) -> str:
        if self.lock == DISABLED:
            return "disabled"
        return "locked" if self.lock else "active"


def parse_ldif(text: str) -> list[dict[str, list[str]]]:
    """ldapsearch -LLL output (unwrapped) as [{attribute: [values]}], ``dn`` included."""
    entries = []
    for block in text.strip().split("\n\n"):
        entry: dict[str, list[str]] = {}
        for line in block.splitlines():
            if line.startswith("#") or ": " not in line:
                continue
            key, value = line.split(": ", 1)
            if key.endswith(":"):
                key, value = key[:-1], base64.b64decode(value).decode("utf-8")
            entry.setdefault(key, []).append(value)
        if "dn" in entry:
            entries.append(entry)
    return entries


def read(inventory: Inventory) -> list[Entry]:
    """Every person the directory holds, with their lock."""
    identity = inventory.identity
    assert identity is not None
    host = identity.host
    users = connection_users(inventory, [host])
    control_dir = Path(tempfile.mkdtemp(prefix="bst-cp-"))
    scratch = Path(tempfile.mkdtemp(prefix="bastide-directory-"))
    try:
        config = scratch / "ssh_config"
        write_ssh_config(config, inventory, users, control_dir)
        sudo = [] if users[host] == "root" else ["sudo", "-n"]
        command = [
            *sudo, "ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-Q", "-Y", "EXTERNAL", "-H", "ldapi:///",
            "-b", f"ou=communes,{identity.base_dn}",
            "(objectClass=inetOrgPerson)", "uid", "pwdAccountLockedTime",
        ]  # fmt: skip
        done = subprocess.run(
            ["ssh", "-F", str(config), host, "--", *map(shlex.quote, command)],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
    finally:
        close_connections(control_dir)
        shutil.rmtree(scratch, ignore_errors=True)
    if done.returncode == 32:  # no such object: nothing deployed yet
        return []
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise BastideError(f"{host}: the directory could not be read: {reason}")
    found = []
    for entry in parse_ldif(done.stdout):
        dn = entry["dn"][0]
        # uid=<login>,ou=people,ou=<commune>,ou=communes,<base>
        rdns = [part.split("=", 1)[1] for part in dn.split(",")[:3]]
        found.append(
            Entry(dn=dn, commune=rdns[2], login=rdns[0], lock=(entry.get("pwdAccountLockedTime") or [""])[0])
        )
    return found
