"""`bastide keys`: the keyring (secrets encrypted at rest), its operators, rotation, recovery."""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime
from pathlib import Path

import click
import yaml
from rich.table import Table

from bastide.console import emit_json, err, out
from bastide.errors import InputError, Problem, RunFailure
from bastide.i18n import Messages

_ = Messages("keys")

_inventory_argument = click.argument("inventory", type=click.Path(file_okay=False, path_type=Path))


def _inventory_dir(path: Path) -> Path:
    if not path.is_dir():
        raise InputError(Problem(str(path), "INVENTORY", _("cli.no_inventory"), _("cli.no_inventory_fix")))
    return path


def _new_operator(name: str, identity: Path | None, recipient: str | None, passphrase_file: Path | None):
    from bastide.core.keys.errors import KeyringError
    from bastide.core.keys.operators import (
        AgeOperator,
        PassphraseOperator,
        generate_identity_file,
        identity_recipient,
        parse_recipient,
    )
    from bastide.core.keys.unlock import new_passphrase

    if identity is not None and recipient is not None:
        raise InputError(
            Problem(
                "--identity/--recipient",
                "operator",
                _("cli.identity_or_recipient"),
                _("cli.identity_or_recipient_fix"),
            )
        )
    if recipient is not None:
        try:
            return AgeOperator(name, parse_recipient(recipient))
        except ValueError as error:
            raise KeyringError(
                "--recipient", "recipient", _("cli.bad_recipient", reason=error), _("cli.bad_recipient_fix")
            ) from None
    if identity is not None:
        if not identity.exists():
            public = generate_identity_file(identity)
            err.print(_("cli.identity_created", path=identity, recipient=public))
            return AgeOperator(name, public)
        try:
            return AgeOperator(name, identity_recipient(identity))
        except (ValueError, OSError) as error:
            raise KeyringError(
                identity, "--identity", _("unlock.bad_identity", reason=error), _("unlock.bad_identity_fix")
            ) from None
    return PassphraseOperator(name, new_passphrase(passphrase_file))


def _syndicat_name(inventory: Path) -> str:
    # Read directly rather than through the full inventory validation: recovery must work
    # even when the inventory itself is being repaired.
    try:
        data = yaml.safe_load((inventory / "syndicat.yml").read_text(encoding="utf-8")) or {}
        return str(data["syndicat"]["name"])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return inventory.resolve().name


@click.group("keys", help=_("cmd.keys.help"))
def keys() -> None:
    pass


@keys.command("init", help=_("cmd.init.help"))
@_inventory_argument
@click.option("--operator", "operator_name", help=_("opt.init.operator"))
@click.option(
    "--identity",
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("opt.init.identity"),
)
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("opt.init.passphrase_file"),
)
def init_command(
    inventory: Path, operator_name: str | None, identity: Path | None, passphrase_file: Path | None
) -> None:
    from bastide.core.keys.keyring import KEYRING_DIR, Keyring, keyring_path

    inventory = _inventory_dir(inventory)
    if Keyring.exists(inventory):
        raise InputError(
            Problem(str(keyring_path(inventory)), "keyring", _("keyring.exists"), _("keyring.exists_fix"))
        )
    if passphrase_file is None and identity is None and os.environ.get("BASTIDE_PASSPHRASE_FILE"):
        passphrase_file = Path(os.environ["BASTIDE_PASSPHRASE_FILE"])
    name = operator_name or getpass.getuser()
    keyring = Keyring.create(inventory, _new_operator(name, identity, None, passphrase_file))
    gitignore = inventory / KEYRING_DIR / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(".lock\n.*.tmp\n", encoding="utf-8")
    out.print(_("cli.init_done", path=keyring.path, operator=name))


