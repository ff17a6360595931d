"""Where the credentials that open a keyring come from.

In order: ``BASTIDE_IDENTITY`` (path of an age identity file), ``BASTIDE_PASSPHRASE_FILE``
(a file holding the passphrase; one trailing newline is ignored), else an interactive prompt
when bastide runs on a terminal. ``BASTIDE_OPERATOR`` restricts a passphrase to one operator
(otherwise every passphrase operator is tried).
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bastide.core.keys.errors import KeyringError
from bastide.core.keys.keyring import Keyring, keyring_path
from bastide.core.keys.operators import Identity, Passphrase, Unlocker
from bastide.i18n import Messages

_ = Messages("keys")

MIN_PASSPHRASE = 12


def _read_secret_file(path: Path, variable: str) -> str:
    try:
        return path.expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise KeyringError(
            path,
            variable,
            _("unlock.file_unreadable", reason=error.__class__.__name__),
            _("unlock.file_unreadable_fix"),
        ) from None


def unlocker_from_environment(
    inventory_dir: Path | str,
    *,
    interactive: bool | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
) -> Unlocker:
    identity = os.environ.get("BASTIDE_IDENTITY")
    if identity:
        path = Path(identity)
        unlocker = Identity(_read_secret_file(path, "BASTIDE_IDENTITY"))
        try:
            unlocker.identities()
        except ValueError as error:
            raise KeyringError(
                path, "BASTIDE_IDENTITY", _("unlock.bad_identity", reason=error), _("unlock.bad_identity_fix")
            ) from None
        return unlocker
    operator = os.environ.get("BASTIDE_OPERATOR") or None
    passphrase_file = os.environ.get("BASTIDE_PASSPHRASE_FILE")
    if passphrase_file:
        text = _read_secret_file(Path(passphrase_file), "BASTIDE_PASSPHRASE_FILE")
        return Passphrase(text.removesuffix("\n").removesuffix("\r"), operator)
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        raise KeyringError(
            keyring_path(inventory_dir),
            "passphrase",
            _("unlock.no_credentials"),
            _("unlock.no_credentials_fix"),
        )
    return Passphrase(prompt(_("unlock.prompt", path=keyring_path(inventory_dir))), operator)


def open_keyring(inventory_dir: Path | str, *, interactive: bool | None = None) -> Keyring:
    """Open the inventory's keyring with the credentials the environment provides."""
    return Keyring.open(inventory_dir, unlocker_from_environment(inventory_dir, interactive=interactive))


def new_passphrase(
    source: Path | None, *, interactive: bool | None = None, prompt: Callable[[str], str] = getpass.getpass
) -> str:
    """A passphrase for a new operator: from ``source`` (a file), else typed twice."""
    if source is not None:
        passphrase = _read_secret_file(source, "passphrase-file").removesuffix("\n").removesuffix("\r")
        where: Path | str = source
    else:
        if interactive is None:
            interactive = sys.stdin.isatty()
        if not interactive:
            raise KeyringError("-", "passphrase", _("passphrase.none"), _("passphrase.none_fix"))
        passphrase = prompt(_("passphrase.new"))
        if prompt(_("passphrase.again")) != passphrase:
            raise KeyringError("-", "passphrase", _("passphrase.mismatch"), _("passphrase.mismatch_fix"))
        where = "-"
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyringError(
            where, "passphrase", _("passphrase.short", minimum=MIN_PASSPHRASE), _("passphrase.short_fix")
        )
    return passphrase
