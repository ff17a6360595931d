"""``bastide tls``: the certificates the front doors serve — status, renewal, the renewal timer."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from bastide.commands.deploy import inventory_argument, json_option, limit_option
from bastide.console import emit_json, err, out
from bastide.core.ansible import resolve_limit
from bastide.core.inventory import load
from bastide.core.tls import policy, renewal, served, timer
from bastide.errors import EXIT_FAILED
from bastide.i18n import Messages
from bastide.progress import Progress, print_summary, summary_dict

_ = Messages("tls")


@click.group("tls", help=_("cmd.tls.help"))
def tls() -> None:
    pass


@tls.command("status", help=_("cmd.status.help"))
@inventory_argument
@limit_option
@json_option
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=served.HTTPS_PORT,
    show_default=True,
    help=_("opt.status.port"),
)
def status_command(inventory: Path, limit: str | None, as_json: bool, port: int) -> None:
    inv = load(inventory)
    results = served.survey(inv, resolve_limit(inv, limit), port=port)
    unhealthy = [r for r in results if not r.healthy]
    if as_json:
        emit_json(
            {
                "ok": not unhealthy,
                "renew_before_days": policy.RENEW_BEFORE_DAYS,
                "alarm_before_days": policy.ALARM_BEFORE_DAYS,
                "sites": [r.as_dict() for r in results],
            }
        )
    elif not results:
        out.print(_("status.none"))
    else:
        out.print(_("status.header", renew=policy.RENEW_BEFORE_DAYS, alarm=policy.ALARM_BEFORE_DAYS))
        for r in results:
            mark = "[green]✓[/]" if r.healthy else "[red]✗[/]"
            left = _("status.days", days=int(r.days_left)) if r.days_left is not None else ""
            out.print(
                f"{mark} {r.site.host:<16} {r.site.fqdn:<40} {_('state.' + r.state)}"
                + (f"  {left}" if left else "")
                + (f"  [dim]{escape(r.detail)}[/]" if r.detail else "")
            )
        if unhealthy:
            err.print(_("status.unhealthy", count=len(unhealthy), inventory=inventory))
    if unhealthy:
        sys.exit(EXIT_FAILED)


@tls.command("renew", help=_("cmd.renew.help"))
@inventory_argument
@limit_option
@json_option
@click.option("--force", is_flag=True, help=_("opt.renew.force"))
def renew_command(inventory: Path, limit: str | None, as_json: bool, force: bool) -> None:
    inv = load(inventory)
    if not renewal.needs_controller(inv):
        if as_json:
            emit_json({"ok": True, "mode": inv.settings.tls.mode, "renewed": []})
        else:
            out.print(_("renew.acme"))
        return
    with Progress() as progress:
        summary = renewal.renew(inv, limit=limit, force=force, on_event=progress)
    renewed = renewal.renewed(summary)
    if as_json:
        emit_json({**summary_dict(summary), "renewed": [{"host": h, "certificate": c} for h, c in renewed]})
    else:
        print_summary(summary)
        if summary.ok:
            certificates = ", ".join(f"{c} ({h})" for h, c in renewed)
            out.print(_("renew.done", certificates=certificates) if renewed else _("renew.none"))
    if not summary.ok:
        sys.exit(EXIT_FAILED)


unit_dir_option = click.option(
    "--unit-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=timer.SYSTEM_UNIT_DIR,
    show_default=True,
    help=_("opt.timer.unit_dir"),
)


@tls.group("timer", help=_("cmd.timer.help"))
def timer_group() -> None:
    pass


@timer_group.command("install", help=_("cmd.timer.install.help"))
@inventory_argument
@click.option(
    "--identity",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("opt.timer.identity"),
)
@click.option(
    "--on-calendar",
    default=timer.DEFAULT_CALENDAR,
    show_default=True,
    help=_("opt.timer.on_calendar"),
)
@unit_dir_option
@click.option("--no-enable", is_flag=True, help=_("opt.timer.no_enable"))
def timer_install(inventory: Path, identity: Path, on_calendar: str, unit_dir: Path, no_enable: bool) -> None:
    inv = load(inventory)
    units, written = timer.install(
        inv, identity, on_calendar=on_calendar, unit_dir=unit_dir, enable=not no_enable
    )
    out.print(_("timer.installed", paths=", ".join(str(p) for p in written)))
    if no_enable:
        out.print(_("timer.not_enabled", timer=units.timer_unit))
    else:
        out.print(_("timer.enabled", timer=units.timer_unit, calendar=on_calendar))


@timer_group.command("remove", help=_("cmd.timer.remove.help"))
@inventory_argument
@unit_dir_option
def timer_remove(inventory: Path, unit_dir: Path) -> None:
    removed = timer.remove(load(inventory), unit_dir=unit_dir)
    if removed:
        out.print(_("timer.removed", paths=", ".join(str(p) for p in removed)))
    else:
        out.print(_("timer.nothing_to_remove", unit_dir=unit_dir))


def register(main: click.Group) -> None:
    main.add_command(tls)
