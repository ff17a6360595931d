"""What the controller remembers of each commune's backups (checks, the next part of the data
to read), beside the inventory in ``backups/<slug>.json``: no secret, commit it with the rest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bastide.core.inventory import Inventory


def path(inventory: Inventory, slug: str) -> Path:
    return inventory.root / "backups" / f"{slug}.json"


def read(inventory: Inventory, slug: str) -> dict[str, Any]:
    found = path(inventory, slug)
    return dict(json.loads(found.read_text(encoding="utf-8"))) if found.is_file() else {}


def write(inventory: Inventory, slug: str, record: dict[str, Any]) -> None:
    found = path(inventory, slug)
    found.parent.mkdir(parents=True, exist_ok=True)
    temporary = found.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    temporary.replace(found)
