"""Changing one person in a commune's file without rewriting the rest of it: the file is
edited as YAML that keeps its comments and layout (ruamel.yaml's round trip), checked with the
whole inventory, and written whole or not at all."""

from __future__ import annotations

from pathlib import Path

from bastide.core.inventory import writer
from bastide.errors import InputError, Problem
from bastide.i18n import Messages

_ = Messages("inventory")


def _login(item: dict) -> str:
    given = item.get("id")
    return str(given) if given else str(item.get("email", "")).split("@", 1)[0].lower()


def set_disabled(root: Path, slug: str, login: str, disabled: bool) -> tuple[Path, bool]:
    """Mark ``login`` of commune ``slug`` disabled (or not) in its file; (the file, whether it
    changed). The change is kept only if the inventory stays valid."""
    path = writer.commune_path(root, slug)
    if not path.is_file():
        raise InputError(
            Problem(
                str(root),
                "COMMUNE",
                _("commune.unknown", slug=slug),
                _("commune.unknown.fix", inventory=root),
            )
        )
    edit = writer.CommuneEdit(root, slug)
    data = edit.data
    found = [
        item
        for key in ("agents", "elus")
        for item in (data.get(key) or [])
        if isinstance(item, dict) and _login(item) == login
    ]
    if not found:
        raise InputError(
            Problem(str(path), "agents", _("person.unknown", login=login, slug=slug), _("person.unknown.fix"))
        )
    item = found[0]
    if bool(item.get("disabled", False)) == disabled:
        return path, False
    if disabled:
        item["disabled"] = True
    else:
        del item["disabled"]
    edit.save()
    return path, True
