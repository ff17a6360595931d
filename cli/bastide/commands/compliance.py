"""``bastide compliance``: judge a deployed host with OpenSCAP (ANSSI BP-028) and Lynis."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bastide.console import emit_json, err, out
from bastide.core import compliance
from bastide.core.ansible.runner import connection_users, known_hosts_file
from bastide.core.inventory import Inventory, load
from bastide.errors import EXIT_FAILED, InputError, Problem
from bastide.i18n import Messages

_ = Messages("compliance")


def _target(inventory: Inventory, host_name: str) -> compliance.Target:
    names = [h.name for h in inventory.hosts]
    if host_name not in names:
        raise InputError(
            Problem(
                str(inventory.root / "syndicat.yml"),
                "hosts",
                _("host.unknown", host=host_name),
                _("host.unknown_fix", choices=", ".join(names)),
            )
        )
    host = inventory.host(host_name)
    ssh = inventory.settings.ssh
    key = None
    if ssh.private_key_file:
        path = Path(str(ssh.private_key_file)).expanduser()
        key = str(path if path.is_absolute() else (inventory.root / path).resolve())
    return compliance.Target(
        name=host.name,
        address=host.address,
        user=connection_users(inventory, [host.name])[host.name],
        port=ssh.port,
        private_key_file=key,
        known_hosts=str(known_hosts_file(inventory)),
        http_proxy=inventory.settings.http_proxy or "",
    )


def _show(report: compliance.Report) -> None:
    out.print(f"[bold]{_('show.title', host=report.host, profile=report.profile)}[/]")
    counts = ", ".join(f"{name} {count}" for name, count in report.scap.counts.items())
    out.print("  " + _("show.counts", counts=counts))
    if report.in_container:
        out.print("  " + _("show.container"))
    if report.judgement.waived:
        out.print("  " + _("show.waived", count=len(report.judgement.waived), file=report.waivers_file))
    if report.judgement.stale:
        out.print("  [yellow]" + _("show.stale", rules=", ".join(report.judgement.stale)) + "[/]")
    if report.lynis:
        out.print(
            "  "
            + _(
                "show.lynis",
                version=report.lynis.get("version", "?"),
                index=report.lynis.get("hardening_index", "?"),
            )
        )
    if report.judgement.unwaived:
        out.print("  [bold red]" + _("show.unwaived", count=len(report.judgement.unwaived)) + "[/]")
        for rule in report.judgement.unwaived:
            out.print(f"    - {rule}")
        err.print(f"[bold red]{_('show.not_ok')}[/]")
    else:
        out.print(f"  [green]{_('show.ok')}[/]")


@click.command("compliance", help=_("cmd.compliance.help"))
@click.argument("inventory", type=click.Path(file_okay=False, path_type=Path), envvar="BASTIDE_INVENTORY")
@click.argument("host")
@click.option(
    "--profile",
    default="anssi_bp28_intermediary",
    show_default=True,
    type=click.Choice(compliance.PROFILES),
    help=_("opt.profile"),
)
@click.option(
    "--datastream",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=compliance.DATASTREAM_ENV,
    help=_("opt.datastream"),
)
@click.option(
    "--waivers",
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("opt.waivers"),
)
@click.option("--no-lynis", is_flag=True, help=_("opt.no_lynis"))
@click.option(
    "--results-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=_("opt.results_dir"),
)
@click.option("--json", "as_json", is_flag=True, help=_("opt.json"))
def compliance_command(
    inventory: Path,
    host: str,
    profile: str,
    datastream: Path | None,
    waivers: Path | None,
    no_lynis: bool,
    results_dir: Path | None,
    as_json: bool,
) -> None:
    loaded = load(inventory)
    report = compliance.check_host(
        _target(loaded, host),
        datastream=datastream,
        waivers_file=waivers,
        profile=profile,
        lynis=not no_lynis,
        results_dir=results_dir,
    )
    if as_json:
        emit_json(report.as_dict())
    else:
        _show(report)
    if not report.ok:
        sys.exit(EXIT_FAILED)


def register(main: click.Group) -> None:
    main.add_command(compliance_command)
