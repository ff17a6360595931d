"""``bastide rdv``: the communes' appointment booking — embedding it in the commune's website,
its entry in the record of processing, its statistics."""

from __future__ import annotations

from pathlib import Path

import click

from bastide.commands.deploy import inventory_argument, json_option
from bastide.console import emit_json, err, out
from bastide.core.inventory import load
from bastide.core.rdv import embed as rdv_embed
from bastide.core.rdv import registre as rdv_registre
from bastide.core.rdv import stats as rdv_stats
from bastide.i18n import Messages

_ = Messages("rdv")


@click.group("rdv", help=_("cmd.rdv.help"))
def rdv() -> None:
    pass


@rdv.command("embed", help=_("cmd.embed.help"))
@inventory_argument
@click.argument("commune")
def embed_command(inventory: Path, commune: str) -> None:
    found = rdv_embed.embed(load(inventory), commune)
    if found.website:
        err.print(_("embed.allowed", website=found.website), markup=False, highlight=False)
    else:
        err.print(_("embed.no_website", commune=commune), markup=False, highlight=False)
    # The snippet alone on standard output, to paste or redirect.
    click.echo(found.snippet, nl=False)


@rdv.command("registre", help=_("cmd.registre.help"))
@inventory_argument
@click.argument("commune")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help=_("opt.output"))
def registre_command(inventory: Path, commune: str, output: Path | None) -> None:
    text = rdv_registre.registre(load(inventory), commune)
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    out.print(_("registre.written", path=output), markup=False, highlight=False)


@rdv.command("stats", help=_("cmd.stats.help"))
@inventory_argument
@click.argument("commune")
@json_option
def stats_command(inventory: Path, commune: str, as_json: bool) -> None:
    rows = rdv_stats.stats(load(inventory), commune)
    if as_json:
        emit_json({"commune": commune, "weeks": rows})
        return
    if not rows:
        out.print(_("stats.none"))
        return
    out.print(_("stats.header"), markup=False, highlight=False)
    for row in rows:
        out.print(
            _(
                "stats.row",
                **{
                    k: row[k]
                    for k in ("week", "service", "motive", "bookings", "cancelled", "no_show", "honoured")
                },
            ),
            markup=False,
            highlight=False,
        )


def register(main: click.Group) -> None:
    main.add_command(rdv)
