"""``bastide backup init|credentials``: the communes' backup buckets under Object Lock and
their keys (docs/backups.md)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from bastide.commands.deploy import inventory_argument, json_option
from bastide.console import emit_json, out
from bastide.core import keys
from bastide.core.backup import buckets, credentials, drills, hosts, recovery, report, retention
from bastide.core.backup import status as backup_status
from bastide.core.inventory import Inventory, load, yamlsource
from bastide.errors import EXIT_FAILED, InputError, Problem
from bastide.i18n import Messages

_ = Messages("backup")


@click.group("backup", help=_("cmd.backup.help"))
def backup() -> None:
    pass


@backup.command("init", help=_("cmd.init.help"))
@inventory_argument
@click.option("--commune", "communes", multiple=True, metavar="COMMUNE", help=_("opt.commune"))
@json_option
def init_command(inventory: Path, communes: tuple[str, ...], as_json: bool) -> None:
    inv = load(inventory)
    keyring = keys.open_keyring(inv.root)
    results = buckets.init(inv, keyring, list(communes) or None)
    if as_json:
        emit_json({"communes": [r.as_dict() for r in results]})
    else:
        for result in results:
            _show(result)
    if not all(r.ready for r in results):
        sys.exit(EXIT_FAILED)


def _show(result: buckets.Result) -> None:
    caps = result.capabilities
    out.print(
        _(
            "init.line",
            commune=result.commune,
            bucket=result.bucket,
            target=result.target,
            done=", ".join(result.done) or _("init.unchanged"),
        ),
        markup=False,
        highlight=False,
    )
    out.print(
        _(
            "init.capabilities",
            modes=", ".join(caps["lock_modes"]),
            access=caps["access_model"],
            conditions=_("word.yes") if caps["policy_conditions"] else _("word.no"),
        ),
        markup=False,
        highlight=False,
    )
    for role in result.missing_keys:
        out.print(_("init.missing_key", role=role, commune=result.commune), markup=False, highlight=False)
    if result.manual_policy is not None:
        out.print(_("init.manual_policy"), markup=False, highlight=False)
        click.echo(json.dumps(result.manual_policy, indent=2))
    for probe, refused in result.proven.items():
        key = "init.refused" if refused else "init.allowed"
        out.print(_(key, probe=probe), markup=False, highlight=False)


@backup.command("credentials", help=_("cmd.credentials.help"))
@inventory_argument
@click.option("--target", metavar="TARGET", help=_("opt.target"))
@click.option("--commune", metavar="COMMUNE", help=_("opt.commune_key"))
@click.option("--role", type=click.Choice(sorted(credentials.ROLES)), help=_("opt.role"))
@click.option("--access-key", required=True, help=_("opt.access_key"))
def credentials_command(
    inventory: Path, target: str | None, commune: str | None, role: str | None, access_key: str
) -> None:
    inv = load(inventory)
    if (target is None) == (commune is None) or (commune is not None and role is None):
        raise InputError(
            Problem("--target/--commune", "credentials", _("credentials.which"), _("credentials.which.fix"))
        )
    if target is not None and target not in {t.name for t in inv.backup_targets}:
        raise InputError(
            Problem(
                "--target",
                "target",
                _("credentials.unknown_target", target=target),
                _(
                    "credentials.unknown_target.fix",
                    known=", ".join(t.name for t in inv.backup_targets) or "-",
                ),
            )
        )
    if commune is not None:
        buckets.commune_of(inv, commune)
    # The secret comes on standard input (or a hidden prompt), never on the command line.
    secret = (
        click.prompt(_("credentials.prompt"), hide_input=True)
        if sys.stdin.isatty()
        else sys.stdin.readline().strip()
    )
    if not secret:
        raise InputError(Problem("stdin", "secret", _("credentials.empty"), _("credentials.empty.fix")))
    keyring = keys.open_keyring(inv.root)
    pair = credentials.KeyPair(access_key, secret)
    if target is not None:
        credentials.put(keyring, keys.SYNDICAT_SCOPE, credentials.account_name(target), pair)
        out.print(_("credentials.saved_account", target=target), markup=False, highlight=False)
    else:
        assert commune is not None and role is not None
        credentials.put(keyring, commune, credentials.ROLES[role], pair)
        out.print(_("credentials.saved", role=role, commune=commune), markup=False, highlight=False)


@backup.command("run", help=_("cmd.run.help"))
@inventory_argument
@click.argument("commune")
@json_option
def run_command(inventory: Path, commune: str, as_json: bool) -> None:
    inv = load(inventory)
    buckets.commune_of(inv, commune)
    record = hosts.run_now(inv, commune)
    if as_json:
        emit_json(record)
    else:
        for name, info in sorted((record.get("services") or {}).items()):
            key = "run.ok" if info.get("ok") else "run.failed"
            out.print(
                _(
                    key,
                    commune=commune,
                    service=name,
                    snapshot=info.get("snapshot", ""),
                    files=info.get("files", 0),
                    error=info.get("error", ""),
                ),
                markup=False,
                highlight=False,
            )
    if not record.get("ok"):
        sys.exit(EXIT_FAILED)


@backup.command("check", help=_("cmd.check.help"))
@inventory_argument
@click.argument("commune")
@click.option("--read-all", is_flag=True, help=_("opt.read_all"))
@json_option
def check_command(inventory: Path, commune: str, read_all: bool, as_json: bool) -> None:
    inv = load(inventory)
    buckets.commune_of(inv, commune)
    found = backup_status.check(inv, keys.open_keyring(inv.root), commune, all_data=read_all)
    if as_json:
        emit_json({"commune": commune, **found})
    else:
        key = "check.ok" if found["ok"] else "check.failed"
        out.print(
            _(key, commune=commune, subset=found["subset"], output=found["output"]),
            markup=False,
            highlight=False,
        )
    if not found["ok"]:
        sys.exit(EXIT_FAILED)


@backup.command("drill", help=_("cmd.drill.help"))
@inventory_argument
@click.argument("commune")
@json_option
def drill_command(inventory: Path, commune: str, as_json: bool) -> None:
    inv = load(inventory)
    buckets.commune_of(inv, commune)
    result = drills.drill(inv, commune)
    if as_json:
        emit_json({"commune": commune, **result})
    else:
        for name, info in result["services"].items():
            key = "drill.identical" if info.get("identical") else "drill.differs"
            differing = info.get("differing_files", []) + info.get("differing_tables", [])
            out.print(
                _(key, service=name, snapshot=info.get("snapshot", "-"), files=info.get("files", 0),
                  tables=info.get("tables", 0), records=info.get("records", 0), seconds=info.get("seconds"),
                  differing=", ".join(differing) or info.get("error", "")),
                markup=False, highlight=False,
            )  # fmt: skip
        key = "drill.ok" if result["ok"] else "drill.failed"
        out.print(_(key, commune=commune, rto=result["rto_seconds"]), markup=False, highlight=False)
    if not result["ok"]:
        sys.exit(EXIT_FAILED)


@backup.command("prune", help=_("cmd.prune.help"))
@inventory_argument
@click.option("--commune", "communes", multiple=True, metavar="COMMUNE", help=_("opt.commune"))
@click.option("--dry-run", is_flag=True, help=_("opt.dry_run"))
@json_option
def prune_command(inventory: Path, communes: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    inv = load(inventory)
    slugs = list(communes) or [c.slug for c in inv.communes]
    for slug in slugs:
        buckets.commune_of(inv, slug)
    keyring = keys.open_keyring(inv.root)
    results = [retention.prune(inv, keyring, slug, dry_run=dry_run) for slug in slugs]
    if as_json:
        emit_json({"communes": results})
        return
    for found in results:
        out.print(
            _("prune.line", commune=found["commune"], days=found["keep_days"], kept=found["kept"],
              forgotten=len(found["forgotten"]), keys=", ".join(found["keys_removed"]) or "-"),
            markup=False, highlight=False,
        )  # fmt: skip
        if found["keys_kept_because"]:
            out.print(_("prune.keys_kept", commune=found["commune"]), markup=False, highlight=False)


@backup.command("recover", help=_("cmd.recover.help"))
@inventory_argument
@click.argument("commune")
@click.option("--at", "at", required=True, metavar="TIME", help=_("opt.recover_at"))
@json_option
def recover_command(inventory: Path, commune: str, at: str, as_json: bool) -> None:
    inv = load(inventory)
    buckets.commune_of(inv, commune)
    try:
        when = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        problem = Problem("--at", "at", _("recover.bad_time", at=at), _("recover.bad_time.fix"))
        raise InputError(problem) from None
    when = when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)
    result = recovery.recover(inv, keys.open_keyring(inv.root), commune, when)
    if as_json:
        emit_json(result)
    else:
        key = "recover.done" if result["check"]["ok"] else "recover.failed"
        facts = {k: v for k, v in result.items() if k != "check"}
        out.print(_(key, **facts, output=result["check"]["output"]), markup=False, highlight=False)
        if result.get("old_writer"):
            said = "recover.old_writer_console" if result["old_writer"] == "console" else "recover.old_writer"
            out.print(_(said, bucket=result["from"]), markup=False, highlight=False)
    if not result["check"]["ok"]:
        sys.exit(EXIT_FAILED)


@backup.command("status", help=_("cmd.status.help"))
@inventory_argument
@click.option("--commune", "communes", multiple=True, metavar="COMMUNE", help=_("opt.commune"))
@click.option(
    "--max-age",
    type=float,
    default=backup_status.MAX_BACKUP_AGE_HOURS,
    show_default=True,
    help=_("opt.max_age"),
)
@json_option
def status_command(inventory: Path, communes: tuple[str, ...], max_age: float, as_json: bool) -> None:
    inv = load(inventory)
    rows = backup_status.status(inv, keys.open_keyring(inv.root), list(communes) or None, max_age)
    if as_json:
        emit_json({"communes": rows})
    else:
        for row in rows:
            lock = row["lock"] or {}
            check = row["last_check"] or {}
            state = _("status.ok") if row["ok"] else _("status.bad")
            out.print(
                _("status.line", commune=row["commune"], state=state,
                  backup=row["last_backup"] or _("status.never"),
                  age="-" if row["last_backup_age_hours"] is None else row["last_backup_age_hours"],
                  check=check.get("time") or _("status.never"), lock=lock.get("until") or "-",
                  drill=(row["last_drill"] or {}).get("time") or _("status.never"),
                  rto=(row["last_drill"] or {}).get("rto_seconds") or "-",
                  problems=", ".join(row["problems"]) or "-"),
                markup=False, highlight=False,
            )  # fmt: skip
    if not all(row["ok"] for row in rows):
        sys.exit(EXIT_FAILED)


@backup.command("report", help=_("cmd.report.help"))
@inventory_argument
@click.option("--commune", "communes", multiple=True, metavar="COMMUNE", help=_("opt.commune"))
@click.option(
    "--output", type=click.Path(file_okay=False, path_type=Path), required=True, help=_("opt.output")
)
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True, help=_("opt.lang"))
def report_command(inventory: Path, communes: tuple[str, ...], output: Path, lang: str) -> None:
    inv = load(inventory)
    rows = backup_status.status(
        inv, keys.open_keyring(inv.root), list(communes) or None, backup_status.MAX_BACKUP_AGE_HOURS
    )
    for row, page in zip(rows, report.write(inv, rows, output, lang), strict=True):
        out.print(_("report.written", commune=row["commune"], path=page), markup=False, highlight=False)
    if not all(row["ok"] for row in rows):
        sys.exit(EXIT_FAILED)


@click.command("restore", help=_("cmd.restore.help"))
@inventory_argument
@click.argument("commune", required=False)
@click.option("--host", "host", metavar="HOST", help=_("opt.restore_host"))
@click.option("--to", "to", metavar="HOST", help=_("opt.restore_to"))
@click.option("--service", metavar="SERVICE", help=_("opt.service"))
@click.option("--path", "path", metavar="PATH", help=_("opt.path"))
@click.option("--at", metavar="TIME", help=_("opt.at"))
@json_option
def restore_command(
    inventory: Path,
    commune: str | None,
    host: str | None,
    service: str | None,
    path: str | None,
    at: str | None,
    to: str | None,
    as_json: bool,
) -> None:
    inv = load(inventory)
    if (commune is None) == (host is None):
        raise InputError(
            Problem("COMMUNE", "", _("restore.commune_or_host"), _("restore.commune_or_host.fix"))
        )
    if host is not None and to is not None:
        raise InputError(Problem("--to", "to", _("restore.to_and_host"), _("restore.to_and_host.fix")))
    if host is not None:
        _restore_host(inv, host, service or path, at, as_json)
        return
    assert commune is not None
    found = buckets.commune_of(inv, commune)
    restorable = hosts.services(inv, commune)
    if service is not None and service not in restorable:
        raise InputError(
            Problem(
                str(found.source),
                "services",
                _("restore.no_service", service=service, commune=commune),
                _("restore.no_service.fix", services=", ".join(restorable)),
            )
        )
    if path is not None and service is None:
        raise InputError(
            Problem("--path", "path", _("restore.path_needs_service"), _("restore.path_needs_service.fix"))
        )
    if to is not None:
        _check_target(inv, commune, to, service)
        report = hosts.restore_to(inv, commune, to, service, path, at)
    else:
        report = hosts.restore(inv, commune, service, path, at)
    if as_json:
        emit_json(report)
    else:
        _print_restored(commune, report, to)
    if not _identical(report):
        sys.exit(EXIT_FAILED)


def _known_host(inv: Inventory, host: str) -> None:
    if host not in {h.name for h in inv.hosts}:
        raise InputError(
            Problem(
                str(inv.root / "syndicat.yml"),
                "hosts",
                _("restore.no_host", host=host),
                _("restore.no_host.fix", hosts=", ".join(h.name for h in inv.hosts)),
            )
        )


def _check_target(inv: Inventory, slug: str, to: str, service: str | None) -> None:
    """``restore COMMUNE --to HOST``: the host must be where the inventory puts what it is asked
    to bring back, and deployed so (restoring data no service serves would help no one)."""
    _known_host(inv, to)
    commune = inv.commune(slug)
    kept = hosts.services_on(inv, slug, to)
    if not kept:
        raise InputError(
            Problem(
                str(commune.source),
                "host",
                _("restore.to_elsewhere", host=to, commune=slug, where=commune.host),
                _("restore.to_elsewhere.fix", host=to),
                yamlsource.line_of(commune.source, ("host",)),
            )
        )
    if service is not None and service not in kept:
        raise InputError(
            Problem(
                "--service",
                "service",
                _("restore.to_no_service", host=to, service=service, commune=slug),
                _("restore.to_no_service.fix", host=to, services=", ".join(kept)),
            )
        )
    if not hosts.plans(inv, to, slug):
        raise InputError(
            Problem(
                "--to",
                "to",
                _("restore.to_not_deployed", host=to, commune=slug),
                _("restore.to_not_deployed.fix", host=to),
            )
        )


def _restore_host(inv: Inventory, host: str, narrowed: str | None, at: str | None, as_json: bool) -> None:
    """``restore --host``: every commune's data the host held, after the host was lost."""
    if narrowed is not None:
        raise InputError(Problem("--host", "host", _("restore.host_whole"), _("restore.host_whole.fix")))
    _known_host(inv, host)
    report = hosts.restore_host(inv, host, at)
    if as_json:
        emit_json(report)
    else:
        for slug, restored in report["communes"].items():
            _print_restored(slug, restored)
        out.print(
            _(
                "restore.host_seconds",
                host=host,
                communes=sum(1 for restored in report["communes"].values() if _identical(restored)),
                held=len(report["communes"]),
                seconds=report["seconds"],
            ),
            markup=False,
            highlight=False,
        )
    if not report["communes"] or not all(_identical(r) for r in report["communes"].values()):
        sys.exit(EXIT_FAILED)


def _identical(report: dict[str, Any]) -> bool:
    return bool(report.get("services")) and all(s.get("identical") for s in report["services"].values())


def _print_restored(commune: str, report: dict[str, Any], to: str | None = None) -> None:
    for name, info in sorted((report.get("services") or {}).items()):
        key = "restore.identical" if info.get("identical") else "restore.differs"
        out.print(
            _(
                key,
                service=name,
                time=info.get("time"),
                files=info.get("files"),
                tables=info.get("tables"),
                records=info.get("records", 0),
                differing=", ".join(info.get("differing_files", []) + info.get("differing_tables", [])),
            ),
            markup=False,
            highlight=False,
        )
    if report.get("seconds") is not None:
        said = (
            _("restore.to_seconds", commune=commune, host=to, seconds=report["seconds"])
            if to
            else _("restore.seconds", commune=commune, seconds=report["seconds"])
        )
        out.print(said, markup=False, highlight=False)
    if report.get("error"):
        out.print(report["error"], markup=False, highlight=False)


def register(main: click.Group) -> None:
    main.add_command(backup)
    main.add_command(restore_command)
