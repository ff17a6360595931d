"""The commune a booking command is about: it must exist and run the booking."""

from __future__ import annotations

from typing import Any

from bastide.core.inventory import Inventory
from bastide.errors import InputError, Problem
from bastide.i18n import Messages

_ = Messages("rdv")

SERVICE = "rdv"


def booking_commune(inventory: Inventory, slug: str) -> Any:
    try:
        commune = inventory.commune(slug)
    except KeyError:
        known = ", ".join(c.slug for c in inventory.communes)
        raise InputError(
            Problem(
                str(inventory.root / "communes"),
                "",
                _("commune.unknown", commune=slug),
                _("commune.unknown.fix", known=known),
            )
        ) from None
    if SERVICE not in commune.services:
        raise InputError(
            Problem(
                str(commune.source), "services", _("commune.no_rdv", commune=slug), _("commune.no_rdv.fix")
            )
        )
    return commune


def site_url(commune: Any) -> str:
    return "https://" + next(s.fqdn for s in commune.sites() if s.service == SERVICE)
