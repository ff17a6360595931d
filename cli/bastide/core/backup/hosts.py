"""What ``bastide backup run|drill|prune`` and ``bastide restore`` ask of the hosts that hold a
commune's data: its bastide-backup tool (roles/backup), over the deploy's SSH settings. The
commune's own host backs up its services; the identity host, when another, its people (the
commune's branch of the directory), into the same repository: their records are merged."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from bastide.core.ansible import remote
from bastide.core.identity import directory
from bastide.core.inventory import Inventory
from bastide.errors import BastideError
from bastide.i18n import Messages

_ = Messages("backup")

TOOL = "/usr/local/sbin/bastide-backup"
CONFIG = "/etc/bastide-backup"
# A commune's drive can take long to send or bring back.
LONG = 6 * 3600


def data_hosts(inventory: Inventory, slug: str) -> list[str]:
    """The hosts that back the commune up: its own, then the identity host (its people)."""
    found = [inventory.commune(slug).host]
    if inventory.identity is not None and inventory.identity.host not in found:
        found.append(inventory.identity.host)
    return found


def services(inventory: Inventory, slug: str) -> list[str]:
    """What ``restore --service`` may name: the commune's services, and its people's directory."""
    names = list(inventory.commune(slug).services)
    return [*names, directory.BACKUP_SERVICE] if inventory.identity is not None else names


def run_now(inventory: Inventory, slug: str) -> dict[str, Any]:
    """Back the commune up now on each of its hosts, through the systemd unit (as the timer
    does); their merged record."""
    unit = f"bastide-backup@{slug}.service"
    for host in data_hosts(inventory, slug):
        started = remote.run(inventory, host, ["systemctl", "start", unit], timeout=LONG)
        if started.returncode != 0 and not _status(inventory, host, slug):
            # Refused before any record (a fresh server that has not restored yet): its words.
            said = remote.run(
                inventory, host, ["journalctl", f"_SYSTEMD_UNIT={unit}", "--lines", "2", "--output", "cat"]
            )
            reason = " / ".join(said.stdout.strip().splitlines()[-2:]) or remote.reason(started)
            raise BastideError(_("host.failed", host=host, reason=reason))
    return status(inventory, slug)


def _asked(inventory: Inventory, host: str, command: list[str]) -> subprocess.CompletedProcess[str]:
    """A short question to the host; one that does not answer in time is an error of that host."""
    try:
        return remote.run(inventory, host, command)
    except subprocess.TimeoutExpired:
        raise BastideError(_("host.failed", host=host, reason=_("host.timeout"))) from None


def _status(inventory: Inventory, host: str, slug: str) -> dict[str, Any]:
    done = _asked(inventory, host, [TOOL, "status", slug])
    if done.returncode != 0:
        raise BastideError(_("host.failed", host=host, reason=remote.reason(done)))
    return dict(json.loads(done.stdout or "{}"))


def status(inventory: Inventory, slug: str) -> dict[str, Any]:
    """The last run's record, of every host of the commune together: successful only if each
    host's was, as old as the oldest (a host that never ran leaves it without a success)."""
    return _merged_status(slug, [_status(inventory, host, slug) for host in data_hosts(inventory, slug)])


def statuses(inventory: Inventory, slugs: list[str]) -> dict[str, dict[str, Any]]:
    """Each commune's record as ``status`` merges it, each host asked once for all the communes
    it holds: one SSH session per host rather than per host and commune (a syndicat's hundreds
    of communes, the identity host holding every one's people). The communes of a host that
    cannot be read get ``{"unreadable": why}`` instead."""
    held: dict[str, list[str]] = {}
    for slug in slugs:
        for host in data_hosts(inventory, slug):
            held.setdefault(host, []).append(slug)
    found: dict[str, list[dict[str, Any]]] = {slug: [] for slug in slugs}
    unreadable: dict[str, str] = {}
    for host, communes in held.items():
        try:
            read = _statuses(inventory, host, communes)
        except BastideError as error:
            unreadable.update({slug: str(error) for slug in communes if slug not in unreadable})
            continue
        for slug in communes:
            found[slug].append(dict(read.get(slug) or {}))
    return {
        slug: {"unreadable": unreadable[slug]} if slug in unreadable else _merged_status(slug, found[slug])
        for slug in slugs
    }


def _statuses(inventory: Inventory, host: str, slugs: list[str]) -> dict[str, Any]:
    done = _asked(inventory, host, [TOOL, "statuses", *slugs])
    if done.returncode == 2 and "invalid choice" in done.stderr:
        # A host not deployed since bastide learnt `statuses`: asked commune by commune.
        return {slug: _status(inventory, host, slug) for slug in slugs}
    try:
        read = json.loads(done.stdout) if done.returncode == 0 else None
    except json.JSONDecodeError:
        read = None
    if not isinstance(read, dict):
        raise BastideError(_("host.failed", host=host, reason=remote.reason(done)))
    return read


