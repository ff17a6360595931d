"""`bastide init`, `bastide validate` and `bastide commune add|list|import|remove`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bastide.console import emit_json, err, out, show_problems
from bastide.core.inventory import communes, csvimport, load, skeleton
from bastide.core.inventory.validate import validate_dir
from bastide.errors import EXIT_BAD_INPUT, InputError, Problem
from bastide.i18n import Messages

_ = Messages("inventory")
_cli = Messages("cli")

INVENTORY = click.argument("inventory", type=click.Path(file_okay=False, path_type=Path))


def _csv_list(value: str | None) -> list[str] | None:
    return csvimport.split_list(value) if value else None


@click.command("init", help=_("cmd.init.help"))
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", required=True, help=_("opt.init.name"))
@click.option("--siren", required=True, help=_("opt.init.siren"))
@click.option("--email", "contact_email", required=True, help=_("opt.init.email"))
@click.option("--admin", default="dsi-admin", show_default=True, help=_("opt.init.admin"))
@click.option("--ssh-key", help=_("opt.init.ssh_key"))
@click.option("--smtp-relay", help=_("opt.init.smtp_relay"))
@click.option("--time-server", "time_servers", multiple=True, help=_("opt.init.time_server"))
@click.option(
    "--tls-mode",
    type=click.Choice(["acme", "internal"]),
    default="acme",
    show_default=True,
    help=_("opt.init.tls_mode"),
)
def init_command(
    directory: Path,
    name: str,
    siren: str,
    contact_email: str,
    admin: str,
    ssh_key: str | None,
    smtp_relay: str | None,
    time_servers: tuple[str, ...],
    tls_mode: str,
) -> None:
    skeleton.ensure_new(directory)
    key = _read_key(ssh_key, directory)
    skeleton.create(
        directory,
        name=name,
        siren=siren,
        contact_email=contact_email,
        admin=admin,
        ssh_key=key,
        smtp_relay=smtp_relay,
        time_servers=list(time_servers) or None,
        tls_mode=tls_mode,
    )
    out.print(_("init.done", path=directory))


def _read_key(option: str | None, directory: Path) -> str:
    if option is None:
        found = skeleton.find_public_key(Path.home())
        if found is None:
            raise InputError(Problem(str(directory), "--ssh-key", _("init.no_key"), _("init.no_key.fix")))
        return found.read_text(encoding="utf-8").strip()
    candidate = Path(option).expanduser()
    if not option.startswith(("ssh-", "ecdsa-", "sk-")) and candidate.is_file():
        return candidate.read_text(encoding="utf-8").strip()
    return option.strip()


@click.command("validate", help=_("cmd.validate.help"))
@INVENTORY
@click.option("--json", "as_json", is_flag=True, help=_("opt.json"))
def validate_command(inventory: Path, as_json: bool) -> None:
    result, problems = validate_dir(inventory)
    if as_json:
        emit_json(
            {
                "valid": not problems,
                "problems": [problem.as_dict() for problem in problems],
                "summary": result.summary() if result is not None else None,
            }
        )
        if problems:
            sys.exit(EXIT_BAD_INPUT)
        return
    if problems or result is None:
        raise InputError(problems)
    out.print(_("validate.ok", **result.summary()))


@click.group("commune", help=_("cmd.commune.help"))
def commune_group() -> None:
    pass


@commune_group.command("add", help=_("cmd.commune.add.help"))
@INVENTORY
@click.option("--name", required=True, help=_("opt.add.name"))
@click.option("--insee", required=True, help=_("opt.add.insee"))
@click.option("--domain", required=True, help=_("opt.add.domain"))
@click.option("--slug", help=_("opt.add.slug"))
@click.option("--host", help=_("opt.add.host"))
@click.option("--services", help=_("opt.add.services"))
@click.option("--backup-target", help=_("opt.add.backup_target"))
@click.option("--agent", "agents", multiple=True, help=_("opt.add.agent"))
def commune_add(
    inventory: Path,
    name: str,
    insee: str,
    domain: str,
    slug: str | None,
    host: str | None,
    services: str | None,
    backup_target: str | None,
    agents: tuple[str, ...],
) -> None:
    data = {
        "slug": slug,
        "name": name,
        "insee": insee,
        "domain": domain,
        "host": host,
        "services": services,
        "backup_target": backup_target,
        "agents": list(agents),
    }
    path = communes.add(inventory, data)
    out.print(_("commune.added", slug=path.stem, path=path))


@commune_group.command("list", help=_("cmd.commune.list.help"))
@INVENTORY
@click.option("--json", "as_json", is_flag=True, help=_("opt.json"))
def commune_list(inventory: Path, as_json: bool) -> None:
    loaded = load(inventory)
    rows = [
        {
            "slug": c.slug,
            "name": c.name,
            "insee": c.insee,
            "domain": c.domain,
            "host": c.host,
            "services": list(c.services),
            "backup_target": c.backup_target,
            "agents": len(c.agents),
            "sites": [site.fqdn for site in c.sites()],
        }
        for c in loaded.communes
    ]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        out.print(_("commune.none"))
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for key in ("slug", "name", "insee", "host", "services"):
        table.add_column(_(f"col.{key}"))
    for row in rows:
        table.add_row(row["slug"], row["name"], row["insee"], row["host"], ", ".join(row["services"]))
    out.print(table)


@commune_group.command("import", help=_("cmd.commune.import.help"))
@INVENTORY
@click.argument("csv_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--host", help=_("opt.import.host"))
@click.option("--services", help=_("opt.import.services"))
@click.option("--backup-target", help=_("opt.import.backup_target"))
@click.option("--dry-run", is_flag=True, help=_("opt.import.dry_run"))
def commune_import(
    inventory: Path,
    csv_file: Path,
    host: str | None,
    services: str | None,
    backup_target: str | None,
    dry_run: bool,
) -> None:
    plan = csvimport.plan(
        inventory, csv_file, host=host, services=_csv_list(services), backup_target=backup_target
    )
    files = plan.files()
    if dry_run:
        out.print(_("import.would_write", count=len(files)))
        for path, text in files:
            out.print(f"[bold]{path}[/]")
            out.print(text, markup=False, highlight=False)
        return
    written = csvimport.apply(plan)
    out.print(_("import.written", count=len(written)))
    for path in written:
        out.print(f"  {path}")


@commune_group.command("remove", help=_("cmd.commune.remove.help"))
@INVENTORY
@click.argument("slug")
@click.option("--yes", is_flag=True, help=_("opt.remove.yes"))
def commune_remove(inventory: Path, slug: str, yes: bool) -> None:
    path = inventory / "communes" / f"{slug}.yml"
    if not yes:
        if not sys.stdin.isatty():
            raise InputError(
                Problem(str(path), "--yes", _("commune.remove.needs_yes"), _("commune.remove.needs_yes.fix"))
            )
        if not click.confirm(_("commune.remove.confirm", slug=slug, path=path), default=False, err=True):
            err.print(_("commune.remove.cancelled"))
            return
    removed = communes.remove(inventory, slug)
    out.print(_("commune.removed", slug=slug, path=removed))


def register(main: click.Group) -> None:
    """Attach this module's commands to the top-level group."""
    main.add_command(init_command)
    main.add_command(validate_command)
    main.add_command(commune_group)


__all__ = ["register", "show_problems"]
