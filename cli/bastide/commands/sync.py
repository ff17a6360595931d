"""``bastide sync enroll``: an agent's device enrolled in its commune's Syncthing hub (docs/sync.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bastide.commands.deploy import inventory_argument, json_option
from bastide.console import emit_json, err, out
from bastide.core import keys
from bastide.core.inventory import load, writer
from bastide.core.sync import enroll
from bastide.i18n import Messages

_ = Messages("sync")


@click.group("sync", help=_("cmd.sync.help"))
def sync() -> None:
    pass


@sync.command("enroll", help=_("cmd.sync.enroll.help"))
@inventory_argument
@click.argument("commune")
@click.argument("agent")
@click.argument("device_id")
@click.option("--name", help=_("opt.sync.name"))
@click.option(
    "--write", "write_to", type=click.Path(dir_okay=False, path_type=Path), help=_("opt.sync.write")
)
@json_option
def enroll_command(
    inventory: Path,
    commune: str,
    agent: str,
    device_id: str,
    name: str | None,
    write_to: Path | None,
    as_json: bool,
) -> None:
    inv = load(inventory)
    # Bad input stops here: nothing written, the keyring not opened.
    device = enroll.check_device(inv, commune, agent, device_id, name)
    # The hub's and the servers' identities: made now if the inventory was never deployed
    # (deploy would make the same), so that the device IDs printed are the ones deployed.
    keyring = keys.open_keyring(inv.root)
    keyring.ensure(keys.required_secrets(inv))
    found = enroll.enrollment(inv, keyring, commune, agent, device, name)
    path, changed = enroll.add_device(inv.root, commune, agent, device, name)
    notes = err if as_json else out
    notes.print(_("enroll.written" if changed else "enroll.already", device=device, path=path), markup=False)
    text = (
        json.dumps(found.as_dict(), ensure_ascii=False, indent=2) + "\n"
        if as_json
        else enroll.document(found)
    )
    if write_to is not None:
        writer.write_atomic(write_to, text)
        notes.print(_("enroll.file_written", path=write_to), markup=False)
    if as_json:
        emit_json(found.as_dict())
    else:
        out.print(text, markup=False, highlight=False, end="")
    notes.print(_("enroll.deploy", commune=commune), markup=False)


def register(main: click.Group) -> None:
    main.add_command(sync)
