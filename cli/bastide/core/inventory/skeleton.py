"""A new inventory from the ``templates/init`` skeleton (``bastide init``)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import jinja2

from bastide.core.inventory import catalogue, formats
from bastide.core.inventory.validate import SYNDICAT_FILE, validate_dir
from bastide.errors import BastideError, InputError, Problem
from bastide.i18n import Messages
from bastide.paths import templates_dir

_ = Messages("inventory")

DEFAULT_TIME_SERVERS = ("0.fr.pool.ntp.org", "1.fr.pool.ntp.org")
DEFAULT_PUBLIC_KEYS = ("id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub")


def french_residency() -> tuple[list[str], list[str]]:
    """Providers under French jurisdiction and their regions located in France (not the lab)."""
    providers = [p for p in catalogue.providers().values() if p.jurisdiction == "FR" and p.name != "lab"]
    regions = sorted({r.name for p in providers for r in p.regions.values() if r.country == "FR"})
    return [p.name for p in providers], regions


def find_public_key(home: Path) -> Path | None:
    for name in DEFAULT_PUBLIC_KEYS:
        candidate = home / ".ssh" / name
        if candidate.is_file():
            return candidate
    return None


def ensure_new(directory: Path) -> None:
    if (directory / SYNDICAT_FILE).exists() or (directory.exists() and any(directory.iterdir())):
        raise InputError(Problem(str(directory), "DIR", _("init.exists"), _("init.exists.fix")))


def create(
    directory: Path,
    *,
    name: str,
    siren: str,
    contact_email: str,
    admin: str,
    ssh_key: str,
    smtp_relay: str | None = None,
    time_servers: list[str] | None = None,
    tls_mode: str = "acme",
) -> Path:
    """Write a new, valid inventory in ``directory``; refuses to touch an existing one."""
    ensure_new(directory)
    problems: list[Problem] = []
    values: dict[str, object] = {}
    smtp_default = f"smtp.{contact_email.rpartition('@')[2]}" if "@" in contact_email else ""
    checks: list[tuple[str, str, Callable[[str], str], str]] = [
        ("--name", "name", formats.nonblank, name),
        ("--siren", "siren", formats.siren, siren),
        ("--email", "contact_email", formats.email, contact_email),
        ("--admin", "admin", formats.username, admin),
        ("--ssh-key", "ssh_key", formats.ssh_public_key, ssh_key),
        ("--smtp-relay", "smtp_relay", formats.address, smtp_relay or smtp_default),
        ("--tls-mode", "tls_mode", lambda v: formats.choice(v, ("acme", "internal")), tls_mode),
    ]
    for option, key, check, value in checks:
        try:
            values[key] = check(value)
        except formats.Invalid as error:
            problems.append(Problem(str(directory), option, error.message, error.fix))
    servers = []
    for server in time_servers or DEFAULT_TIME_SERVERS:
        try:
            servers.append(formats.address(server))
        except formats.Invalid as error:
            problems.append(Problem(str(directory), "--time-server", error.message, error.fix))
    if problems:
        raise InputError(problems)
    providers, regions = french_residency()
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir() / "init"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    environment.filters["yaml_str"] = lambda value: json.dumps(str(value), ensure_ascii=False)
    context = {
        **values,
        "time_servers": servers,
        "providers": providers,
        "regions": regions,
        "inventory_dir": str(directory),
    }
    created = not directory.exists()
    try:
        for template in environment.list_templates(extensions=["j2"]):
            target = directory / template.removesuffix(".j2")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(environment.get_template(template).render(context), encoding="utf-8")
        (directory / "communes").mkdir(parents=True, exist_ok=True)
        _inventory, problems = validate_dir(directory)
        if problems:
            raise BastideError(_("init.invalid", problems="; ".join(p.message for p in problems)))
    except BaseException:
        if created:
            shutil.rmtree(directory, ignore_errors=True)
        raise
    return directory
