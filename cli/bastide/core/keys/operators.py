"""Operators: the people (or the recovery shares) able to open a keyring.

Every operator is, in the end, an age X25519 recipient: the keyring key is encrypted to it with
age (through pyrage, the binding of rage). What differs is where the matching private identity
lives:

- ``age``: in a file the operator keeps (``BASTIDE_IDENTITY``); the keyring only holds the
  public recipient, so an operator can be added from an ``age1...`` string alone;
- ``passphrase``: in the keyring, encrypted with AES-256-GCM under a key derived from the
  passphrase by a memory-hard KDF (Argon2id, or scrypt where ``cryptography`` lacks Argon2id);
- ``recovery``: like ``passphrase``, but the key comes from a random 256-bit recovery secret
  split into Shamir shares, so a plain HKDF is enough.

Because every wrapping targets a public recipient, anyone who has opened the keyring can
re-wrap the keyring key for all operators (after removing one, or rotating the key) without
knowing the others' passphrases.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pyrage
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

try:
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
except ImportError:  # cryptography < 44 built without Argon2id
    Argon2id = None  # type: ignore[assignment,misc]
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

KINDS = ("passphrase", "age", "recovery")
FORMAT_TAG = "bastide-keyring/v1"

# Upper bounds on KDF parameters read from a keyring, so that an altered file cannot make
# bastide allocate unbounded memory or spin for hours before failing.
_MAX_MEMORY_KIB = 4 * 1024 * 1024
_MAX_ITERATIONS = 64
_MAX_LANES = 64
_MAX_SCRYPT_N = 2**22


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def associated_data(*parts: str) -> bytes:
    """Unambiguous associated data for an AEAD: the parts as a JSON list under the format tag."""
    return json.dumps([FORMAT_TAG, *parts], separators=(",", ":")).encode("utf-8")


def seal(key: bytes, plaintext: bytes, ad: bytes) -> str:
    nonce = os.urandom(12)
    return b64(nonce + AESGCM(key).encrypt(nonce, plaintext, ad))


def open_sealed(key: bytes, sealed: str, ad: bytes) -> bytes:
    """Decrypt ``seal``'s output; raises ``InvalidTag`` (or ``ValueError``) when it does not match."""
    raw = unb64(sealed)
    if len(raw) < 12 + 16:
        raise ValueError("sealed value too short")
    return AESGCM(key).decrypt(raw[:12], raw[12:], ad)


