"""``bastide backup drill``: the proof that a commune's backups restore. On its host, every
service's newest snapshot is restored into a scratch directory and scratch databases, compared
with its manifest (every file's sha256, every table's row count) and timed: that time is the
recovery time objective the status and the report show. The live services are not touched."""

from __future__ import annotations

from typing import Any

from bastide.core.backup import hosts, records
from bastide.core.backup.status import stamp, utc_now
from bastide.core.inventory import Inventory

KEPT = ("identical", "files", "tables", "records", "snapshot", "time", "seconds", "error", "differing_files",
        "differing_tables")  # fmt: skip


def drill(inventory: Inventory, slug: str) -> dict[str, Any]:
    """Drill the commune's backups now; the result, also recorded for ``backup status``."""
    report = hosts.drill(inventory, slug)
    result = {
        "time": stamp(utc_now()),
        "ok": bool(report.get("ok")),
        "rto_seconds": report.get("rto_seconds"),
        "services": {
            name: {k: v for k, v in info.items() if k in KEPT}
            for name, info in sorted((report.get("services") or {}).items())
        },
    }
    record = records.read(inventory, slug)
    record["last_drill"] = result
    records.write(inventory, slug, record)
    return result
