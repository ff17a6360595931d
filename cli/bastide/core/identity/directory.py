"""The directory's content, derived from the inventory: one branch per commune with its people
(agents and elected officials) and its groups, and the service accounts that read it.

The role ``directory`` receives this as ``bastide_directory`` on the identity host and makes the
directory hold exactly that; people no longer in the inventory, or marked ``disabled`` in it,
are disabled there, not deleted.

DNs (``base`` is the identity's base DN, e.g. ``dc=vallee-ours,dc=example,dc=fr``)::

    ou=communes,<base>
      ou=<slug>,ou=communes,<base>            a commune's branch
        ou=people,...                         uid=<login>: inetOrgPerson
        ou=groups,...                         cn=<group>: groupOfNames
        cn=reader,...                         the commune's read-only service account
    ou=services,<base>
      cn=portal,ou=services,<base>            the portal's read-only service account
    ou=policies,<base>
      cn=default,ou=policies,<base>           the password policy (ppolicy)
"""

from __future__ import annotations

from typing import Any

from bastide.core.inventory import Inventory
from bastide.core.inventory.formats import slugify
from bastide.core.inventory.model import Commune, Elu, Person

# Keyring names of the service accounts' passwords.
READER_SECRET = "directory-reader"  # scope: the commune
PORTAL_SECRET = "directory-portal"  # scope: _syndicat
SYNDICAT_SCOPE = "_syndicat"

COUNCIL_GROUP = "conseil-municipal"

# The commune's people in its backup plan (backup_service): what `restore --service` names.
BACKUP_SERVICE = "directory"


def split_name(name: str) -> tuple[str, str]:
    """(given name, surname) of a full name: the last word is taken as the surname, which is
    what the directory's sn needs; cn keeps the full name as written."""
    words = name.split()
    if len(words) == 1:
        return "", words[0]
    return " ".join(words[:-1]), words[-1]


def _person(person: Person) -> dict[str, Any]:
    given, surname = split_name(person.name)
    entry: dict[str, Any] = {
        "login": person.login,
        "name": person.name,
        "given_name": given,
        "surname": surname,
        "email": person.email,
        "disabled": person.disabled,
    }
    if isinstance(person, Elu):
        entry.update(kind="elu", mandate=person.mandate, service="")
    else:
        entry.update(kind="agent", mandate="", service=getattr(person, "service", ""))
    return entry


def groups(commune: Commune) -> list[dict[str, Any]]:
    """The commune's groups that have members: everyone (named after the commune), one per
    service of its agents (``service-<service>``), and its municipal council. Disabled people
    are in none."""
    agents = [a for a in commune.agents if not a.disabled]
    elus = [e for e in commune.elus if not e.disabled]
    everyone = [p.login for p in [*agents, *elus]]
    found: dict[str, dict[str, Any]] = {}
    if everyone:
        found[commune.slug] = {"name": commune.slug, "description": commune.name, "members": everyone}
    for agent in agents:
        if agent.service:
            name = f"service-{slugify(agent.service)}"
            group = found.setdefault(name, {"name": name, "description": agent.service, "members": []})
            group["members"].append(agent.login)
    if elus:
        found[COUNCIL_GROUP] = {
            "name": COUNCIL_GROUP,
            "description": f"Conseil municipal de {commune.name}",
            "members": [e.login for e in elus],
        }
    return list(found.values())


def content(inventory: Inventory) -> dict[str, Any]:
    """What the directory holds (without any secret: passwords come from the keyring)."""
    return {
        "communes": [
            {
                "slug": commune.slug,
                "name": commune.name,
                "second_factor": commune.second_factor,
                "people": [_person(p) for p in [*commune.agents, *commune.elus]],
                "groups": groups(commune),
            }
            for commune in inventory.communes
        ]
    }


def branch_dn(base_dn: str, slug: str) -> str:
    return f"ou={slug},ou=communes,{base_dn}"


def backup_service(base_dn: str, slug: str) -> dict[str, Any]:
    """The commune's people in its own backups (docs/backups.md): on the identity host, its
    branch exported by slapcat (slapd's MDB gives it a consistent read, nothing to stop) and
    brought back by bastide-directory-restore (roles/directory), and their persistent sessions
    on the portal (roles/sso's bastide-portal-sessions), in the shape of a service of the
    backup plan."""
    branch = branch_dn(base_dn, slug)
    return {
        "name": BACKUP_SERVICE,
        "directories": [],
        "databases": [],
        "exports": [
            {
                "file": "directory.ldif",
                "command": f"slapcat -b '{base_dn}' -o ldif-wrap=no -H 'ldap:///{branch}??sub'",
                "restore": f"/usr/local/sbin/bastide-directory-restore '{base_dn}' '{branch}' {{file}}",
            },
            # After the branch: their persistent sessions on the portal (TOTP enrolments).
            {
                "file": "portal-sessions.txt",
                "command": f"/usr/local/sbin/bastide-portal-sessions export '{base_dn}' '{branch}'",
                "restore": f"/usr/local/sbin/bastide-portal-sessions restore '{base_dn}' '{branch}' {{file}}",
            },
        ],
        "quiesce": "",
        "resume": "",
        "restore": "",
        "path_root": "",
    }
