"""``bastide plan``, ``deploy`` and ``verify``: converge the hosts to the inventory, and prove it."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from bastide.console import emit_json, err, out
from bastide.core.ansible import RunSummary, converge, plan, resolve_limit
from bastide.core.inventory import Inventory, load
from bastide.core.tls import served
from bastide.core.verify import verify, write_junit
from bastide.errors import EXIT_FAILED
from bastide.i18n import Messages
from bastide.progress import Progress, print_summary, summary_dict

_ = Messages("deploy")

inventory_argument = click.argument(
    "inventory", type=click.Path(file_okay=False, path_type=Path), envvar="BASTIDE_INVENTORY"
)
limit_option = click.option("--limit", "-l", metavar="COMMUNE|HOST", help=_("opt.limit"))
json_option = click.option("--json", "as_json", is_flag=True, help=_("opt.json"))


def _sites(inventory: Inventory, limit_hosts: list[str] | None) -> list[dict[str, str]]:
    return [
        {"commune": s.commune, "service": s.service, "url": f"https://{s.fqdn}/", "address": s.address}
        for s in served.sites(inventory, limit_hosts)
    ]


def report_run(summary: RunSummary, as_json: bool, extra: dict[str, object] | None = None) -> None:
    if as_json:
        emit_json({**summary_dict(summary), **(extra or {})})
    else:
        print_summary(summary)
    if not summary.ok:
        sys.exit(EXIT_FAILED)


@click.command("plan", help=_("cmd.plan.help"))
@inventory_argument
@limit_option
@json_option
def plan_command(inventory: Path, limit: str | None, as_json: bool) -> None:
    inv = load(inventory)
    with Progress() as progress:
        summary = plan(inv, limit=limit, on_event=progress)
    limit_hosts = resolve_limit(inv, limit) or [h.name for h in inv.hosts]
    report = []
    for host in limit_hosts:
        report.append(
            {
                "host": host,
                "changes": [c.task for c in summary.changes_for(host)],
                "communes": {
                    c.slug: sorted({ch.task for ch in summary.changes_for(host, c.slug)})
                    for c in inv.communes_on(host)
                },
            }
        )
    if not as_json and not summary.errors:
        for entry in report:
            out.print(f"[bold]{entry['host']}[/] — {_('plan.changes', count=len(entry['changes']))}")
            for task in dict.fromkeys(entry["changes"]):
                out.print(f"  ~ {task}", markup=False)
            for slug, tasks in entry["communes"].items():
                out.print(f"  [cyan]{slug}[/]: {_('plan.changes', count=len(tasks))}")
    report_run(summary, as_json, {"plan": report})


@click.command("deploy", help=_("cmd.deploy.help"))
@inventory_argument
@limit_option
@json_option
@click.option("--service", default=None, metavar="SERVICE", help=_("opt.deploy.service"))
def deploy_command(inventory: Path, limit: str | None, as_json: bool, service: str | None) -> None:
    inv = load(inventory)
    with Progress() as progress:
        summary = converge(inv, limit=limit, service=service, on_event=progress)
    sites = _sites(inv, resolve_limit(inv, limit))
    if summary.ok and not as_json:
        out.print(f"[bold green]{_('deploy.done')}[/]")
        for site in sites:
            out.print(f"  {site['commune']:<24} {site['service']:<6} {site['url']}  ({site['address']})")
    report_run(summary, as_json, {"sites": sites})


@click.command("verify", help=_("cmd.verify.help"))
@inventory_argument
@limit_option
@json_option
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help=_("opt.verify.junit"))
def verify_command(inventory: Path, limit: str | None, as_json: bool, junit: Path | None) -> None:
    inv = load(inventory)
    err.print(_("verify.running"))
    report = verify(inv, limit_hosts=resolve_limit(inv, limit))
    if junit:
        write_junit(report, inv, junit)
    if as_json:
        emit_json(report.as_dict(inv))
    else:
        for row in report.commune_report(inv):
            mark = "[green]✓[/]" if row["ok"] else "[red]✗[/]"
            out.print(
                f"{mark} {row['commune']:<24} {row['host']:<16} "
                + _("verify.counts", passed=row["passed"], failed=row["failed"], na=row["not_applicable"])
            )
            if row["unreachable"]:
                reason = escape(_("verify.unreachable", reason=row["unreachable"]))
                out.print(f"    [red]{reason}[/]", markup=True)
                continue
            for failure in row["failures"]:
                out.print(f"    [red]{failure}[/]", markup=True)
        out.print(_("verify.log_where", path=report.run_dir / "verify.log"))
    if not report.ok:
        sys.exit(EXIT_FAILED)


def register(main: click.Group) -> None:
    for command in (plan_command, deploy_command, verify_command):
        main.add_command(command)
