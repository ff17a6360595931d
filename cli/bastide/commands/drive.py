"""``bastide drive``: the communes' drives — their share links."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from bastide.commands.deploy import inventory_argument, json_option
from bastide.console import emit_json, out
from bastide.core.drive import shares as drive_shares
from bastide.core.inventory import load
from bastide.i18n import Messages

_ = Messages("drive")


@click.group("drive", help=_("cmd.drive.help"))
def drive() -> None:
    pass


@drive.command("shares", help=_("cmd.shares.help"))
@inventory_argument
@click.argument("commune")
@json_option
def shares_command(inventory: Path, commune: str, as_json: bool) -> None:
    found, events = drive_shares.shares(load(inventory), commune)
    if as_json:
        emit_json({"commune": commune, "shares": [s.as_dict() for s in found], "events": events})
        return
    if not found:
        out.print(_("shares.none"))
        return
    out.print(_("shares.header", count=len(found)))
    for share in found:
        until = _("shares.until", expires=share.expires) if share.expires else _("shares.forever")
        password = _("shares.password") if share.password else _("shares.no_password")
        row = _(
            "shares.row", share=share.key, state=_("state." + share.state), path=share.path, user=share.user,
            created=share.created, until=until, password=password, downloads=len(share.downloads),
        )  # fmt: skip
        out.print(row, markup=False, highlight=False)
        for download in share.downloads:
            shown = {k: download.get(k, "") for k in ("time", "ip", "path")}
            out.print(_("shares.download", **shown), markup=False, highlight=False)


@drive.command("revoke", help=_("cmd.revoke.help"))
@inventory_argument
@click.argument("commune")
@click.argument("key")
@click.option("--by", default=None, help=_("opt.revoke.by"))
def revoke_command(inventory: Path, commune: str, key: str, by: str | None) -> None:
    drive_shares.revoke(load(inventory), commune, key, by or getpass.getuser())
    out.print(_("revoked", share=key, commune=commune))


def register(main: click.Group) -> None:
    main.add_command(drive)
