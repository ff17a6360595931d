"""``bastide backup status`` and ``bastide backup check``: per commune, the last backup's age and
result (from its host), the last check of its repository and the last drill (from the
controller's records), how long its newest backup stays locked (from the bucket)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bastide.core.backup import buckets, credentials, hosts, records, repository, s3
from bastide.core.inventory import Inventory

MAX_BACKUP_AGE_HOURS = 26
MAX_CHECK_AGE_DAYS = repository.SUBSETS + 1
# A restore proven once a month at least (a drill a month is what the docs advise).
MAX_DRILL_AGE_DAYS = 31
# Every problem the status may report (the report says each in words).
PROBLEMS = (
    "host-unreadable", "never-backed-up", "backup-stale", "last-backup-failed", "never-checked",
    "check-failed", "check-stale", "never-drilled", "drill-failed", "drill-stale", "lock-expired",
)  # fmt: skip
# What the status shows of each service's last backup (the host's record).
SERVICE_FACTS = ("ok", "snapshot", "files", "bytes", "tables", "records", "error")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def check(inventory: Inventory, keyring: Any, slug: str, *, all_data: bool = False) -> dict[str, Any]:
    """Check the commune's repository (the next part of its data, or all of it); recorded."""
    target = buckets.target_of(inventory, slug)
    record = records.read(inventory, slug)
    subset = int(record.get("next_subset", 1))
    done = repository.check_all(target, keyring) if all_data else repository.check(target, keyring, subset)
    record["last_check"] = {"time": stamp(utc_now()), "ok": done.ok, "subset": done.subset,
                            "output": done.output[-600:]}  # fmt: skip
    if done.ok and not all_data:
        record["next_subset"] = subset % repository.SUBSETS + 1
    records.write(inventory, slug, record)
    return dict(record["last_check"])


def commune_status(
    inventory: Inventory, keyring: Any, slug: str, max_age_hours: float, host: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One commune's row; ``host``: its hosts' record already read (``hosts.statuses``)."""
    now = utc_now()
    problems: list[str] = []
    if host is None:
        host = hosts.statuses(inventory, [slug])[slug]
    if "unreadable" in host:
        problems.append(f"host-unreadable: {host['unreadable']}")
        host = {}
    last = host.get("last_success")
    age = (now - parse(last)).total_seconds() / 3600 if last else None
    if age is None:
        problems.append("never-backed-up")
    elif age > max_age_hours:
        problems.append("backup-stale")
    if host and not host.get("ok", False):
        problems.append("last-backup-failed")
    record = records.read(inventory, slug)
    checked, drilled = record.get("last_check"), record.get("last_drill")
    problems += _proof_problems("check", checked, now, MAX_CHECK_AGE_DAYS)
    problems += _proof_problems("drill", drilled, now, MAX_DRILL_AGE_DAYS)
    lock = lock_left(buckets.target_of(inventory, slug), keyring)
    if lock is not None and lock["days_left"] <= 0:
        problems.append("lock-expired")
    return {
        "commune": slug,
        "ok": not problems,
        "problems": problems,
        "last_backup": last,
        "last_backup_age_hours": None if age is None else round(age, 1),
        "last_run": {k: host.get(k) for k in ("started", "finished", "ok")} if host else None,
        "services": {
            name: {k: v for k, v in info.items() if k in SERVICE_FACTS}
            for name, info in (host.get("services") or {}).items()
        },
        "last_check": checked,
        "last_drill": drilled,
        "lock": lock,
    }


def _proof_problems(kind: str, last: dict[str, Any] | None, now: dt.datetime, max_days: int) -> list[str]:
    """What is wrong with the last check or drill: never done, failed, or too old."""
    if last is None:
        return [f"never-{kind}ed"]
    found = [] if last.get("ok") else [f"{kind}-failed"]
    if (now - parse(last["time"])).days >= max_days:
        found.append(f"{kind}-stale")
    return found


def lock_left(target: buckets.Target, keyring: Any) -> dict[str, Any] | None:
    """How long the newest snapshot object stays locked, read with the maintainer key."""
    maintainer = credentials.get(keyring, target.commune, credentials.MAINTAINER)
    if maintainer is None:
        return None
    client = s3.client(target.endpoint, target.region, maintainer)
    found = client.list_objects_v2(Bucket=target.bucket, Prefix="snapshots/").get("Contents") or []
    if not found:
        return None
    newest = max(found, key=lambda item: item["LastModified"])
    head = client.head_object(Bucket=target.bucket, Key=newest["Key"])
    until = head.get("ObjectLockRetainUntilDate")
    if until is None:
        return {"mode": None, "until": None, "days_left": 0}
    return {
        "mode": head.get("ObjectLockMode"),
        "until": stamp(until),
        "days_left": round((until - utc_now()).total_seconds() / 86400, 1),
    }


def status(
    inventory: Inventory, keyring: Any, only: list[str] | None, max_age_hours: float
) -> list[dict[str, Any]]:
    slugs = only or [c.slug for c in inventory.communes]
    for slug in slugs:
        buckets.commune_of(inventory, slug)
    read = hosts.statuses(inventory, slugs)
    return [commune_status(inventory, keyring, slug, max_age_hours, read[slug]) for slug in slugs]