@keys.command("status", help=_("cmd.status.help"))
@_inventory_argument
@click.option("--json", "as_json", is_flag=True, help=_("opt.json"))
def status_command(inventory: Path, as_json: bool) -> None:
    from bastide.core.keys.unlock import open_keyring

    keyring = open_keyring(_inventory_dir(inventory))
    data = keyring.status()
    missing = _missing(inventory, keyring)
    if missing is not None:
        data["missing"] = missing
    if as_json:
        emit_json(data)
        return
    out.print(
        _("cli.status_header", path=keyring.path, generation=keyring.generation, updated=keyring.updated)
    )
    operators = ", ".join(f"{o['name']} ({o['kind']})" for o in data["operators"])
    out.print(_("cli.status_operators", operators=operators))
    table = Table(show_header=True, header_style="bold")
    for column in ("scope", "secret", "kind", "age", "created", "last_rotated", "rotations"):
        table.add_column(_(f"cli.column.{column}"), overflow="fold")
    for scope, secrets in data["scopes"].items():
        for info in secrets:
            table.add_row(
                scope,
                info["name"],
                info["kind"],
                _("cli.days", days=info["age_days"]),
                info["created"],
                info["last_rotated"] or "—",
                str(info["rotations"]),
            )
    out.print(table)
    if missing:
        out.print(_("cli.status_missing", count=len(missing), inventory=inventory))


def _missing(inventory: Path, keyring) -> list[dict[str, str]] | None:
    """The secrets the inventory needs and the keyring lacks (None when there is no inventory)."""
    if not (inventory / "syndicat.yml").exists():
        return None
    from bastide.core.inventory import load
    from bastide.core.keys.required import required_secrets

    return [
        {"scope": spec.scope, "name": spec.name, "kind": spec.kind}
        for spec in required_secrets(load(inventory))
        if not keyring.has(spec.scope, spec.name)
    ]


@keys.command("generate", help=_("cmd.generate.help"))
@_inventory_argument
def generate_command(inventory: Path) -> None:
    from bastide.core.inventory import load
    from bastide.core.keys.required import required_secrets
    from bastide.core.keys.unlock import open_keyring

    loaded = load(_inventory_dir(inventory))
    keyring = open_keyring(inventory)
    created = keyring.ensure(required_secrets(loaded))
    for spec in created:
        out.print(f"  + {spec.scope}/{spec.name} ({spec.kind})")
    out.print(_("cli.generated", count=len(created)))


@keys.command("rotate", help=_("cmd.rotate.help"))
@_inventory_argument
@click.argument("commune")
@click.argument("secrets", nargs=-1)
@click.option(
    "--no-deploy",
    is_flag=True,
    help=_("opt.rotate.no_deploy"),
)
def rotate_command(inventory: Path, commune: str, secrets: tuple[str, ...], no_deploy: bool) -> None:
    from bastide.core.inventory import load
    from bastide.core.keys.keyring import SYNDICAT_SCOPE
    from bastide.core.keys.unlock import open_keyring

    loaded = load(_inventory_dir(inventory))
    if commune != SYNDICAT_SCOPE:
        try:
            loaded.commune(commune)
        except KeyError:
            raise InputError(
                Problem(
                    str(inventory / "communes"),
                    "COMMUNE",
                    _("cli.unknown_commune", commune=commune),
                    _("cli.unknown_commune_fix"),
                )
            ) from None
    keyring = open_keyring(inventory)
    rotated = keyring.rotate(commune, list(secrets) or None)
    for name in rotated:
        out.print(f"  ↻ {commune}/{name}")
    out.print(_("cli.rotated", count=len(rotated), commune=commune))
    from bastide.core.backup.hosts import data_hosts

    # The commune's host, and the identity host: its people's directory holds the commune's
    # reader password, and backs them up with the commune's repository password.
    limit = None if commune == SYNDICAT_SCOPE else ",".join([commune, *data_hosts(loaded, commune)[1:]])
    if no_deploy:
        out.print(_("cli.deploy_needed", inventory=inventory, limit=f" --limit {limit}" if limit else ""))
        return
    from bastide.core.ansible import converge

    summary = converge(loaded, keyring=keyring, limit=limit)
    if not summary.ok:
        err.print(
            _("cli.rotate_deploy_failed", inventory=inventory, limit=f" --limit {limit}" if limit else "")
        )
        raise RunFailure(summary=summary)
    out.print(_("cli.rotate_deployed", commune=commune))


@keys.command("rotate-operator", help=_("cmd.rotate_operator.help"))
@_inventory_argument
def rotate_operator_command(inventory: Path) -> None:
    from bastide.core.keys.unlock import open_keyring

    keyring = open_keyring(_inventory_dir(inventory))
    keyring.rotate_keyring_key()
    out.print(_("cli.keyring_key_rotated", operators=len(keyring.operators())))


@keys.group("operator", help=_("cmd.operator.help"))
def operator_group() -> None:
    pass


