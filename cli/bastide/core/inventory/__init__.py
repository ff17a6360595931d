"""The inventory: one syndicat, its residency policy, settings, hosts, backup targets and
member communes, read from a directory and validated as a whole.

``load(path)`` is the entry point; it raises :class:`bastide.errors.InputError` listing every
problem found (file, line, field, message, fix).
"""

from __future__ import annotations

from pathlib import Path

from bastide.core.inventory.model import (
    Admin,
    Agent,
    BackupTarget,
    Commune,
    Host,
    Inventory,
    Residency,
    Settings,
    Site,
    SmtpRelay,
    SshSettings,
    Syndicat,
    TlsSettings,
)
from bastide.core.inventory.validate import validate_dir
from bastide.errors import InputError

__all__ = [
    "Admin",
    "Agent",
    "BackupTarget",
    "Commune",
    "Host",
    "Inventory",
    "Residency",
    "Settings",
    "Site",
    "SmtpRelay",
    "SshSettings",
    "Syndicat",
    "TlsSettings",
    "load",
]


def load(path: str | Path) -> Inventory:
    """Read and validate the inventory directory ``path``; every problem at once, or none."""
    inventory, problems = validate_dir(Path(path))
    if problems or inventory is None:
        raise InputError(problems)
    return inventory
