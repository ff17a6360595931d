"""The inventory's data model: frozen pydantic models, one per YAML mapping.

The models check each value on its own (types, unknown keys, syntax of a SIREN, an INSEE code,
a domain...); rules that relate several values (a commune's host exists, a region fits the
residency policy) live in :mod:`bastide.core.inventory.validate`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr
from pydantic_core import PydanticCustomError

from bastide.core.inventory import catalogue, formats

HARDENING_LEVELS = ("intermediary", "enhanced")
TLS_MODES = ("acme", "internal")
# What a commune asks of its people's logins: a second factor (TOTP) each may enrol, or must.
SECOND_FACTOR = ("available", "required")
# The elected officials a commune lists (code général des collectivités territoriales).
MANDATES = ("maire", "adjoint", "conseiller")


def _checked(check: Callable[[Any], Any]) -> AfterValidator:
    def run(value: Any) -> Any:
        try:
            return check(value)
        except formats.Invalid as error:
            # The context carries the fix and the message key so the loader can build a Problem;
            # the message itself is already in the user's language.
            raise PydanticCustomError(
                "bastide",
                error.message.replace("{", "(").replace("}", ")"),
                {"fix": error.fix, "key": error.key},
            ) from None

    return AfterValidator(run)


Text = Annotated[str, _checked(formats.nonblank)]
Siren = Annotated[str, _checked(formats.siren)]
Insee = Annotated[str, _checked(formats.insee)]
Slug = Annotated[str, _checked(formats.slug)]
Domain = Annotated[str, _checked(formats.domain)]
Email = Annotated[str, _checked(formats.email)]
Address = Annotated[str, _checked(formats.address)]
HostName = Annotated[str, _checked(formats.host_name)]
DnsName = Annotated[str, _checked(formats.address)]
Network = Annotated[str, _checked(formats.network)]
UserName = Annotated[str, _checked(formats.username)]
Port = Annotated[int, _checked(formats.port)]
Url = Annotated[str, _checked(formats.url)]
OptionalUrl = Annotated[str, _checked(formats.optional_url)]
Bucket = Annotated[str, _checked(formats.bucket)]
SshKey = Annotated[str, _checked(formats.ssh_public_key)]
HardeningLevel = Annotated[str, _checked(partial(formats.choice, choices=HARDENING_LEVELS))]
TlsMode = Annotated[str, _checked(partial(formats.choice, choices=TLS_MODES))]
SecondFactor = Annotated[str, _checked(partial(formats.choice, choices=SECOND_FACTOR))]
Mandate = Annotated[str, _checked(partial(formats.choice, choices=MANDATES))]
Login = Annotated[str, _checked(formats.login)]


class Model(BaseModel):
    """Frozen, unknown keys refused, and no silent conversions (``"22"`` is not a port)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Syndicat(Model):
    name: Text
    siren: Siren
    contact_email: Email


class Residency(Model):
    providers: list[str] = Field(min_length=1)
    regions: list[str] = Field(min_length=1)


class Admin(Model):
    name: UserName
    ssh_keys: list[SshKey] = Field(min_length=1)


class SshSettings(Model):
    user: UserName
    bootstrap_user: UserName = "root"
    private_key_file: str | None = None
    port: Port = 22


class SmtpRelay(Model):
    host: DnsName
    port: Port = 25


class TlsSettings(Model):
    mode: TlsMode = "acme"
    acme_directory: Url | None = None
    acme_email: Email | None = None


class Settings(Model):
    admins: list[Admin] = Field(min_length=1)
    ssh: SshSettings
    time_servers: list[DnsName] = Field(min_length=1)
    smtp_relay: SmtpRelay
    tls: TlsSettings = TlsSettings()
    hardening_level: HardeningLevel = "intermediary"
    extra_trusted_cas: list[Text] = []
    http_proxy: OptionalUrl = ""
    admin_networks: list[Network] = []


class Identity(Model):
    """Where the syndicat's directory and login portal run (one per syndicat)."""

    host: str
    # The portal's address, e.g. auth.<syndicat domain>; the directory answers at ldap.<the
    # same parent domain>, whose labels also make the directory's base DN.
    portal: Domain
    # Agents register their own TOTP application on the portal (after their first login).
    totp_self_enrolment: bool = True

    @property
    def parent_domain(self) -> str:
        return self.portal.split(".", 1)[1]

    @property
    def directory(self) -> str:
        return f"ldap.{self.parent_domain}"

    @property
    def base_dn(self) -> str:
        return ",".join(f"dc={label}" for label in self.parent_domain.split("."))


class Host(Model):
    name: HostName
    address: Address
    provider: str
    region: str
    services: list[str]


