"""``bastide backup prune``: a commune's retention, run only from the controller with the
maintainer key (the servers' writer key may not delete a snapshot). Snapshots older than the
target's ``keep_days`` are forgotten — per service, counted back from its newest snapshot, so a
commune whose backups stopped keeps its last ones — and the data they alone held is pruned.
Under Object Lock, pruned objects become delete markers: their versions stay until their lock
runs out. Repository keys left by ``keys rotate`` are removed once the host opens the
repository with the same key as the keyring."""

from __future__ import annotations

import json
from typing import Any

from bastide.core.backup import buckets, hosts, records, repository
from bastide.core.backup.status import stamp, utc_now
from bastide.core.inventory import Inventory

# Each service is its own series (snapshots tagged service:<name>), whatever paths it covers.
GROUP_BY = "host,tags"


def prune(inventory: Inventory, keyring: Any, slug: str, *, dry_run: bool = False) -> dict[str, Any]:
    target = buckets.target_of(inventory, slug)
    args = ["forget", "--json", "--keep-within", f"{target.keep_days}d", "--group-by", GROUP_BY]
    done = repository.restic(target, keyring, *args, *(["--dry-run"] if dry_run else []))
    if done.returncode != 0:
        raise repository.failed(target, done)
    groups = json.loads(done.stdout or "[]")
    forgotten = [
        {"id": s["short_id"], "time": s["time"], "service": _service(s)}
        for group in groups
        for s in group.get("remove") or []
    ]
    pruned = False
    if forgotten and not dry_run:
        done = repository.restic(target, keyring, "prune")
        if done.returncode != 0:
            raise repository.failed(target, done)
        pruned = True
    removed, kept_because = _old_keys(inventory, target, keyring, dry_run)
    result = {
        "commune": slug,
        "keep_days": target.keep_days,
        "dry_run": dry_run,
        "kept": sum(len(group.get("keep") or []) for group in groups),
        "forgotten": forgotten,
        "pruned": pruned,
        "keys_removed": removed,
        "keys_kept_because": kept_because,
    }
    if not dry_run:
        record = records.read(inventory, slug)
        done_at = stamp(utc_now())
        record["last_prune"] = {"time": done_at, "forgotten": len(forgotten), "keys_removed": removed}
        records.write(inventory, slug, record)
    return result


def _service(snapshot: dict[str, Any]) -> str:
    return next((t.split(":", 1)[1] for t in snapshot.get("tags") or [] if t.startswith("service:")), "")


def _old_keys(
    inventory: Inventory, target: buckets.Target, keyring: Any, dry_run: bool
) -> tuple[list[str], str | None]:
    """The repository keys other than the keyring's, removed when the commune's hosts use the
    keyring's too: removing the key a host still opens the repository with would stop its backups."""
    done = repository.restic(target, keyring, "key", "list", "--json")
    if done.returncode != 0:
        raise repository.failed(target, done)
    listed = json.loads(done.stdout or "[]")
    ours = next(k["id"] for k in listed if k.get("current"))
    others = [k["id"] for k in listed if not k.get("current")]
    if not others:
        return [], None
    if hosts.current_keys(inventory, target.commune) != {ours}:
        return [], "host-not-rekeyed"
    if not dry_run:
        for key in others:
            done = repository.restic(target, keyring, "key", "remove", key)
            if done.returncode != 0:
                raise repository.failed(target, done)
    return others, None
