"""The calendars' layout, computed once for the role's templates and tasks and for its checks:
each commune's instance (its user and port), the collections the role creates in its storage,
and the rights of its people. The inventory (``bastide_communes``) is the only input."""

from __future__ import annotations

import hashlib
import re
from typing import Any

# Linux user names: 32 characters at most.
USER_PREFIX = "calendars-"
USER_MAX = 32
# The trusted local writer of appointments (the booking application, rdv). Directory logins
# start and end with a lowercase letter or a digit (bastide.core.inventory.formats.login): no
# person of the directory can be called this, through nginx or otherwise.
RDV_USER = "_rdv"
# The services' calendars live under this collection, beside the people's principals.
SERVICES = "services"
# Logins that would collide with the layout: the services' collection, and the /dav/ prefix
# nginx strips (kept out so that a person's URLs read the same with and without it).
RESERVED_LOGINS = frozenset({SERVICES, "dav"})

CALENDAR_COMPONENTS = "VEVENT,VTODO,VJOURNAL"


def calendars_user(slug: str) -> str:
    """The commune's system user: ``calendars-<slug>``, or, when that is too long for Linux, its
    first characters and a digest of the whole slug (still one user per commune)."""
    name = USER_PREFIX + slug
    if len(name) <= USER_MAX:
        return name
    digest = hashlib.sha256(slug.encode()).hexdigest()[:8]
    return f"{name[: USER_MAX - 9]}-{digest}"


def calendars_instances(communes: list[dict[str, Any]], base_port: int) -> list[dict[str, Any]]:
    """``{slug, user, port, commune}`` for each commune of the host that runs the calendars.

    The port is the contract's ``upstream.port`` plus the commune's index among *all* the
    host's communes (``bastide_communes``, in inventory order, whatever services they run):
    nginx (roles/nginx ``nginx_sites``) and bastide verify (roles/nginx/tests/test_upstreams.py)
    compute it the same way, so the three always agree."""
    return [
        {"slug": c["slug"], "user": calendars_user(c["slug"]), "port": int(base_port) + index, "commune": c}
        for index, c in enumerate(communes or [])
        if "calendars" in (c.get("services") or [])
    ]


