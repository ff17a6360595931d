"""The service contract: what a service role declares so that bastide runs it without knowing it.

Each service is one Ansible role with a ``meta/bastide.yml`` file (docs/service-contract.md).
The service catalogue, the render of the Ansible inventory, the nginx role, ``bastide verify``
and the keyring read this file; none of them names a service. Roles are looked for in bastide's
own roles directory, then in the directories of ``BASTIDE_ROLES_PATH`` (``os.pathsep``
separated), which is how a service outside bastide (or the tests' own) plugs in.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bastide.errors import EXIT_BAD_INPUT, BastideError
from bastide.paths import roles_dir

CONTRACT_FILE = Path("meta") / "bastide.yml"
EXTRA_ROLES_ENV = "BASTIDE_ROLES_PATH"

Auth = Literal["sso", "basic", "oidc", "public"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    fr: str
    en: str


class Upstream(_Strict):
    """Where nginx sends the requests of one commune's instance: a unix socket (``{commune}``
    in the path), or a TCP port on 127.0.0.1 (the first commune of a host gets ``port``, the
    next ``port + 1``, in the order of the inventory)."""

    socket: str | None = None
    port: int | None = Field(default=None, ge=1024, le=65000)

    @model_validator(mode="after")
    def _one_of(self) -> Upstream:
        if (self.socket is None) == (self.port is None):
            raise ValueError("give exactly one of socket or port")
        if self.socket is not None and not self.socket.startswith("/run/"):
            raise ValueError("a socket lives under /run/")
        return self


class Location(_Strict):
    """A path of the service's site and how requests to it authenticate: ``sso`` (the portal's
    session, identity in headers), ``basic`` (HTTP Basic with the directory password, for
    protocol clients), ``oidc`` (the service speaks OpenID Connect to the portal itself) or
    ``public`` (no login)."""

    path: str
    auth: Auth
    # The backend is mounted at the root and told its prefix: nginx sends ``/dav/x`` as ``/x``
    # with ``X-Script-Name: /dav`` (WSGI DAV servers build their links from it).
    strip_prefix: bool = False
    # The pages may be shown in a frame of another site (the commune's own website): nginx then
    # leaves framing to the backend, whose Content-Security-Policy frame-ancestors says which.
    embeddable: bool = False
    # Requests to the path are not written to the access log: their path carries a credential
    # (a private link's token), which must not end up in logs.
    log: bool = True

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or (value != "/" and not value.endswith("/")):
            raise ValueError("a path starts and ends with /")
        return value

    @model_validator(mode="after")
    def _prefix(self) -> Location:
        if self.strip_prefix and self.path == "/":
            raise ValueError("strip_prefix needs a path other than /")
        return self


class Oidc(_Strict):
    """A service that logs people in itself with OpenID Connect: the portal gets one client per
    commune (``<service>-<commune>``, its secret in the commune's keyring as ``oidc-<service>``),
    which may send people back only to these paths of the commune's site."""

    redirect_paths: tuple[str, ...] = Field(min_length=1)

    @field_validator("redirect_paths")
    @classmethod
    def _absolute(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not path.startswith("/") for path in value):
            raise ValueError("a redirect path starts with /")
        return value


class Unit(_Strict):
    """A systemd unit the service runs per commune (``{commune}`` in the name) and its memory limit."""

    name: str
    memory_max: str = Field(pattern=r"^[0-9]+[KMG]$")


class Data(_Strict):
    directories: tuple[str, ...] = ()
    databases: tuple[Literal["postgresql"], ...] = ()


class Backup(_Strict):
    """Commands run on the host as root, ``{commune}`` replaced: quiesce before the copy of the
    data directories, resume after it, restore after the files are back."""

    quiesce: str = ""
    resume: str = ""
    restore: str = ""
    # Where, under the first data directory, the paths people know start (``bastide restore
    # --path``): the drive's folders are under ``files/``.
    path_root: str = Field(default="", pattern=r"^([a-z0-9_.-]+(/[a-z0-9_.-]+)*)?$")


class Secret(_Strict):
    """A secret the service needs besides the generic ones (docs/service-contract.md): generated
    in the keyring for each commune that runs it (scope ``commune``) or once for the syndicat."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,40}$")
    kind: Literal["password", "app-secret", "rsa-key", "x509-identity"]
    scope: Literal["commune", "syndicat"] = "commune"


class Settings(_Strict):
    """What the inventory may say about the service: JSON Schemas (draft 2020-12) of the
    ``<service>:`` section of a commune's file and of ``syndicat.yml``. Besides the standard
    formats, ``bastide-agent`` (an agent's login in that commune), ``bastide-person`` (anyone's
    login in that commune), ``bastide-agent-service`` (the service of one of its agents) and
    ``bastide-host`` (a host of the inventory) are checked."""

    commune: dict[str, Any] | None = None
    syndicat: dict[str, Any] | None = None
    # What a schema cannot say (hours that overlap, a name that must match another list): a
    # Python file of the role whose ``check(section, commune)`` yields problems (see
    # docs/service-contract.md), run once the commune's section matches its schema.
    check: str | None = Field(default=None, pattern=r"^[a-z_/]+\.py$")

    @field_validator("commune", "syndicat")
    @classmethod
    def _schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return value
        from jsonschema import Draft202012Validator, SchemaError

        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as error:
            raise ValueError(f"not a JSON Schema: {error.message}") from error
        if value.get("type") != "object":
            raise ValueError("the schema of a section is of type object")
        return value


class SyndicatPart(_Strict):
    """A part the service runs once for the whole syndicat (e.g. relays), with its own role, on
    the host the syndicat's settings of the service name (``host_setting``), and the TCP ports
    it opens there to everyone."""

    role: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    host_setting: str
    ports: tuple[int, ...] = ()


class Contract(_Strict):
    service: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    description: Text
    subdomain: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    needs: tuple[Literal["postgresql", "redis"], ...] = ()
    upstream: Upstream
    locations: tuple[Location, ...]
    health: str = Field(pattern=r"^/")
    oidc: Oidc | None = None
    units: tuple[Unit, ...]
    data: Data = Data()
    backup: Backup = Backup()
    # The service's testinfra checks: one module, or several (tests/test_x.py each).
    checks: tuple[Annotated[str, Field(pattern=r"^tests/test_[a-z0-9_]+\.py$")], ...] = Field(min_length=1)
    settings: Settings = Settings()
    secrets: tuple[Secret, ...] = ()
    syndicat_part: SyndicatPart | None = None
    # Other services a commune running this one must run too (e.g. booking writes into calendars).
    requires: tuple[str, ...] = ()
    # Exact paths answered with a permanent redirect before any login (e.g. clients' discovery
    # of /.well-known/caldav), to a path of the same site.
    redirects: dict[str, str] = Field(default_factory=dict)

    @field_validator("redirects")
    @classmethod
    def _redirects(cls, value: dict[str, str]) -> dict[str, str]:
        for source, target in value.items():
            if not source.startswith("/") or not target.startswith("/") or " " in source + target:
                raise ValueError("redirects map a path to a path of the same site, both starting with /")
        return value

    @field_validator("checks", mode="before")
    @classmethod
    def _one_or_more(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _root_location(self) -> Contract:
        paths = [loc.path for loc in self.locations]
        if "/" not in paths:
            raise ValueError("locations must include the path /")
        if len(set(paths)) != len(paths):
            raise ValueError("a path is listed twice in locations")
        part = self.syndicat_part
        if part is not None:
            schema = self.settings.syndicat or {}
            declared = (schema.get("properties") or {}).get(part.host_setting) or {}
            required = part.host_setting in schema.get("required", ())
            if not required or declared.get("format") != "bastide-host":
                raise ValueError(
                    f"syndicat_part.host_setting {part.host_setting!r} must be a required property "
                    "of settings.syndicat, of format bastide-host (a host of the inventory)"
                )
        if any(loc.auth == "oidc" for loc in self.locations) != (self.oidc is not None):
            raise ValueError(
                "a service with an oidc location declares oidc (its redirect paths), and only then"
            )
        return self


class ServiceRole(_Strict):
    """A service: its role (name and directory) and its contract."""

    role: str
    path: Path
    contract: Contract

    @property
    def name(self) -> str:
        return self.contract.service

    @property
    def checks(self) -> list[Path]:
        return [self.path / module for module in self.contract.checks]


class ContractError(BastideError):
    """A role's contract file cannot be read: its path and what is wrong (bad input: exit 2)."""

    exit_code = EXIT_BAD_INPUT


def role_dirs() -> list[Path]:
    """Where roles are found: bastide's own, then ``BASTIDE_ROLES_PATH``'s."""
    extra = [Path(p) for p in os.environ.get(EXTRA_ROLES_ENV, "").split(os.pathsep) if p]
    return [roles_dir(), *extra]


def read(role_path: Path) -> ServiceRole:
    path = role_path / CONTRACT_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found = ServiceRole(role=role_path.name, path=role_path, contract=Contract.model_validate(raw))
    except (OSError, yaml.YAMLError) as error:
        raise ContractError(f"{path}: {error}") from error
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in error.errors()
        )
        raise ContractError(f"{path}: {details}") from error
    for module in found.checks:
        if not module.is_file():
            raise ContractError(f"{path}: checks: {module} does not exist (the service's testinfra checks)")
    check = found.contract.settings.check
    if check is not None and not (role_path / check).is_file():
        raise ContractError(f"{path}: settings.check: {role_path / check} does not exist")
    return found


