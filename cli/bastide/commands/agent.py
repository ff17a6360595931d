"""``bastide agent list|show|password|disable|enable|sync``: the communes' people, their one-time
passwords, disabling someone at once, and the directory brought to the inventory now."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bastide.commands.deploy import inventory_argument, json_option, report_run
from bastide.console import emit_json, err, out
from bastide.core.identity import directory, passwords, state, sync
from bastide.core.inventory import load, people
from bastide.errors import EXIT_FAILED
from bastide.i18n import Messages
from bastide.progress import Progress, print_summary

_ = Messages("identity")


@click.group("agent", help=_("cmd.agent.help"))
def agent() -> None:
    pass


@agent.command("list", help=_("cmd.agent.list.help"))
@inventory_argument
@click.argument("commune", required=False)
@json_option
def list_command(inventory: Path, commune: str | None, as_json: bool) -> None:
    inv = load(inventory)
    if commune is not None:
        passwords.find_commune(inv, commune)
    in_directory = {(e.commune, e.login): e for e in state.read(inv)} if inv.identity else {}
    rows = []
    for c, person in inv.people():
        if commune in (None, c.slug):
            entry = in_directory.pop((c.slug, person.login), None)
            rows.append(
                {
                    "commune": c.slug,
                    "login": person.login,
                    "name": person.name,
                    "email": person.email,
                    "kind": "elu" if hasattr(person, "mandate") else "agent",
                    "role": getattr(person, "mandate", "") or getattr(person, "service", ""),
                    "state": entry.state if entry else "not-deployed",
                    "disabled_in_inventory": person.disabled,
                }
            )
    # In the directory but no longer in the inventory: disabled by the last deploy (or by the
    # next one, if it has not run since).
    for (slug, login), entry in sorted(in_directory.items()):
        if commune in (None, slug):
            rows.append(
                {"commune": slug, "login": login, "name": "", "email": "", "kind": "", "role": "",
                 "state": entry.state if entry.state == "disabled" else "to-disable",
                 "disabled_in_inventory": False}
            )  # fmt: skip
    if as_json:
        emit_json({"people": rows})
        return
    out.print(_("list.header", count=len(rows)))
    for row in rows:
        kind = _(f"kind.{row['kind']}") if row["kind"] else ""
        out.print(
            f"{row['commune']:<24} {row['login']:<24} {_('state.' + row['state']):<22} "
            f"{row['name']:<26} {kind:<16} {row['role']}"
        )


@agent.command("show", help=_("cmd.agent.show.help"))
@inventory_argument
@click.argument("commune")
@click.argument("login")
@json_option
def show_command(inventory: Path, commune: str, login: str, as_json: bool) -> None:
    inv = load(inventory)
    target = passwords.find(inv, commune, login)
    entry = next((e for e in state.read(inv) if e.dn == target.dn), None)
    person = target.person
    groups = [g["name"] for g in directory.groups(target.commune) if login in g["members"]]
    row = {
        "commune": target.commune.slug,
        "login": person.login,
        "name": person.name,
        "email": person.email,
        "kind": "elu" if hasattr(person, "mandate") else "agent",
        "role": getattr(person, "mandate", "") or getattr(person, "service", ""),
        "dn": target.dn,
        "groups": groups,
        "state": entry.state if entry else "not-deployed",
        "second_factor": target.commune.second_factor,
    }
    if as_json:
        emit_json(row)
        return
    for key in (
        "login",
        "name",
        "email",
        "commune",
        "kind",
        "role",
        "dn",
        "groups",
        "state",
        "second_factor",
    ):
        value = row[key]
        if key == "kind":
            value = _(f"kind.{value}")
        elif key == "state":
            value = _(f"state.{value}")
        elif key == "groups":
            value = ", ".join(value)
        out.print(f"{_('show.' + key):<22} {value}", markup=False, highlight=False)


@agent.command("password", help=_("cmd.agent.password.help"))
@inventory_argument
@click.argument("commune")
@click.argument("login")
@click.option("--sheet", type=click.Path(dir_okay=False, path_type=Path), help=_("opt.agent.sheet"))
def password_command(inventory: Path, commune: str, login: str, sheet: Path | None) -> None:
    inv = load(inventory)
    passwords.find(inv, commune, login)  # bad input stops here, before the keyring is opened
    with Progress() as progress:
        target, password, summary = passwords.issue(inv, commune, login, on_event=progress)
    if not summary.ok:
        print_summary(summary)
        sys.exit(EXIT_FAILED)
    assert inv.identity is not None
    values = {
        "login": target.person.login,
        "name": target.person.name,
        "commune": target.commune.name,
        "portal": f"https://{inv.identity.portal}/",
    }
    if sheet is not None:
        passwords.write_sheet(sheet, passwords.sheet(inv, target, password))
        out.print(_("password.sheet_written", path=sheet, **values))
        return
    err.print(_("password.set", **values))
    out.print(password, markup=False, highlight=False)
    err.print(_("password.once"))


def _set_disabled(inventory: Path, commune: str, login: str, disabled: bool) -> None:
    inv = load(inventory)
    passwords.find(inv, commune, login, allow_disabled=True)
    path, changed = people.set_disabled(inv.root, commune, login, disabled)
    verb = "disabled" if disabled else "enabled"
    out.print(_(f"{verb}.written" if changed else f"{verb}.already", login=login, path=path))
    with Progress() as progress:
        summary = sync.sync(load(inventory), on_event=progress)
    if not summary.ok:
        print_summary(summary)
        err.print(_("sync.failed", login=login))
        sys.exit(EXIT_FAILED)
    out.print(_(f"{verb}.applied", login=login))


@agent.command("disable", help=_("cmd.agent.disable.help"))
@inventory_argument
@click.argument("commune")
@click.argument("login")
def disable_command(inventory: Path, commune: str, login: str) -> None:
    _set_disabled(inventory, commune, login, True)


@agent.command("enable", help=_("cmd.agent.enable.help"))
@inventory_argument
@click.argument("commune")
@click.argument("login")
def enable_command(inventory: Path, commune: str, login: str) -> None:
    _set_disabled(inventory, commune, login, False)


@agent.command("sync", help=_("cmd.agent.sync.help"))
@inventory_argument
@json_option
def sync_command(inventory: Path, as_json: bool) -> None:
    inv = load(inventory)
    with Progress() as progress:
        summary = sync.sync(inv, on_event=progress)
    if summary.ok and not as_json:
        out.print(_("sync.done", count=len(summary.changes)))
    report_run(summary, as_json)


def register(main: click.Group) -> None:
    main.add_command(agent)
