"""The commune drive's layout, computed once for the role's templates and tasks (and the sync
part): who the commune's store belongs to, and which folders it has, who writes and who reads
each. The inventory (``bastide_communes``) is the only input."""

from __future__ import annotations

import hashlib
from typing import Any

# Linux user names: 32 characters at most.
USER_PREFIX = "drive-"
USER_MAX = 32
# The service whose agents write the municipal council's folder (convocations, minutes).
COUNCIL_WRITERS = "secretariat-de-mairie"
COUNCIL_FOLDER = "conseil-municipal"


def drive_user(slug: str) -> str:
    """The commune's system user: ``drive-<slug>``, or, when that is too long for Linux,
    its first characters and a digest of the whole slug (still one user per commune)."""
    name = USER_PREFIX + slug
    if len(name) <= USER_MAX:
        return name
    digest = hashlib.sha256(slug.encode()).hexdigest()[:8]
    return f"{name[: USER_MAX - 9]}-{digest}"


def drive_folders(commune: dict[str, Any]) -> list[dict[str, Any]]:
    """The commune's folders: one per service of its agents (its agents write it; everyone of
    the commune reads it unless the drive settings restrict it), one per person (theirs
    alone), and the municipal council's (the elected officials read it, the town clerks'
    service writes it). Disabled people (rendered with ``disabled``) get no folder and no right."""
    settings = (commune.get("settings") or {}).get("drive") or {}
    restricted = set(settings.get("restricted") or [])
    agents = [a for a in commune.get("agents") or [] if not a.get("disabled")]
    elus = [e for e in commune.get("elus") or [] if not e.get("disabled")]
    everyone = [p["login"] for p in [*agents, *elus]]
    services: dict[str, dict[str, Any]] = {}
    for agent in agents:
        if not agent.get("service"):
            continue
        slug = agent["service_slug"]
        folder = services.setdefault(
            slug,
            {"id": f"services-{slug}", "path": f"services/{slug}", "label": agent["service"],
             "group": f"service-{slug}", "writers": [], "readers": []},
        )
        folder["writers"].append(agent["login"])
    folders = []
    for _slug, folder in sorted(services.items()):
        closed = folder["label"] in restricted
        folder["readers"] = [] if closed else [p for p in everyone if p not in folder["writers"]]
        folder["readers_group"] = "" if closed else commune["slug"]
        folders.append(folder)
    council_writers = services.get(COUNCIL_WRITERS, {}).get("writers", [])
    folders.append(
        {"id": COUNCIL_FOLDER, "path": COUNCIL_FOLDER, "label": "Conseil municipal",
         "group": f"service-{COUNCIL_WRITERS}", "writers": list(council_writers),
         "readers": [e["login"] for e in elus if e["login"] not in council_writers],
         "readers_group": COUNCIL_FOLDER}
    )
    for person in [*agents, *elus]:
        login = person["login"]
        folders.append(
            {"id": f"agents-{login}", "path": f"agents/{login}", "label": person["name"],
             "group": "", "user": login, "writers": [login], "readers": [], "readers_group": ""}
        )
    return folders


def drive_folders_with_commune(commune: dict[str, Any]) -> list[list[Any]]:
    """``[commune, folder]`` for each of the commune's folders (to loop over every store's)."""
    return [[commune, folder] for folder in drive_folders(commune)]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "drive_user": drive_user,
            "drive_folders": drive_folders,
            "drive_folders_with_commune": drive_folders_with_commune,
        }
