"""What ``bastide backup run|drill|prune`` and ``bastide restore`` ask of a commune's host: its
bastide-backup tool (roles/backup), over the deploy's SSH settings."""

from __future__ import annotations

import json
from typing import Any

from bastide.core.ansible import remote
from bastide.core.inventory import Inventory
from bastide.errors import BastideError
from bastide.i18n import Messages

_ = Messages("backup")

TOOL = "/usr/local/sbin/bastide-backup"
# A commune's drive can take long to send or bring back.
LONG = 6 * 3600


def run_now(inventory: Inventory, slug: str) -> dict[str, Any]:
    """Back the commune up now, through its systemd unit (as the timer does); its record."""
    host = inventory.commune(slug).host
    unit = f"bastide-backup@{slug}.service"
    started = remote.run(inventory, host, ["systemctl", "start", unit], timeout=LONG)
    found = status(inventory, slug)
    if started.returncode != 0 and not found:
        # Refused before any record (a fresh server that has not restored yet): the tool's words.
        said = remote.run(
            inventory, host, ["journalctl", f"_SYSTEMD_UNIT={unit}", "--lines", "2", "--output", "cat"]
        )
        reason = " / ".join(said.stdout.strip().splitlines()[-2:]) or remote.reason(started)
        raise BastideError(_("host.failed", host=host, reason=reason))
    return found


def status(inventory: Inventory, slug: str) -> dict[str, Any]:
    host = inventory.commune(slug).host
    done = remote.run(inventory, host, [TOOL, "status", slug])
    if done.returncode != 0:
        raise BastideError(_("host.failed", host=host, reason=remote.reason(done)))
    return dict(json.loads(done.stdout or "{}"))


def restore(
    inventory: Inventory, slug: str, service: str | None, path: str | None, at: str | None
) -> dict[str, Any]:
    """Bring the commune's data (or one service, or one file or folder) back on its host from the
    newest snapshot (at or before ``at``); what was compared with the manifest."""
    options = []
    for flag, value in (("--service", service), ("--path", path), ("--at", at)):
        if value:
            options += [flag, value]
    return _report(inventory, slug, "restore", *options)


def _report(inventory: Inventory, slug: str, action: str, *options: str) -> dict[str, Any]:
    """The JSON report of a tool action that says what it did even when it failed (exit 1)."""
    host = inventory.commune(slug).host
    done = remote.run(inventory, host, [TOOL, action, slug, *options], timeout=LONG)
    try:
        return dict(json.loads(done.stdout))
    except json.JSONDecodeError:
        # restic's last line only counts its errors: the lines before say which.
        reason = " / ".join(done.stderr.strip().splitlines()[-4:]) or remote.reason(done)
        raise BastideError(_("host.failed", host=host, reason=reason)) from None


def drill(inventory: Inventory, slug: str) -> dict[str, Any]:
    """Every service's newest snapshot restored aside on the commune's host and compared."""
    return _report(inventory, slug, "drill")


def current_key(inventory: Inventory, slug: str) -> str | None:
    """The id of the repository key the host opens the commune's repository with."""
    return _report(inventory, slug, "key").get("id")
