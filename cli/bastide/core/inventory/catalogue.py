"""The catalogues bastide reads: hosting providers (``data/providers.yml``) and the services it
deploys, which are the roles that declare the service contract (``bastide.core.contract``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bastide.core import contract
from bastide.i18n import language
from bastide.paths import package_data_dir


@dataclass(frozen=True)
class Region:
    name: str
    country: str
    city: str


@dataclass(frozen=True)
class ObjectStorage:
    """What a provider's S3 offers backups (``object_storage`` in providers.yml)."""

    lock_modes: tuple[str, ...]
    max_retention_days: int
    access_model: str  # bucket_policy | bucket_policy_allow_only | user_policy
    policy_conditions: bool
    identities: str  # rgw_admin | console
    source: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "lock_modes": list(self.lock_modes),
            "max_retention_days": self.max_retention_days,
            "access_model": self.access_model,
            "policy_conditions": self.policy_conditions,
            "identities": self.identities,
            "source": self.source,
        }


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    jurisdiction: str
    regions: dict[str, Region]
    secnumcloud: str | None = None
    object_storage: ObjectStorage | None = None


@dataclass(frozen=True)
class Service:
    name: str
    subdomain: str
    needs: tuple[str, ...]
    ports: tuple[int, ...]
    description: dict[str, str]
    contract: dict[str, Any]

    def describe(self) -> str:
        """The description in the user's language."""
        return self.description.get(language(), self.description["en"])

    def as_dict(self) -> dict[str, object]:
        """What the roles receive as ``bastide_services[name]``: the contract (without its
        settings' schemas, which only validation reads), its role, and the ports it opens."""
        rendered = {k: v for k, v in self.contract.items() if k not in ("service", "settings")}
        return {**rendered, "ports": list(self.ports)}

    @property
    def settings_schema(self) -> dict[str, Any]:
        """The JSON Schemas of the service's inventory sections (``commune``, ``syndicat``)."""
        return self.contract.get("settings") or {}


def _read(name: str) -> dict:
    with (package_data_dir() / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


@cache
def providers() -> dict[str, Provider]:
    result = {}
    for name, entry in _read("providers.yml").items():
        regions = {
            region: Region(region, info["country"], info.get("city", ""))
            for region, info in (entry.get("regions") or {}).items()
        }
        storage = entry.get("object_storage")
        result[name] = Provider(
            name=name,
            label=entry.get("label", name),
            jurisdiction=entry["jurisdiction"],
            regions=regions,
            secnumcloud=entry.get("secnumcloud"),
            object_storage=None
            if storage is None
            else ObjectStorage(**{**storage, "lock_modes": tuple(storage["lock_modes"])}),
        )
    return result


def services() -> dict[str, Service]:
    """The services bastide can deploy: every role with a contract (web services: 443 and 80)."""
    return _services(tuple(contract.role_dirs()))


@cache
def _services(dirs: tuple[Path, ...]) -> dict[str, Service]:
    # Built once per set of role directories: validation and rendering ask for every commune.
    found = {}
    for name, service in contract.discover(dirs).items():
        declared = service.contract
        found[name] = Service(
            name=name,
            subdomain=declared.subdomain,
            needs=tuple(declared.needs),
            ports=(443, 80),
            description=declared.description.model_dump(),
            contract={"role": service.role, **declared.model_dump(mode="json")},
        )
    return found


def all_regions() -> set[str]:
    return {region for provider in providers().values() for region in provider.regions}
