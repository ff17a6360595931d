"""`bastide lab`: real Debian 12 hosts and lab services on this machine (see docs/lab.md)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import click

from bastide.console import emit_json, err, out
from bastide.core.lab import Lab, LabInfo, inventory_writer
from bastide.errors import BastideError
from bastide.i18n import Messages

_ = Messages("lab")


def register(main: click.Group) -> None:
    """Attach the ``lab`` group to the top-level group."""
    main.add_command(lab)


@click.group(help=_("cmd.lab.help"))
def lab() -> None:
    pass


@lab.command(help=_("cmd.up.help"))
@click.option(
    "--hosts",
    "hosts",
    type=click.IntRange(1, 50),
    default=None,
    help=_("opt.up.hosts"),
)
@click.option(
    "--from",
    "source",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=_("opt.up.from"),
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("inventories/lab"),
    show_default=True,
    help=_("opt.up.out"),
)
@click.option("--no-inventory", is_flag=True, help=_("opt.up.no_inventory"))
@click.option(
    "--install-packages/--no-install-packages",
    default=True,
    show_default=True,
    help=_("opt.up.install_packages"),
)
def up(
    hosts: int | None, source: Path | None, out_dir: Path, no_inventory: bool, install_packages: bool
) -> None:
    source_inventory = None
    if not no_inventory:
        source_path = source or inventory_writer.default_source()
        if source_path is None:
            source_path = Path("inventories/demo")
        source_inventory = inventory_writer.read_source(source_path)
        if hosts is None:
            hosts = max(1, len(source_inventory.host_names))
        inventory_writer.check_fits(source_inventory, hosts)
    hosts = hosts or 3
    the_lab = Lab(log=err.print)
    lab_hosts = [f"lab{the_lab.lab_id}-h{i}" for i in range(1, hosts + 1)]
    domains = source_inventory.domains(lab_hosts) if source_inventory else {}
    info = the_lab.up(hosts, install_packages=install_packages, domains=domains)
    if source_inventory is not None:
        info = inventory_writer.write_and_record(source_inventory, info, out_dir)
        err.print(_("up.inventory", path=info.inventory))
    _show(info)


@lab.command(help=_("cmd.status.help"))
@click.option("--json", "as_json", is_flag=True, help=_("opt.json"))
def status(as_json: bool) -> None:
    the_lab = Lab()
    state = the_lab.status()
    info = the_lab.info()
    if as_json:
        emit_json({"status": dataclasses.asdict(state), "info": info.as_dict() if info else None})
        return
    if info is None and not state.leftovers:
        out.print(_("status.none", lab=the_lab.lab_id), soft_wrap=True)
        return
    out.print(_("status.up" if state.up else "status.not_up", lab=the_lab.lab_id), soft_wrap=True)
    for host in state.hosts:
        out.print(f"  {host.name:12} {host.address:14} {host.state}", soft_wrap=True)
    for name, alive in state.services.items():
        out.print(f"  {name:12} {'ok' if alive else _('status.stopped')}", soft_wrap=True)
    if info:
        _show(info, hosts=False)
    for leftover in state.leftovers:
        out.print(f"  [yellow]{_('status.leftover')}[/] {leftover}", soft_wrap=True)


@lab.command(
    help=_("cmd.ssh.help"),
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.argument("host")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def ssh(host: str, command: tuple[str, ...]) -> None:
    the_lab = Lab()
    info = the_lab.info()
    if info is None:
        raise BastideError(_("ssh.no_lab", lab=the_lab.lab_id), exit_code=3)
    if host not in {name for name, _address in info.hosts} and host not in {a for _n, a in info.hosts}:
        raise BastideError(
            _("ssh.unknown_host", host=host, hosts=", ".join(n for n, _a in info.hosts)), exit_code=2
        )
    argv = the_lab.ssh_argv(host, list(command))
    if not command and sys.stdin.isatty():
        argv.insert(1, "-t")
    sys.stdout.flush()
    sys.exit(subprocess.call(argv))


@lab.command(help=_("cmd.replace.help"))
@click.argument("host")
def replace(host: str) -> None:
    if os.geteuid() != 0:
        raise BastideError(_("prereq.root"), exit_code=3)
    Lab(log=err.print).replace(host)


@lab.command(help=_("cmd.down.help"))
def down() -> None:
    the_lab = Lab(log=err.print)
    if os.geteuid() != 0:
        raise BastideError(_("prereq.root"), exit_code=3)
    the_lab.down()
    left = the_lab.leftovers()
    if left:
        raise BastideError(_("down.leftovers", items="; ".join(left)))


def _show(info: LabInfo, *, hosts: bool = True) -> None:
    def line(label: str, value: object) -> None:
        out.print(f"  {_('show.' + label):12} {value}", soft_wrap=True)

    if hosts:
        for name, address in info.hosts:
            out.print(f"  {name:12} {address}", soft_wrap=True)
    line("ssh_key", info.ssh_key)
    line("proxy", info.proxy_url)
    if info.s3:
        keys = f"{_('show.access_key')} {info.s3.access_key}; {_('show.secret_in')} {info.s3.secret_key_file}"
        line("s3", f"{info.s3.endpoint} ({keys})")
    if info.acme:
        line("acme", info.acme.directory)
        line("acme_cas", f"{info.acme.server_ca_pem} {info.acme.issuer_root_pem}")
    if info.smtp:
        line("smtp", f"{info.smtp.host}:{info.smtp.port} → {info.smtp.maildir}")
    if info.inventory:
        line("inventory", info.inventory)


@lab.command("browse", help=_("cmd.browse.help"))
@click.argument(
    "inventory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("inventories/lab"),
    envvar="BASTIDE_INVENTORY",
)
@click.option("--json", "as_json", is_flag=True, help=_("opt.browse.json"))
def browse_command(inventory: Path, as_json: bool) -> None:
    from bastide.core.inventory import load
    from bastide.core.lab import browse

    info = Lab().info()
    if info is None:
        raise BastideError(_("browse.not_up"), exit_code=3)
    found = browse.access(load(inventory), info.acme.issuer_root_pem if info.acme else "")
    if as_json:
        emit_json(dataclasses.asdict(found))
        return
    out.print(_("browse.sites"), markup=False)
    for url in found.urls:
        out.print(f"  {url}", markup=False, highlight=False)
    out.print(_("browse.ca", path=found.issuer_root_pem), markup=False)
    out.print(_("browse.here"), markup=False)
    out.print(f"  {found.local_command}", markup=False, highlight=False)
    out.print(_("browse.elsewhere"), markup=False)
    out.print(f"  {found.ssh_command}", markup=False, highlight=False)
    out.print(_("browse.elsewhere_browser"), markup=False)
    out.print(f"  {found.remote_command}", markup=False, highlight=False)
