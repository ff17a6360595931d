"""What the directory holds now, read on the identity host (root over the local socket), to
show people as they are: active, locked after failed logins, disabled, or not deployed yet."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from bastide.core.ansible import remote
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
    command = [
        "ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-Q", "-Y", "EXTERNAL", "-H", "ldapi:///",
        "-b", f"ou=communes,{identity.base_dn}",
        "(objectClass=inetOrgPerson)", "uid", "pwdAccountLockedTime",
    ]  # fmt: skip
    done = remote.run(inventory, identity.host, command)
    if done.returncode == 32:  # no such object: nothing deployed yet
        return []
    if done.returncode != 0:
        raise BastideError(f"{identity.host}: the directory could not be read: {remote.reason(done)}")
    found = []
    for entry in parse_ldif(done.stdout):
        dn = entry["dn"][0]
        # uid=<login>,ou=people,ou=<commune>,ou=communes,<base>
        rdns = [part.split("=", 1)[1] for part in dn.split(",")[:3]]
        found.append(
            Entry(dn=dn, commune=rdns[2], login=rdns[0], lock=(entry.get("pwdAccountLockedTime") or [""])[0])
        )
    return found