@operator_group.command("list", help=_("cmd.operator.list.help"))
@_inventory_argument
@click.option("--json", "as_json", is_flag=True, help=_("opt.json"))
def operator_list(inventory: Path, as_json: bool) -> None:
    from bastide.core.keys.unlock import open_keyring

    keyring = open_keyring(_inventory_dir(inventory))
    operators = [operator.as_dict() for operator in keyring.operators()]
    if as_json:
        emit_json(operators)
        return
    for operator in operators:
        out.print(
            f"{operator['name']:<24} {operator['kind']:<11} {operator['added']}  {operator['recipient']}"
        )


@operator_group.command("add", help=_("cmd.operator.add.help"))
@_inventory_argument
@click.argument("name")
@click.option(
    "--identity",
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("opt.operator.identity"),
)
@click.option("--recipient", help=_("opt.operator.recipient"))
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("opt.operator.passphrase_file"),
)
def operator_add(
    inventory: Path, name: str, identity: Path | None, recipient: str | None, passphrase_file: Path | None
) -> None:
    from bastide.core.keys.unlock import open_keyring

    keyring = open_keyring(_inventory_dir(inventory))
    keyring.add_operator(_new_operator(name, identity, recipient, passphrase_file))
    out.print(_("cli.operator_added", name=name))


@operator_group.command("remove", help=_("cmd.operator.remove.help"))
@_inventory_argument
@click.argument("name")
def operator_remove(inventory: Path, name: str) -> None:
    from bastide.core.keys.unlock import open_keyring

    keyring = open_keyring(_inventory_dir(inventory))
    keyring.remove_operator(name)
    out.print(_("cli.operator_removed", name=name, inventory=inventory))


@keys.group("recovery", help=_("cmd.recovery.help"))
def recovery_group() -> None:
    pass


@recovery_group.command("split", help=_("cmd.recovery.split.help"))
@_inventory_argument
@click.option("--shares", type=int, default=5, show_default=True, help=_("opt.split.shares"))
@click.option("--threshold", type=int, default=3, show_default=True, help=_("opt.split.threshold"))
@click.option("--label", "labels", multiple=True, help=_("opt.split.label"))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=_("opt.split.out"),
)
def recovery_split(
    inventory: Path, shares: int, threshold: int, labels: tuple[str, ...], out_dir: Path | None
) -> None:
    from bastide.core.keys import recovery
    from bastide.core.keys.keyring import write_private
    from bastide.core.keys.unlock import open_keyring

    inventory = _inventory_dir(inventory)
    out_dir = out_dir or Path(f"recovery-shares-{datetime.now(UTC):%Y%m%d-%H%M%S}")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(Problem(str(out_dir), "--out", _("cli.out_not_empty"), _("cli.out_not_empty_fix")))
    keyring = open_keyring(inventory)
    sheets = recovery.split(
        keyring, shares=shares, threshold=threshold, holders=list(labels), syndicat=_syndicat_name(inventory)
    )
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for sheet in sheets:
        write_private(out_dir / sheet.filename(), sheet.text.encode("utf-8"))
        out.print(f"  {out_dir / sheet.filename()}  ({sheet.holder})")
    out.print(_("cli.split_done", shares=shares, threshold=threshold, out=out_dir))


@recovery_group.command("join", help=_("cmd.recovery.join.help"))
@_inventory_argument
@click.argument(
    "share_files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@click.option("--operator", "operator_name", help=_("opt.join.operator"))
@click.option(
    "--identity",
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("opt.join.identity"),
)
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("opt.join.passphrase_file"),
)
def recovery_join(
    inventory: Path,
    share_files: tuple[Path, ...],
    operator_name: str | None,
    identity: Path | None,
    passphrase_file: Path | None,
) -> None:
    from bastide.core.keys import recovery
    from bastide.core.keys.keyring import Keyring

    inventory = _inventory_dir(inventory)
    secret = recovery.recover(list(share_files))
    keyring = Keyring.open(inventory, secret)
    name = operator_name or getpass.getuser()
    keyring.add_operator(_new_operator(name, identity, None, passphrase_file), replace=True)
    out.print(_("cli.join_done", name=name, path=keyring.path))


def register(main: click.Group) -> None:
    """Attach this module's commands to the top-level group."""
    main.add_command(keys)