def _people(commune: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    agents = [a for a in commune.get("agents") or [] if not a.get("disabled")]
    elus = [e for e in commune.get("elus") or [] if not e.get("disabled")]
    return agents, elus


def calendars_services(commune: dict[str, Any]) -> list[dict[str, Any]]:
    """The commune's services (its enabled agents' ``service``), each ``{slug, name, members}``."""
    agents, _elus = _people(commune)
    services: dict[str, dict[str, Any]] = {}
    for agent in agents:
        if not agent.get("service"):
            continue
        found = services.setdefault(
            agent["service_slug"], {"slug": agent["service_slug"], "name": agent["service"], "members": []}
        )
        found["members"].append(agent["login"])
    return [services[slug] for slug in sorted(services)]


def calendars_reserved(commune: dict[str, Any]) -> list[str]:
    """The commune's logins the layout cannot serve (see RESERVED_LOGINS)."""
    agents, elus = _people(commune)
    return sorted({p["login"] for p in [*agents, *elus]} & RESERVED_LOGINS)


def calendars_collections(commune: dict[str, Any]) -> list[dict[str, Any]]:
    """What the role creates in the commune's storage when it is missing, ``{path, props}``
    (``props`` None for a plain collection: a principal, the services' parent): each person's
    ``agenda`` and ``contacts``, each service's ``agenda``. Parents come before children."""
    agents, elus = _people(commune)
    found: list[dict[str, Any]] = []
    for person in [*agents, *elus]:
        login = person["login"]
        found.append({"path": f"{login}/", "props": None})
        found.append({
            "path": f"{login}/agenda/",
            "props": {"tag": "VCALENDAR", "D:displayname": person["name"],
                      "C:supported-calendar-component-set": CALENDAR_COMPONENTS},
        })  # fmt: skip
        found.append({
            "path": f"{login}/contacts/",
            "props": {"tag": "VADDRESSBOOK", "D:displayname": f"Contacts – {person['name']}"},
        })  # fmt: skip
    services = calendars_services(commune)
    if services:
        found.append({"path": f"{SERVICES}/", "props": None})
    for service in services:
        found.append({"path": f"{SERVICES}/{service['slug']}/", "props": None})
        found.append({
            "path": f"{SERVICES}/{service['slug']}/agenda/",
            "props": {"tag": "VCALENDAR", "D:displayname": f"Agenda – {service['name']}",
                      "C:supported-calendar-component-set": "VEVENT,VTODO"},
        })  # fmt: skip
    return found


def _exact(value: str) -> str:
    return re.escape(value)


def calendars_rights(commune: dict[str, Any]) -> list[dict[str, str]]:
    """The commune's rights file (Radicale ``from_file``), as sections ``{name, user,
    collection, permissions}``; Radicale takes the first section whose user and collection
    both match, and refuses what none matches.

    Everyone is listed by login from the inventory (no pattern such as ``.+``): someone the
    inventory does not list (an unknown login, a disabled person) matches no section and gets
    nothing, not even the creation of a principal of their own. Permissions: ``R`` lists a
    plain collection, ``r``/``w`` read/write a calendar or address book and its items, ``W``
    would create plain collections (nobody gets it), ``D`` allows deleting a collection (the
    configuration forbids it by default: the role's collections cannot be deleted)."""
    agents, elus = _people(commune)
    sections: list[dict[str, str]] = []
    for person in [*agents, *elus]:
        login = _exact(person["login"])
        sections += [
            {"name": f"root {person['login']}", "user": login, "collection": "", "permissions": "R"},
            {"name": f"principal {person['login']}", "user": login, "collection": login, "permissions": "R"},
            # Their own agenda and contacts, which they cannot delete.
            {"name": f"own {person['login']}", "user": login,
             "collection": f"{login}/(agenda|contacts)", "permissions": "rw"},
            # Calendars and address books they add themselves, which they may delete.
            {"name": f"added {person['login']}", "user": login,
             "collection": f"{login}/[^/]+", "permissions": "rwD"},
        ]  # fmt: skip
    for service in calendars_services(commune):
        slug = _exact(service["slug"])
        members = "|".join(_exact(m) for m in service["members"])
        sections += [
            {"name": f"services {service['slug']}", "user": f"({members})",
             "collection": f"{SERVICES}(/{slug})?", "permissions": "R"},
            {"name": f"service {service['slug']}", "user": f"({members})",
             "collection": f"{SERVICES}/{slug}/agenda", "permissions": "rw"},
        ]  # fmt: skip
    rdv = _exact(RDV_USER)
    sections.append({"name": "rdv root", "user": rdv, "collection": "", "permissions": "R"})
    for agent in agents:
        login = _exact(agent["login"])
        sections += [
            {"name": f"rdv principal {agent['login']}", "user": rdv, "collection": login, "permissions": "R"},
            {"name": f"rdv agenda {agent['login']}", "user": rdv,
             "collection": f"{login}/agenda", "permissions": "rw"},
        ]  # fmt: skip
    if calendars_services(commune):
        sections += [
            {"name": "rdv services", "user": rdv, "collection": f"{SERVICES}(/[^/]+)?", "permissions": "R"},
            {"name": "rdv service agendas", "user": rdv,
             "collection": f"{SERVICES}/[^/]+/agenda", "permissions": "rw"},
        ]  # fmt: skip
    return sections


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "calendars_user": calendars_user,
            "calendars_instances": calendars_instances,
            "calendars_services": calendars_services,
            "calendars_reserved": calendars_reserved,
            "calendars_collections": calendars_collections,
            "calendars_rights": calendars_rights,
        }
