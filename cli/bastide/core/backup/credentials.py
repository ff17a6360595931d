"""The backup keys in the keyring: names, and their values as JSON key pairs.

Per commune (its own scope): ``backup-writer`` (the key its server holds) and
``backup-maintainer`` (the bucket owner's key, never sent to a server), with
``backup-repository`` (the restic password, generated, see bastide.core.keys.required). Per
target (syndicat scope): ``s3-account-<target>``, the provider account's key that makes the
communes' keys where bastide can (``identities: rgw_admin``).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from bastide.core.keys import SYNDICAT_SCOPE

WRITER = "backup-writer"
MAINTAINER = "backup-maintainer"
REPOSITORY = "backup-repository"
ROLES = {"writer": WRITER, "maintainer": MAINTAINER}
KIND = "s3-key"


def account_name(target: str) -> str:
    return f"s3-account-{target}"


@dataclass(frozen=True)
class KeyPair:
    access_key: str
    secret_key: str

    def __repr__(self) -> str:  # never the secret, whatever prints it
        return f"KeyPair({self.access_key!r}, ***)"

    def to_bytes(self) -> bytes:
        return json.dumps({"access_key": self.access_key, "secret_key": self.secret_key}).encode()

    @classmethod
    def from_bytes(cls, value: bytes) -> KeyPair:
        data = json.loads(value)
        return cls(str(data["access_key"]), str(data["secret_key"]))

    @classmethod
    def new(cls, prefix: str) -> KeyPair:
        # The shape of the keys RGW makes itself: 20 uppercase characters, a 40-character secret.
        access = (prefix + secrets.token_hex(10).upper())[:20]
        return cls(access, secrets.token_urlsafe(30)[:40])


def get(keyring: Any, scope: str, name: str) -> KeyPair | None:
    return KeyPair.from_bytes(keyring.get(scope, name)) if keyring.has(scope, name) else None


def put(keyring: Any, scope: str, name: str, key: KeyPair) -> None:
    keyring.put(scope, name, key.to_bytes(), kind=KIND)


def account(keyring: Any, target: str) -> KeyPair | None:
    return get(keyring, SYNDICAT_SCOPE, account_name(target))
