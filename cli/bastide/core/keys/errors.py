"""The ways opening or using a keyring can fail, as bastide errors with a clear message.

All of them are input errors (exit 2): the keyring file or the credentials given are wrong,
and nothing has been changed anywhere.
"""

from __future__ import annotations

from pathlib import Path

from bastide.errors import InputError, Problem
from bastide.i18n import Messages

_ = Messages("keys")


class KeyringError(InputError):
    """Base class for keyring problems; carries one located ``Problem``."""

    def __init__(self, path: Path | str, field: str, message: str, fix: str) -> None:
        super().__init__(Problem(file=str(path), field=field, message=message, fix=fix))


class UnlockError(KeyringError):
    """The credentials given do not open the keyring (wrong passphrase, wrong identity)."""


class IntegrityError(KeyringError):
    """The keyring file is not exactly what bastide last wrote with its key."""

    def __init__(self, path: Path | str, detail: str) -> None:
        super().__init__(path, "integrity", _("integrity.message", detail=detail), _("integrity.fix"))


class NoKeyringError(KeyringError):
    def __init__(self, path: Path | str) -> None:
        super().__init__(path, "keyring", _("keyring.missing"), _("keyring.missing_fix"))
