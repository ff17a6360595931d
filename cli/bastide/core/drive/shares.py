"""The share links of a commune's drive, read and ended on its host (the role's
``bastide-drive-shares`` tool, run as root over SSH): what is shared, by whom, until when, and
every download through each link, from the audit trail the drive keeps."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from bastide.core.ansible import remote
from bastide.core.inventory import Inventory
from bastide.errors import BastideError, InputError, Problem
from bastide.i18n import Messages

_ = Messages("drive")

SERVICE = "drive"
TOOL = "/usr/local/lib/bastide-drive/bastide-drive-shares"
KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DOWNLOAD = "share-download"
FIELDS = ("key", "path", "files", "user", "created", "expires", "state", "password")


@dataclass
class Share:
    key: str
    path: str
    files: list[str]
    user: str
    created: str
    expires: str | None
    state: str  # live, expired
    password: bool
    downloads: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "path": self.path, "files": self.files, "user": self.user,
            "created": self.created, "expires": self.expires, "state": self.state,
            "password": self.password, "downloads": self.downloads,
        }  # fmt: skip


def _commune(inventory: Inventory, slug: str) -> Any:
    where = str(inventory.root / "communes")
    try:
        commune = inventory.commune(slug)
    except KeyError:
        known = ", ".join(c.slug for c in inventory.communes)
        raise InputError(
            Problem(where, "", _("commune.unknown", commune=slug), _("commune.unknown.fix", known=known))
        ) from None
    if SERVICE not in commune.services:
        message = _("commune.no_drive", commune=slug)
        raise InputError(Problem(str(commune.source), "services", message, _("commune.no_drive.fix")))
    return commune


def _run(inventory: Inventory, host: str, command: list[str]) -> str:
    done = remote.run(inventory, host, command)
    if done.returncode != 0:
        raise BastideError(_("remote.failed", host=host, reason=remote.reason(done)))
    return done.stdout


def shares(inventory: Inventory, slug: str) -> tuple[list[Share], list[dict[str, Any]]]:
    """The commune's shares (live and expired) with their downloads, and the whole audit trail
    (creations, downloads, revocations), oldest first."""
    commune = _commune(inventory, slug)
    found = json.loads(_run(inventory, commune.host, [TOOL, "list", slug]))
    events = list(found["events"])
    listed = []
    for raw in found["shares"]:
        share = Share(**{k: raw[k] for k in FIELDS})
        share.downloads = [e for e in events if e.get("event") == DOWNLOAD and e.get("key") == share.key]
        listed.append(share)
    return listed, events


def revoke(inventory: Inventory, slug: str, key: str, by: str) -> None:
    """End one share now: its link stops working at once, and the audit trail says who did it."""
    commune = _commune(inventory, slug)
    fix = _("key.invalid.fix", commune=slug)
    if not KEY.match(key):
        raise InputError(Problem("", "KEY", _("key.invalid", share=key), fix))
    done = remote.run(inventory, commune.host, [TOOL, "revoke", slug, key, by])
    if done.returncode == 3:
        raise InputError(Problem("", "KEY", _("key.unknown", share=key, commune=slug), fix))
    if done.returncode != 0:
        raise BastideError(_("remote.failed", host=commune.host, reason=remote.reason(done)))
