"""People's one-time passwords: made by bastide, kept in the keyring of the person's commune,
set in the directory with ``pwdReset`` (the person must choose their own at the next login),
handed out once. The keyring never sees the password the person then chooses.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastide.core.ansible.events import RunSummary
from bastide.core.ansible.runner import EventHandler
from bastide.core.identity.sync import run_on_identity_host
from bastide.core.inventory import Inventory
from bastide.core.inventory.model import Commune, Person
from bastide.errors import InputError, Problem
from bastide.i18n import Messages, t_in

_ = Messages("identity")

PLAYBOOK = "agent-password.yml"
KIND = "one-time-password"
# No 0/O, 1/l/I: read aloud or copied from paper without doubt.
_LOWER = "abcdefghijkmnopqrstuvwxyz"
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "23456789"
GROUPS, GROUP_LENGTH = 4, 4


def secret_name(login: str) -> str:
    return f"otp-{login}"


def new_password() -> str:
    """Four groups of four characters joined by "-" (19 characters), with lower and upper case
    letters, digits and a symbol, so that any class rule of the password policy accepts it."""
    alphabet = _LOWER + _UPPER + _DIGITS
    while True:
        groups = ["".join(secrets.choice(alphabet) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS)]
        password = "-".join(groups)
        if all(any(c in kind for c in password) for kind in (_LOWER, _UPPER, _DIGITS)):
            return password


@dataclass(frozen=True)
class Target:
    commune: Commune
    person: Person
    dn: str


def find_commune(inventory: Inventory, slug: str) -> Commune:
    try:
        return inventory.commune(slug)
    except KeyError:
        known = ", ".join(c.slug for c in inventory.communes) or "-"
        raise InputError(
            Problem(
                "COMMUNE",
                "commune",
                _("password.unknown_commune", commune=slug),
                _("password.unknown_commune.fix", known=known),
            )
        ) from None


def find(inventory: Inventory, commune_slug: str, login: str, *, allow_disabled: bool = False) -> Target:
    """The person ``login`` of ``commune_slug``, or an InputError saying what to fix (a person
    marked disabled is refused unless ``allow_disabled``)."""
    where = str(inventory.root / "syndicat.yml")
    if inventory.identity is None:
        raise InputError(Problem(where, "identity", _("password.no_identity"), _("password.no_identity.fix")))
    commune = find_commune(inventory, commune_slug)
    people = {p.login: p for p in [*commune.agents, *commune.elus]}
    if login not in people:
        raise InputError(
            Problem(
                str(commune.source),
                "agents",
                _("password.unknown_person", login=login, commune=commune.slug),
                _("password.unknown_person.fix", known=", ".join(sorted(people)) or "-"),
            )
        )
    if people[login].disabled and not allow_disabled:
        raise InputError(
            Problem(
                str(commune.source),
                "disabled",
                _("password.disabled", login=login),
                _("password.disabled.fix", commune=commune.slug, login=login),
            )
        )
    base = inventory.identity.base_dn
    return Target(commune, people[login], f"uid={login},ou=people,ou={commune.slug},ou=communes,{base}")


def issue(
    inventory: Inventory,
    commune_slug: str,
    login: str,
    *,
    keyring: Any | None = None,
    on_event: EventHandler | None = None,
) -> tuple[Target, str, RunSummary]:
    """Make a new one-time password for the person, keep it in the keyring and set it in the
    directory (the person's temporary lock after failed logins is lifted too)."""
    from bastide.core import keys

    target = find(inventory, commune_slug, login)
    assert inventory.identity is not None
    if keyring is None:
        keyring = keys.open_keyring(inventory.root)
    password = new_password()
    keyring.put(target.commune.slug, secret_name(login), password.encode("ascii"), kind=KIND)
    summary = run_on_identity_host(
        inventory,
        "agent-password",
        PLAYBOOK,
        keyring,
        on_event=on_event,
        extra_vars={
            "directory_password_dn": target.dn,
            "directory_password_scope": target.commune.slug,
            "directory_password_secret": secret_name(login),
        },
    )
    return target, password, summary


def sheet(inventory: Inventory, target: Target, password: str) -> str:
    """The printable sheet handed to the person: French first, then English."""
    assert inventory.identity is not None
    values = {
        "name": target.person.name,
        "commune": target.commune.name,
        "login": target.person.login,
        "password": password,
        "portal": f"https://{inventory.identity.portal}/",
        "syndicat": inventory.syndicat.name,
    }
    return "\n".join(
        [
            t_in("fr", "identity", "sheet.text", **values),
            "",
            "-" * 72,
            "",
            t_in("en", "identity", "sheet.text", **values),
            "",
        ]
    )


def write_sheet(path: Path, text: str) -> None:
    """Readable by its owner only: it holds a password until the person changes it."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
