"""The administration host's timer that makes internal-CA renewal automatic.

``bastide tls timer install`` writes a systemd service and timer (from ``templates/systemd/``)
that run ``bastide tls renew INVENTORY`` on a calendar (daily by default), unlocking the keyring
with an age identity kept on that machine, then enables the timer. Everything is checked before
anything is written: the inventory uses the internal CA, the identity file is private and opens
this inventory's keyring, the calendar expression is one systemd accepts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bastide.core import contract
from bastide.core.inventory import Inventory
from bastide.core.inventory.formats import slugify
from bastide.errors import EnvironmentProblem, InputError, Problem
from bastide.i18n import Messages
from bastide.paths import state_dir, templates_dir

_ = Messages("tls")

SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
DEFAULT_CALENDAR = "daily"


@dataclass(frozen=True)
class Units:
    """The two unit files for one inventory, rendered."""

    name: str
    service: str
    timer: str

    @property
    def timer_unit(self) -> str:
        return f"{self.name}.timer"

    def paths(self, unit_dir: Path) -> tuple[Path, Path]:
        return unit_paths(self.name, unit_dir)


def unit_paths(name: str, unit_dir: Path) -> tuple[Path, Path]:
    """The service and the timer of unit ``name`` in ``unit_dir``."""
    return unit_dir / f"{name}.service", unit_dir / f"{name}.timer"


def unit_name(inventory: Inventory) -> str:
    """One timer per syndicat, so an administration host may serve several."""
    return f"bastide-tls-renew-{slugify(str(inventory.syndicat.name)) or inventory.syndicat.siren}"


def _no_control(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"control character in {value!r}")
    return value


def systemd_text(value: str) -> str:
    """Free text in a unit file: ``%`` starts a specifier, lines must not break."""
    return " ".join(str(value).split()).replace("%", "%%")


def systemd_arg(value: str) -> str:
    """One ``ExecStart=`` word, quoted so spaces, quotes, specifiers and ``$`` stay literal."""
    text = _no_control(str(value))
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{text}"'


def systemd_env(assignment: str) -> str:
    """One ``Environment=`` assignment, quoted (no ``$`` expansion happens there)."""
    text = _no_control(str(assignment))
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") + '"'


def renew_command(inventory_root: Path) -> list[str]:
    """The command the service runs: this very bastide, through the Python it is installed in."""
    return [sys.executable, "-m", "bastide", "tls", "renew", str(inventory_root)]


def render_units(inventory: Inventory, identity: Path, on_calendar: str = DEFAULT_CALENDAR) -> Units:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir() / "systemd")),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters.update(systemd_text=systemd_text, systemd_arg=systemd_arg, systemd_env=systemd_env)
    root = inventory.root.resolve()
    name = unit_name(inventory)
    values = {
        "name": name,
        "syndicat": str(inventory.syndicat.name),
        "inventory": str(root),
        "identity": str(identity.resolve()),
        "state_dir": str(state_dir().resolve()),
        "command": renew_command(root),
        "on_calendar": on_calendar,
        # Services kept outside bastide (docs/service-contract.md): the timer's runs must know
        # the same ones as the commands run by hand, or the inventory would not validate.
        "roles_path": os.environ.get(contract.EXTRA_ROLES_ENV, ""),
    }
    return Units(
        name,
        env.get_template("bastide-tls-renew.service.j2").render(values),
        env.get_template("bastide-tls-renew.timer.j2").render(values),
    )


def _syndicat_file(inventory: Inventory) -> str:
    return str(inventory.root / "syndicat.yml")


def check_mode(inventory: Inventory) -> None:
    if inventory.settings.tls.mode != "internal":
        raise InputError(
            Problem(
                _syndicat_file(inventory),
                "settings.tls.mode",
                _("timer.acme_mode", mode=inventory.settings.tls.mode),
                _("timer.acme_mode_fix"),
            )
        )


def check_identity(inventory: Inventory, identity: Path) -> None:
    """The identity must be private to its owner and open this inventory's keyring."""
    from bastide.core import keys

    where = str(identity)
    if not identity.is_file():
        raise InputError(Problem(where, "--identity", _("timer.no_identity"), _("timer.no_identity_fix")))
    if identity.stat().st_mode & 0o077:
        raise InputError(
            Problem(
                where,
                "--identity",
                _("timer.identity_exposed", mode=oct(identity.stat().st_mode & 0o777)),
                _("timer.identity_exposed_fix", path=identity),
            )
        )
    try:
        keys.Keyring.open(inventory.root, keys.Identity(identity.read_text(encoding="utf-8")))
    except keys.NoKeyringError:
        raise InputError(
            Problem(
                str(keys.keyring_path(inventory.root)),
                "keyring",
                _("timer.no_keyring"),
                _("timer.no_keyring_fix"),
            )
        ) from None
    except (keys.KeyringError, keys.UnlockError, ValueError, UnicodeDecodeError):
        raise InputError(
            Problem(where, "--identity", _("timer.identity_refused"), _("timer.identity_refused_fix"))
        ) from None


def check_calendar(on_calendar: str) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        raise EnvironmentProblem(_("timer.no_systemd_analyze"))
    result = subprocess.run(
        [analyze, "calendar", on_calendar],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if result.returncode != 0 or any(ord(ch) < 32 for ch in on_calendar):
        raise InputError(
            Problem(
                "--on-calendar",
                "on_calendar",
                _("timer.bad_calendar", value=on_calendar),
                _("timer.bad_calendar_fix"),
            )
        )


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def _systemctl(*args: str) -> None:
    result = subprocess.run(
        ["systemctl", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    if result.returncode != 0:
        raise EnvironmentProblem(
            _("timer.systemctl_failed", command=" ".join(args), reason=result.stderr.strip())
        )


def install(
    inventory: Inventory,
    identity: Path,
    *,
    on_calendar: str = DEFAULT_CALENDAR,
    unit_dir: Path = SYSTEM_UNIT_DIR,
    enable: bool = True,
) -> tuple[Units, list[Path]]:
    """Check everything, write the units, and (with ``enable``) start the timer."""
    check_mode(inventory)
    check_identity(inventory, identity)
    check_calendar(on_calendar)
    if enable and not systemd_running():
        raise EnvironmentProblem(_("timer.no_systemd"))
    units = render_units(inventory, identity, on_calendar)
    state_dir().mkdir(parents=True, exist_ok=True)  # ReadWritePaths= needs it to exist
    unit_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path, text in zip(units.paths(unit_dir), (units.service, units.timer), strict=True):
        path.write_text(text, encoding="utf-8")
        path.chmod(0o644)
        written.append(path)
    if enable:
        _systemctl("daemon-reload")
        _systemctl("enable", "--now", units.timer_unit)
    return units, written


def remove(inventory: Inventory, *, unit_dir: Path = SYSTEM_UNIT_DIR) -> list[Path]:
    """Stop and disable the timer (when systemd runs) and delete both units; returns what was deleted."""
    name = unit_name(inventory)
    present = [p for p in unit_paths(name, unit_dir) if p.exists()]
    if present and systemd_running():
        _systemctl("disable", "--now", f"{name}.timer")
    for path in present:
        path.unlink()
    if present and systemd_running():
        _systemctl("daemon-reload")
    return present
