"""The catalogues shipped with bastide: hosting providers (``data/providers.yml``) and the
services it deploys (``data/services.yml``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import yaml

from bastide.i18n import language
from bastide.paths import package_data_dir


@dataclass(frozen=True)
class Region:
    name: str
    country: str
    city: str


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    jurisdiction: str
    regions: dict[str, Region]
    secnumcloud: str | None = None


@dataclass(frozen=True)
class Service:
    name: str
    subdomain: str
    needs: tuple[str, ...]
    ports: tuple[int, ...]
    description: dict[str, str]

    def describe(self) -> str:
        """The description in the user's language."""
        return self.description.get(language(), self.description["en"])

    def as_dict(self) -> dict[str, object]:
        return {
            "subdomain": self.subdomain,
            "needs": list(self.needs),
            "ports": list(self.ports),
            "description": dict(self.description),
        }


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
        result[name] = Provider(
            name=name,
            label=entry.get("label", name),
            jurisdiction=entry["jurisdiction"],
            regions=regions,
            secnumcloud=entry.get("secnumcloud"),
        )
    return result


@cache
def services() -> dict[str, Service]:
    return {
        name: Service(
            name=name,
            subdomain=entry["subdomain"],
            needs=tuple(entry.get("needs") or ()),
            ports=tuple(entry.get("ports") or ()),
            description=dict(entry["description"]),
        )
        for name, entry in _read("services.yml").items()
    }


def all_regions() -> set[str]:
    return {region for provider in providers().values() for region in provider.regions}
