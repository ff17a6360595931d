"""A commune's booking statistics, computed by the application on its host from what survives
the retention (anonymous counts per reason and week): bookings, cancellations, no-shows."""

from __future__ import annotations

import json
from typing import Any

from bastide.core.ansible import remote
from bastide.core.inventory import Inventory
from bastide.core.rdv.commune import booking_commune
from bastide.errors import BastideError
from bastide.i18n import Messages

_ = Messages("rdv")

TOOL = "/usr/local/sbin/bastide-rdv-manage"


def stats(inventory: Inventory, slug: str) -> list[dict[str, Any]]:
    commune = booking_commune(inventory, slug)
    done = remote.run(inventory, commune.host, [TOOL, slug, "rdv_stats", "--json"])
    if done.returncode != 0:
        raise BastideError(_("remote.failed", host=commune.host, reason=remote.reason(done)))
    try:
        rows = json.loads(done.stdout)
    except json.JSONDecodeError as error:
        raise BastideError(_("remote.failed", host=commune.host, reason=str(error))) from error
    return list(rows)