def _merged_status(slug: str, found: list[dict[str, Any]]) -> dict[str, Any]:
    if not any(found):
        return {}
    merged: dict[str, Any] = {"commune": slug, "services": {}}
    for record in found:
        merged["services"].update(record.get("services") or {})
    merged["ok"] = all(record.get("ok", False) for record in found)
    successes = [record.get("last_success") for record in found]
    merged["last_success"] = None if None in successes else min(successes)
    for key, pick in (("started", min), ("finished", max)):
        stamps = [record[key] for record in found if record.get(key)]
        merged[key] = pick(stamps) if stamps else None
    return merged


def restore(
    inventory: Inventory, slug: str, service: str | None, path: str | None, at: str | None
) -> dict[str, Any]:
    """Bring the commune's data (or one service, or one file or folder) back on its host from the
    newest snapshot (at or before ``at``); what was compared with the manifest."""
    options = _options(service, path, at)
    hosts = data_hosts(inventory, slug)
    if service is not None:
        hosts = hosts[1:] if service == directory.BACKUP_SERVICE and len(hosts) > 1 else hosts[:1]
    return _merged([_report(inventory, host, slug, "restore", *options) for host in hosts])


def services_on(inventory: Inventory, slug: str, host: str) -> list[str]:
    """What ``host`` keeps of the commune: its services if it serves it, its people's directory
    if it is the identity host; nothing otherwise."""
    held: list[str] = []
    if inventory.commune(slug).host == host:
        held += inventory.commune(slug).services
    if inventory.identity is not None and inventory.identity.host == host:
        held.append(directory.BACKUP_SERVICE)
    return held


def plans(inventory: Inventory, host: str, slug: str) -> bool:
    """Whether the host was deployed with the commune's backup plan and repository key (what it
    restores with); a host that cannot be asked is an error, not a no."""
    files = ["-f", f"{CONFIG}/{slug}.json", "-a", "-f", f"{CONFIG}/{slug}.env"]
    done = _asked(inventory, host, ["test", *files])
    if done.returncode not in (0, 1):
        raise BastideError(_("host.failed", host=host, reason=remote.reason(done)))
    return done.returncode == 0


def restore_to(
    inventory: Inventory, slug: str, host: str, service: str | None, path: str | None, at: str | None
) -> dict[str, Any]:
    """What ``host`` keeps of the commune (or one service of it, or one file or folder) brought
    back on it, and nothing on the commune's other host: after the commune moved there, or
    when only that host was replaced."""
    return _report(inventory, host, slug, "restore", *_options(service, path, at))


def _options(service: str | None, path: str | None, at: str | None) -> list[str]:
    options: list[str] = []
    for flag, value in (("--service", service), ("--path", path), ("--at", at)):
        if value:
            options += [flag, value]
    return options


def held_by(inventory: Inventory, host: str) -> list[str]:
    """The communes whose data the host holds: those it serves, and every commune's people on
    the identity host."""
    return [c.slug for c in inventory.communes if host in data_hosts(inventory, c.slug)]


def restore_host(inventory: Inventory, host: str, at: str | None) -> dict[str, Any]:
    """Everything the host held brought back on it, commune by commune (a fresh server after a
    disaster): the services of each commune it runs, not what the commune's other host keeps.
    A commune that fails is reported with its error, and the next one restored."""
    options = ["--at", at] if at else []
    communes: dict[str, dict[str, Any]] = {}
    for slug in held_by(inventory, host):
        try:
            communes[slug] = _report(inventory, host, slug, "restore", *options)
        except BastideError as error:
            # One commune that cannot come back does not keep the others from their data.
            communes[slug] = {"commune": slug, "services": {}, "error": str(error)}
    return {
        "host": host,
        "communes": communes,
        "seconds": round(sum(report.get("seconds", 0) for report in communes.values()), 1),
    }


def _merged(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The reports of the commune's hosts as one: the services of each, the time of all."""
    merged = dict(reports[0])
    merged["services"] = {
        name: info for report in reports for name, info in (report.get("services") or {}).items()
    }
    for key in ("seconds", "rto_seconds"):
        if key in merged:
            merged[key] = round(sum(report.get(key, 0) for report in reports), 1)
    if "ok" in merged:
        merged["ok"] = all(report.get("ok", False) for report in reports)
    return merged


def _report(inventory: Inventory, host: str, slug: str, action: str, *options: str) -> dict[str, Any]:
    """The JSON report of a tool action that says what it did even when it failed (exit 1)."""
    done = remote.run(inventory, host, [TOOL, action, slug, *options], timeout=LONG)
    try:
        return dict(json.loads(done.stdout))
    except json.JSONDecodeError:
        # restic's last line only counts its errors: the lines before say which.
        reason = " / ".join(done.stderr.strip().splitlines()[-4:]) or remote.reason(done)
        raise BastideError(_("host.failed", host=host, reason=reason)) from None


def drill(inventory: Inventory, slug: str) -> dict[str, Any]:
    """Every service's newest snapshot restored aside on the hosts of the commune and compared."""
    return _merged([_report(inventory, host, slug, "drill") for host in data_hosts(inventory, slug)])


def current_keys(inventory: Inventory, slug: str) -> set[str | None]:
    """The ids of the repository keys the commune's hosts open its repository with."""
    return {_report(inventory, host, slug, "key").get("id") for host in data_hosts(inventory, slug)}
