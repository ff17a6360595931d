"""Where bastide finds its Ansible content and keeps its state.

Installed from a wheel, the content ships inside the package (``bastide/_content``); run from
a checkout (editable install or ``python -m bastide``), it is read from the repository's top
level so that edits to roles take effect without reinstalling.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def content_dir() -> Path:
    packaged = _PACKAGE_DIR / "_content"
    if (packaged / "roles").is_dir():
        return packaged
    checkout = _PACKAGE_DIR.parent.parent
    if (checkout / "roles").is_dir() and (checkout / "playbooks").is_dir():
        return checkout
    raise RuntimeError(f"bastide's Ansible content was found neither in {packaged} nor in {checkout}")


def roles_dir() -> Path:
    return content_dir() / "roles"


def playbooks_dir() -> Path:
    return content_dir() / "playbooks"


def templates_dir() -> Path:
    return content_dir() / "templates"


def package_data_dir() -> Path:
    """Data shipped with the Python package itself (catalogues, locale files)."""
    return _PACKAGE_DIR / "data"


def ansible_plugins_dir() -> Path:
    return _PACKAGE_DIR / "ansible_plugins"


def mitogen_strategy_dir() -> Path:
    """Mitogen's Ansible strategy plugins (``mitogen_linear``), from the installed package;
    found without importing it: ansible_mitogen imports Ansible itself."""
    import importlib.util

    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the mitogen package is not installed beside bastide (pip install bastide)")
    return Path(next(iter(spec.submodule_search_locations))) / "plugins" / "strategy"


def state_dir() -> Path:
    """Controller-side state (run logs, lab machines): ``BASTIDE_STATE_DIR``, else
    ``/var/lib/bastide`` for root, else ``$XDG_STATE_HOME/bastide``."""
    override = os.environ.get("BASTIDE_STATE_DIR")
    if override:
        return Path(override)
    if os.geteuid() == 0:
        # Run logs and the lab belong to the machine, not to a login session: root's state lives
        # where system tools keep theirs (FHS), not under a home directory.
        return Path("/var/lib/bastide")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "bastide"
