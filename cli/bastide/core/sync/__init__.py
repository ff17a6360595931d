"""Device sync (docs/sync.md): Syncthing device IDs computed as Syncthing does (:mod:`ids`), and
what an agent's device needs to sync with its commune's hub (:mod:`enroll`)."""

from __future__ import annotations

from bastide.core.sync.enroll import Enrollment, FolderOffer, add_device, enrollment, find_agent
from bastide.core.sync.ids import InvalidDeviceId, device_id, normalise

__all__ = [
    "Enrollment",
    "FolderOffer",
    "InvalidDeviceId",
    "add_device",
    "device_id",
    "enrollment",
    "find_agent",
    "normalise",
]