class BackupTarget(Model):
    name: Slug
    endpoint: Url
    provider: str
    region: str
    # The prefix of the communes' buckets: each commune gets ``<bucket>-<slug>`` of its own.
    bucket: Bucket
    # How long every backup object stays locked (S3 Object Lock, default retention), and how.
    retention_days: int = Field(default=30, ge=1)
    lock_mode: Literal["COMPLIANCE", "GOVERNANCE"] = "COMPLIANCE"
    # How long snapshots are kept (``bastide backup prune``: restic's --keep-within); at least
    # as long as they are locked, which is the default.
    keep_days: int | None = Field(default=None, ge=1)

    @property
    def kept_days(self) -> int:
        return self.keep_days or self.retention_days

    def commune_bucket(self, slug: str, generation: int = 0) -> str:
        # A point-in-time recovery moves the commune to a fresh bucket: its next generation.
        return f"{self.bucket}-{slug}" + (f"-g{generation}" if generation else "")


class Person(Model):
    """Someone who logs in: an agent of the commune or one of its elected officials."""

    name: Text
    email: Email
    # The login; by default the part of the email before the @, in lowercase.
    id: Login | None = None
    # Kept in the directory (entry, documents, history) but no login accepted: someone who left,
    # or is suspended (bastide agent disable).
    disabled: bool = False

    @property
    def login(self) -> str:
        return self.id or self.email.split("@", 1)[0].lower()


class Agent(Person):
    service: str = ""


class Elu(Person):
    mandate: Mandate


class Site(Model):
    """One service of one commune, where it answers."""

    service: str
    fqdn: str


class Commune(Model):
    slug: Slug
    name: Text
    insee: Insee
    domain: Domain
    host: str
    services: list[str]
    backup_target: str
    # Which of the commune's buckets its backups go to: 0, then one more at each point-in-time
    # recovery (`bastide backup recover` sets it).
    backup_generation: int = Field(default=0, ge=0)
    agents: list[Agent] = []
    elus: list[Elu] = []
    second_factor: SecondFactor = "available"

    # Where the commune was read from; not part of the file's content.
    _source: Path = PrivateAttr(default=Path())
    # The services' own sections of the file (``<service>:``), checked against their contracts'
    # schemas and with their defaults (bastide.core.inventory.service_settings).
    _settings: dict[str, dict[str, Any]] = PrivateAttr(default_factory=dict)

    def service_settings(self, service: str) -> dict[str, Any]:
        return self._settings.get(service, {})

    def with_settings(self, settings: dict[str, dict[str, Any]]) -> Commune:
        object.__setattr__(self, "_settings", settings)
        return self

    @property
    def source(self) -> Path:
        return self._source

    def with_source(self, source: Path) -> Commune:
        object.__setattr__(self, "_source", source)
        return self

    def sites(self) -> list[Site]:
        services = catalogue.services()
        return [
            Site(service=name, fqdn=f"{services[name].subdomain}.{self.domain}")
            for name in self.services
            if name in services
        ]


class SyndicatFile(Model):
    """The content of ``syndicat.yml``."""

    syndicat: Syndicat
    residency: Residency
    settings: Settings
    hosts: list[Host] = []
    backup_targets: list[BackupTarget] = []
    identity: Identity | None = None
    lab: bool = False


class Inventory(BaseModel):
    """A whole inventory, validated: build it with :func:`bastide.core.inventory.load`."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    root: Path
    syndicat: Syndicat
    residency: Residency
    settings: Settings
    hosts: list[Host]
    backup_targets: list[BackupTarget]
    communes: list[Commune]
    identity: Identity | None = None
    lab: bool = False
    # The services' sections of syndicat.yml (``<service>:``), with their defaults.
    service_settings: dict[str, dict[str, Any]] = {}

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    def commune(self, slug: str) -> Commune:
        for commune in self.communes:
            if commune.slug == slug:
                return commune
        raise KeyError(slug)

    def backup_target(self, name: str) -> BackupTarget:
        for target in self.backup_targets:
            if target.name == name:
                return target
        raise KeyError(name)

    def communes_on(self, host_name: str) -> list[Commune]:
        return [commune for commune in self.communes if commune.host == host_name]

    def ssh_private_key_path(self) -> Path | None:
        """``settings.ssh.private_key_file`` with ``~`` expanded, relative to the inventory dir."""
        name = self.settings.ssh.private_key_file
        return None if not name else (self.root / Path(name).expanduser()).resolve()

    def agents(self) -> list[Agent]:
        return [agent for commune in self.communes for agent in commune.agents]

    def people(self) -> list[tuple[Commune, Person]]:
        """Everyone who logs in: each commune's agents, then its elected officials."""
        return [(c, p) for c in self.communes for p in [*c.agents, *c.elus]]

    def summary(self) -> dict[str, object]:
        return {
            "syndicat": self.syndicat.name,
            "hosts": len(self.hosts),
            "communes": len(self.communes),
            "agents": len(self.agents()),
            "backup_targets": len(self.backup_targets),
        }