@dataclass(frozen=True)
class KdfParams:
    """Passphrase KDF parameters. Defaults: RFC 9106's second recommended Argon2id setting."""

    name: str = "argon2id" if Argon2id is not None else "scrypt"
    iterations: int = 3
    lanes: int = 4
    memory_kib: int = 64 * 1024
    scrypt_n: int = 2**17
    salt: bytes = field(default_factory=lambda: os.urandom(16))

    def as_dict(self) -> dict[str, Any]:
        if self.name == "argon2id":
            return {
                "name": "argon2id",
                "iterations": self.iterations,
                "lanes": self.lanes,
                "memory_kib": self.memory_kib,
                "salt": b64(self.salt),
            }
        return {"name": "scrypt", "n": self.scrypt_n, "r": 8, "p": 1, "salt": b64(self.salt)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KdfParams:
        salt = unb64(data["salt"])
        if data["name"] == "argon2id":
            params = cls(
                "argon2id", int(data["iterations"]), int(data["lanes"]), int(data["memory_kib"]), salt=salt
            )
            if not (
                1 <= params.iterations <= _MAX_ITERATIONS
                and 1 <= params.lanes <= _MAX_LANES
                and 8 * params.lanes <= params.memory_kib <= _MAX_MEMORY_KIB
            ):
                raise ValueError("argon2id parameters out of range")
            return params
        if data["name"] == "scrypt":
            n = int(data["n"])
            if not (2 <= n <= _MAX_SCRYPT_N and n & (n - 1) == 0) or (data["r"], data["p"]) != (8, 1):
                raise ValueError("scrypt parameters out of range")
            return cls("scrypt", scrypt_n=n, salt=salt)
        raise ValueError(f"unknown KDF {data['name']!r}")

    def derive(self, passphrase: str) -> bytes:
        secret = passphrase.encode("utf-8")
        if self.name == "argon2id":
            if Argon2id is None:
                raise ValueError("this keyring needs Argon2id, which the installed cryptography lacks")
            kdf = Argon2id(
                salt=self.salt,
                length=32,
                iterations=self.iterations,
                lanes=self.lanes,
                memory_cost=self.memory_kib,
            )
            return kdf.derive(secret)
        return Scrypt(salt=self.salt, length=32, n=self.scrypt_n, r=8, p=1).derive(secret)


def _recovery_key(secret: bytes, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"bastide recovery").derive(secret)


def _identity_ad(keyring_id: str, name: str) -> bytes:
    return associated_data("operator-identity", keyring_id, name)


def wrap_for(recipient: str, key: bytes) -> str:
    """Encrypt the keyring key to an operator's age recipient."""
    return b64(pyrage.encrypt(key, [pyrage.x25519.Recipient.from_str(recipient)]))


def parse_recipient(text: str) -> str:
    """Validate an ``age1...`` recipient and return it normalised; raises ``ValueError``."""
    try:
        return str(pyrage.x25519.Recipient.from_str(text.strip()))
    except Exception as error:  # pyrage raises its own RecipientError
        raise ValueError(str(error)) from None


# --- new operators: what `keys init` / `keys operator add` / recovery create -------------------


class NewOperator(Protocol):
    name: str

    def entry(self, keyring_id: str) -> dict[str, Any]:
        """The operator's record in the keyring (with its ``recipient``; without the wrapping)."""
        ...


@dataclass
class PassphraseOperator:
    name: str
    passphrase: str = field(repr=False)
    kdf: KdfParams = field(default_factory=KdfParams)

    def entry(self, keyring_id: str) -> dict[str, Any]:
        identity = pyrage.x25519.Identity.generate()
        key = self.kdf.derive(self.passphrase)
        return {
            "kind": "passphrase",
            "recipient": str(identity.to_public()),
            "kdf": self.kdf.as_dict(),
            "identity": seal(key, str(identity).encode("ascii"), _identity_ad(keyring_id, self.name)),
        }


@dataclass
class AgeOperator:
    name: str
    recipient: str

    def entry(self, keyring_id: str) -> dict[str, Any]:
        return {"kind": "age", "recipient": parse_recipient(self.recipient)}


@dataclass
class RecoveryOperator:
    name: str
    secret: bytes = field(repr=False)

    def entry(self, keyring_id: str) -> dict[str, Any]:
        identity = pyrage.x25519.Identity.generate()
        salt = os.urandom(16)
        key = _recovery_key(self.secret, salt)
        return {
            "kind": "recovery",
            "recipient": str(identity.to_public()),
            "salt": b64(salt),
            "identity": seal(key, str(identity).encode("ascii"), _identity_ad(keyring_id, self.name)),
        }


# --- unlockers: what the person at the keyboard brings ---------------------------------------


class NoMatch(Exception):
    """The credentials do not open any operator wrapping of this keyring."""


class Unlocker(Protocol):
    def unwrap(self, keyring_id: str, operators: dict[str, dict[str, Any]]) -> tuple[str, bytes]:
        """(operator name, keyring key); raises ``NoMatch``."""
        ...

    def describe(self) -> str: ...


def _age_decrypt(identity: Any, wrapped: str) -> bytes:
    try:
        return pyrage.decrypt(unb64(wrapped), [identity])
    except Exception as error:  # pyrage.DecryptError, or a malformed base64 wrapping
        raise NoMatch(str(error)) from None


def _open_identity(key: bytes, entry: dict[str, Any], keyring_id: str, name: str) -> Any:
    try:
        text = open_sealed(key, entry["identity"], _identity_ad(keyring_id, name))
    except (InvalidTag, ValueError) as error:
        raise NoMatch("the operator's identity does not decrypt") from error
    return pyrage.x25519.Identity.from_str(text.decode("ascii"))


@dataclass
class Passphrase:
    passphrase: str = field(repr=False)
    operator: str | None = None

    def describe(self) -> str:
        return "passphrase" + (f" of operator {self.operator!r}" if self.operator else "")

    def unwrap(self, keyring_id: str, operators: dict[str, dict[str, Any]]) -> tuple[str, bytes]:
        candidates = [
            (name, entry)
            for name, entry in sorted(operators.items())
            if entry.get("kind") == "passphrase" and (self.operator is None or name == self.operator)
        ]
        for name, entry in candidates:
            try:
                key = KdfParams.from_dict(entry["kdf"]).derive(self.passphrase)
                identity = _open_identity(key, entry, keyring_id, name)
            except NoMatch:
                continue
            return name, _age_decrypt(identity, entry["wrapped_key"])
        raise NoMatch("no passphrase operator accepts this passphrase")


@dataclass
class Identity:
    """An age identity file's contents (``AGE-SECRET-KEY-1...`` lines, ``#`` comments)."""

    text: str = field(repr=False)

    def identities(self) -> list[Any]:
        found = []
        for line in self.text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                try:
                    found.append(pyrage.x25519.Identity.from_str(line))
                except Exception:
                    raise ValueError("not an age X25519 identity (AGE-SECRET-KEY-1...)") from None
        if not found:
            raise ValueError("no AGE-SECRET-KEY-1... line")
        return found

    def describe(self) -> str:
        return "age identity"

    def unwrap(self, keyring_id: str, operators: dict[str, dict[str, Any]]) -> tuple[str, bytes]:
        for identity in self.identities():
            public = str(identity.to_public())
            for name, entry in sorted(operators.items()):
                if entry.get("kind") == "age" and entry.get("recipient") == public:
                    return name, _age_decrypt(identity, entry["wrapped_key"])
        raise NoMatch("no age operator of this keyring has this identity's public key")


@dataclass
class RecoverySecret:
    secret: bytes = field(repr=False)

    def describe(self) -> str:
        return "recovery shares"

    def unwrap(self, keyring_id: str, operators: dict[str, dict[str, Any]]) -> tuple[str, bytes]:
        for name, entry in sorted(operators.items()):
            if entry.get("kind") != "recovery":
                continue
            key = _recovery_key(self.secret, unb64(entry["salt"]))
            try:
                identity = _open_identity(key, entry, keyring_id, name)
            except NoMatch:
                continue
            return name, _age_decrypt(identity, entry["wrapped_key"])
        raise NoMatch("these recovery shares belong to no recovery operator of this keyring")


def generate_identity_file(path: Path) -> str:
    """Write a new age identity file (like ``age-keygen -o``), mode 0600; return its recipient."""
    identity = pyrage.x25519.Identity.generate()
    public = str(identity.to_public())
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    content = f"# created: {created}\n# public key: {public}\n{identity}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(content)
    return public


def identity_recipient(path: Path) -> str:
    """The public recipient of the (first) identity in an age identity file."""
    return str(Identity(path.read_text(encoding="utf-8")).identities()[0].to_public())