@cache
def discover(dirs: tuple[Path, ...]) -> dict[str, ServiceRole]:
    """The services whose roles are in ``dirs`` (read once per tuple of directories)."""
    found: dict[str, ServiceRole] = {}
    for base in dirs:
        for contract_file in sorted(base.glob(f"*/{CONTRACT_FILE.as_posix()}")):
            service = read(contract_file.parent.parent)
            if service.name in found:
                raise ContractError(
                    f"{contract_file}: service {service.name!r} is already declared by "
                    f"{found[service.name].path / CONTRACT_FILE}"
                )
            taken = next(
                (s for s in found.values() if s.contract.subdomain == service.contract.subdomain), None
            )
            if taken is not None:
                raise ContractError(
                    f"{contract_file}: subdomain {service.contract.subdomain!r} is already the one of "
                    f"service {taken.name!r} ({taken.path / CONTRACT_FILE}): each service answers at a "
                    "name of its own"
                )
            found[service.name] = service
    for service in found.values():
        unknown = [name for name in service.contract.requires if name not in found]
        if unknown:
            raise ContractError(
                f"{service.path / CONTRACT_FILE}: requires: no role declares the service(s) "
                f"{', '.join(unknown)} (known: {', '.join(sorted(found))})"
            )
    return found


def services() -> dict[str, ServiceRole]:
    """Every service whose role declares the contract, by service name."""
    return discover(tuple(role_dirs()))
