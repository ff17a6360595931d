"""The keyring: a syndicat's secrets, encrypted at rest in ``<inventory>/keyring/keyring.json``.

Three layers of keys (envelope encryption):

- each secret is encrypted with AES-256-GCM under its scope's *data key* (a scope is a commune
  slug, or ``_syndicat``); the associated data binds the keyring id, the scope and the secret's
  name, so a ciphertext moved to another commune or renamed no longer decrypts;
- each data key is encrypted (AES-256-GCM, bound to keyring id and scope) under the *keyring
  key*;
- the keyring key is encrypted with age to every operator (see ``operators.py``). Removing an
  operator or rotating the keyring key re-wraps the data keys; no secret is re-encrypted.

The whole file is authenticated by an HMAC-SHA256 (key derived from the keyring key) over its
canonical JSON form, and bastide refuses a file that is not byte for byte that canonical form:
changing, reordering, swapping or rolling back any part of it (an entry taken from an older
copy) is detected on open. Names, kinds and dates are readable without a key; values are not.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets as random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bastide.core.keys.errors import IntegrityError, KeyringError, NoKeyringError, UnlockError
from bastide.core.keys.generate import generate
from bastide.core.keys.operators import (
    KINDS,
    NewOperator,
    NoMatch,
    Unlocker,
    associated_data,
    open_sealed,
    seal,
    wrap_for,
)
from bastide.core.keys.required import SecretSpec
from bastide.i18n import Messages

_ = Messages("keys")

FORMAT = "bastide-keyring"
VERSION = 1
KEYRING_DIR = "keyring"
KEYRING_FILE = "keyring.json"
SYNDICAT_SCOPE = "_syndicat"
RECOVERY_OPERATOR = "recovery"

SCOPE_RE = re.compile(r"^(_syndicat|[a-z0-9][a-z0-9-]{0,62})$")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
OPERATOR_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def keyring_path(inventory_dir: Path | str) -> Path:
    return Path(inventory_dir) / KEYRING_DIR / KEYRING_FILE


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical(doc: dict[str, Any]) -> bytes:
    """The one serialisation bastide writes; any other byte sequence is refused on open."""
    return (json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=True) + "\n").encode("ascii")


def _mac(master: bytes, doc: dict[str, Any]) -> str:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"bastide keyring mac").derive(master)
    body = {k: v for k, v in doc.items() if k != "mac"}
    return hmac.new(key, canonical(body), hashlib.sha256).hexdigest()


def _check_structure(doc: Any) -> None:
    """Raise ``ValueError`` unless ``doc`` has the shape of a keyring (before any key is used)."""

    def need(condition: bool, what: str) -> None:
        if not condition:
            raise ValueError(what)

    need(isinstance(doc, dict), "not a JSON object")
    need(doc.get("format") == FORMAT and doc.get("version") == VERSION, "unknown format or version")
    need(isinstance(doc.get("keyring_id"), str) and _HEX64.match(doc["keyring_id"]) is not None, "keyring_id")
    need(isinstance(doc.get("generation"), int) and isinstance(doc.get("updated"), str), "generation")
    need(isinstance(doc.get("mac"), str) and _HEX64.match(doc["mac"]) is not None, "mac")
    need(
        set(doc)
        == {"format", "version", "keyring_id", "generation", "updated", "operators", "scopes", "mac"},
        "keys",
    )
    operators, scopes = doc.get("operators"), doc.get("scopes")
    need(isinstance(operators, dict) and bool(operators), "operators")
    for name, entry in operators.items():
        need(OPERATOR_RE.match(name) is not None and isinstance(entry, dict), f"operator {name!r}")
        need(entry.get("kind") in KINDS, f"operator {name!r} kind")
        need(
            all(isinstance(entry.get(k), str) for k in ("recipient", "wrapped_key", "added")),
            f"operator {name!r}",
        )
    need(isinstance(scopes, dict), "scopes")
    for scope, content in scopes.items():
        need(SCOPE_RE.match(scope) is not None and isinstance(content, dict), f"scope {scope!r}")
        need(
            set(content) == {"data_key", "secrets"} and isinstance(content["data_key"], str),
            f"scope {scope!r}",
        )
        need(isinstance(content["secrets"], dict), f"scope {scope!r}")
        for name, entry in content["secrets"].items():
            need(NAME_RE.match(name) is not None and isinstance(entry, dict), f"secret {scope}/{name}")
            need(
                isinstance(entry.get("value"), str)
                and isinstance(entry.get("kind"), str)
                and isinstance(entry.get("generated"), bool)
                and isinstance(entry.get("rotations"), int),
                f"secret {scope}/{name}",
            )


@dataclass(frozen=True)
class SecretInfo:
    """What ``keys status`` shows about a secret: never its value."""

    scope: str
    name: str
    kind: str
    generated: bool
    created: str
    rotated: str | None
    rotations: int

    def age_days(self, at: datetime | None = None) -> int:
        changed = datetime.strptime(self.rotated or self.created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return ((at or datetime.now(UTC)) - changed).days

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "name": self.name,
            "kind": self.kind,
            "generated": self.generated,
            "created": self.created,
            "last_rotated": self.rotated,
            "rotations": self.rotations,
            "age_days": self.age_days(),
        }


@dataclass(frozen=True)
class OperatorInfo:
    name: str
    kind: str
    recipient: str
    added: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "recipient": self.recipient, "added": self.added}


class UnknownSecret(KeyringError):
    def __init__(self, path: Path, scope: str, name: str) -> None:
        super().__init__(
            path, f"{scope}/{name}", _("secret.unknown", scope=scope, name=name), _("secret.unknown_fix")
        )


class Keyring:
    """An open (unlocked) keyring. Every change is written to disk at once, atomically."""

    def __init__(self, path: Path, doc: dict[str, Any], master: bytes, opened_by: str, digest: str | None):
        self.path = path
        self._doc = doc
        self._master = master
        self.opened_by = opened_by
        self._disk_digest = digest

    def __repr__(self) -> str:
        return f"<Keyring {self.path} generation {self.generation}>"

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def create(cls, inventory_dir: Path | str, first: NewOperator) -> Keyring:
        path = keyring_path(inventory_dir)
        if path.exists():
            raise KeyringError(path, "keyring", _("keyring.exists"), _("keyring.exists_fix"))
        keyring_id = random.token_hex(32)
        doc: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "keyring_id": keyring_id,
            "generation": 0,
            "updated": now(),
            "operators": {},
            "scopes": {},
            "mac": "0" * 64,
        }
        keyring = cls(path, doc, random.token_bytes(32), first.name, None)
        keyring.add_operator(first)
        return keyring

    @classmethod
    def exists(cls, inventory_dir: Path | str) -> bool:
        return keyring_path(inventory_dir).is_file()

    @classmethod
    def open(cls, inventory_dir: Path | str, unlocker: Unlocker) -> Keyring:
        path = keyring_path(inventory_dir)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise NoKeyringError(path) from None
        try:
            doc = json.loads(raw.decode("utf-8"))
            _check_structure(doc)
        except (UnicodeDecodeError, ValueError) as error:
            raise IntegrityError(path, _("integrity.malformed", reason=error)) from None
        if canonical(doc) != raw:
            raise IntegrityError(path, _("integrity.layout"))
        try:
            name, master = unlocker.unwrap(doc["keyring_id"], doc["operators"])
        except NoMatch:
            raise UnlockError(
                path,
                unlocker.describe(),
                _("unlock.failed", what=unlocker.describe()),
                _("unlock.failed_fix"),
            ) from None
        except (KeyError, TypeError, ValueError, InvalidTag) as error:
            raise IntegrityError(path, _("integrity.operators", reason=error)) from None
        if len(master) != 32 or not hmac.compare_digest(_mac(master, doc), doc["mac"]):
            raise IntegrityError(path, _("integrity.mac"))
        return cls(path, doc, master, name, hashlib.sha256(raw).hexdigest())

    # --- reading ---------------------------------------------------------------------------

    @property
    def keyring_id(self) -> str:
        return self._doc["keyring_id"]

    @property
    def generation(self) -> int:
        return self._doc["generation"]

    @property
    def updated(self) -> str:
        return self._doc["updated"]

    def operators(self) -> list[OperatorInfo]:
        return [
            OperatorInfo(name, entry["kind"], entry["recipient"], entry["added"])
            for name, entry in sorted(self._doc["operators"].items())
        ]

    def scopes(self) -> list[str]:
        return sorted(self._doc["scopes"])

    def secrets(self, scope: str | None = None) -> list[SecretInfo]:
        found = []
        for scope_name, content in sorted(self._doc["scopes"].items()):
            if scope is not None and scope_name != scope:
                continue
            for name, entry in sorted(content["secrets"].items()):
                found.append(
                    SecretInfo(
                        scope_name,
                        name,
                        entry["kind"],
                        entry["generated"],
                        entry["created"],
                        entry.get("rotated"),
                        entry["rotations"],
                    )
                )
        return found

    def has(self, scope: str, name: str) -> bool:
        return name in self._doc["scopes"].get(scope, {}).get("secrets", {})

    def get(self, scope: str, name: str) -> bytes:
        """The value of a secret. Raises ``UnknownSecret``, or ``IntegrityError`` if it was moved."""
        if not self.has(scope, name):
            raise UnknownSecret(self.path, scope, name)
        entry = self._doc["scopes"][scope]["secrets"][name]
        try:
            return open_sealed(self._data_key(scope), entry["value"], self._secret_ad(scope, name))
        except (InvalidTag, ValueError):
            raise IntegrityError(self.path, _("integrity.secret", scope=scope, name=name)) from None

    def _secret_ad(self, scope: str, name: str) -> bytes:
        return associated_data("secret", self.keyring_id, scope, name)

    def _data_key_ad(self, scope: str) -> bytes:
        return associated_data("data-key", self.keyring_id, scope)

    def _data_key(self, scope: str) -> bytes:
        try:
            return open_sealed(self._master, self._doc["scopes"][scope]["data_key"], self._data_key_ad(scope))
        except (InvalidTag, ValueError):
            raise IntegrityError(self.path, _("integrity.data_key", scope=scope)) from None

    # --- changing secrets ------------------------------------------------------------------

    def _check_names(self, scope: str, name: str) -> None:
        if not SCOPE_RE.match(scope):
            raise KeyringError(self.path, "scope", _("scope.invalid", scope=scope), _("scope.invalid_fix"))
        if not NAME_RE.match(name):
            raise KeyringError(self.path, "name", _("name.invalid", name=name), _("name.invalid_fix"))

    def _store(self, scope: str, name: str, value: bytes, kind: str, generated: bool) -> None:
        self._check_names(scope, name)
        scopes = self._doc["scopes"]
        if scope not in scopes:
            scopes[scope] = {
                "data_key": seal(self._master, random.token_bytes(32), self._data_key_ad(scope)),
                "secrets": {},
            }
        secrets = scopes[scope]["secrets"]
        sealed = seal(self._data_key(scope), value, self._secret_ad(scope, name))
        if name in secrets:
            entry = secrets[name]
            entry.update(
                value=sealed, kind=kind, generated=generated, rotated=now(), rotations=entry["rotations"] + 1
            )
        else:
            secrets[name] = {
                "value": sealed,
                "kind": kind,
                "generated": generated,
                "created": now(),
                "rotations": 0,
            }

    def put(self, scope: str, name: str, value: bytes, kind: str = "opaque") -> None:
        """Store a value made elsewhere (the internal CA key, provider S3 credentials)."""
        if not isinstance(value, bytes):
            raise TypeError("secret values are bytes")
        self._store(scope, name, value, kind, generated=False)
        self._commit()

    def ensure(self, specs: Iterable[SecretSpec], *, persist: bool = True) -> list[SecretSpec]:
        """Generate every secret in ``specs`` the keyring lacks; return those it created.

        ``persist=False`` keeps them in this open keyring only (``bastide plan``: a dry run must
        not change the keyring either, and a later deploy generates its own values)."""
        created = []
        for spec in specs:
            if not self.has(spec.scope, spec.name):
                self._store(spec.scope, spec.name, generate(spec.kind), spec.kind, generated=True)
                created.append(spec)
        if created and persist:
            self._commit()
        return created

    def rotate(self, scope: str, names: Iterable[str] | None = None) -> list[str]:
        """New values for the named generated secrets of ``scope`` (all of them when ``names`` is
        None, in which case the scope's data key is replaced too). Returns the rotated names."""
        if scope not in self._doc["scopes"]:
            raise KeyringError(self.path, "scope", _("scope.empty", scope=scope), _("secret.unknown_fix"))
        secrets = self._doc["scopes"][scope]["secrets"]
        if names is None:
            targets = [name for name, entry in sorted(secrets.items()) if entry["generated"]]
            self._rekey_scope(scope)
        else:
            targets = list(names)
            for name in targets:
                if name not in secrets:
                    raise UnknownSecret(self.path, scope, name)
                if not secrets[name]["generated"]:
                    raise KeyringError(
                        self.path,
                        f"{scope}/{name}",
                        _("rotate.not_generated", name=name),
                        _("rotate.not_generated_fix"),
                    )
        for name in targets:
            entry = secrets[name]
            self._store(scope, name, generate(entry["kind"]), entry["kind"], generated=True)
        self._commit()
        return targets

    def _rekey_scope(self, scope: str) -> None:
        content = self._doc["scopes"][scope]
        values = {name: self.get(scope, name) for name in content["secrets"]}
        data_key = random.token_bytes(32)
        content["data_key"] = seal(self._master, data_key, self._data_key_ad(scope))
        for name, value in values.items():
            content["secrets"][name]["value"] = seal(data_key, value, self._secret_ad(scope, name))

    # --- operators -------------------------------------------------------------------------

    def add_operator(self, operator: NewOperator, *, replace: bool = False) -> None:
        if not OPERATOR_RE.match(operator.name):
            raise KeyringError(
                self.path, "operator", _("operator.invalid", name=operator.name), _("operator.invalid_fix")
            )
        operators = self._doc["operators"]
        if operator.name in operators and not replace:
            raise KeyringError(
                self.path, "operator", _("operator.exists", name=operator.name), _("operator.exists_fix")
            )
        entry = operator.entry(self.keyring_id)
        entry["added"] = now()
        entry["wrapped_key"] = wrap_for(entry["recipient"], self._master)
        operators[operator.name] = entry
        self._commit()

    def remove_operator(self, name: str) -> None:
        """Remove an operator and replace the keyring key, so that even a copy of the removed
        operator's wrapping no longer opens the new file."""
        operators = self._doc["operators"]
        if name not in operators:
            raise KeyringError(
                self.path, "operator", _("operator.unknown", name=name), _("operator.unknown_fix")
            )
        others = [n for n, e in operators.items() if n != name and e["kind"] != "recovery"]
        if not others and operators[name]["kind"] != "recovery":
            raise KeyringError(self.path, "operator", _("operator.last", name=name), _("operator.last_fix"))
        del operators[name]
        self.rotate_keyring_key()

    def rotate_keyring_key(self) -> None:
        """A new keyring key: re-wrap every data key and every operator's wrapping."""
        data_keys = {scope: self._data_key(scope) for scope in self._doc["scopes"]}
        self._master = random.token_bytes(32)
        for scope, data_key in data_keys.items():
            self._doc["scopes"][scope]["data_key"] = seal(self._master, data_key, self._data_key_ad(scope))
        for entry in self._doc["operators"].values():
            entry["wrapped_key"] = wrap_for(entry["recipient"], self._master)
        self._commit()

    # --- writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path.parent / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _commit(self) -> None:
        doc = self._doc
        doc["generation"] += 1
        doc["updated"] = now()
        doc["mac"] = _mac(self._master, doc)
        data = canonical(doc)
        with self._locked():
            on_disk = hashlib.sha256(self.path.read_bytes()).hexdigest() if self.path.exists() else None
            if on_disk != self._disk_digest:
                raise KeyringError(self.path, "keyring", _("keyring.changed"), _("keyring.changed_fix"))
            write_private(self.path, data)
        self._disk_digest = hashlib.sha256(data).hexdigest()

    def status(self) -> dict[str, Any]:
        """Everything ``keys status`` shows: metadata only, never a value."""
        scopes: dict[str, list[dict[str, Any]]] = {}
        for info in self.secrets():
            scopes.setdefault(info.scope, []).append(info.as_dict())
        return {
            "keyring": str(self.path),
            "keyring_id": self.keyring_id,
            "generation": self.generation,
            "updated": self.updated,
            "operators": [operator.as_dict() for operator in self.operators()],
            "scopes": scopes,
        }


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename), mode 0600."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{random.token_hex(6)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
