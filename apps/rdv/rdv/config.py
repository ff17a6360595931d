"""The commune's configuration: one JSON file written by the deployment (env RDV_CONFIG).

Parsed once into frozen dataclasses so that a mistake in the inventory fails at start-up
(and in `rdv_check`) rather than in the middle of a citizen's booking.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Counter:
    slug: str
    name: str
    agents: tuple[str, ...]


@dataclass(frozen=True)
class Motive:
    slug: str
    name: str
    duration: int  # minutes
    counters: tuple[str, ...]


@dataclass(frozen=True)
class Closure:
    start: dt.date
    end: dt.date  # inclusive
    reason: str
    # Every year on the same days ("12-24" to "01-02" in the inventory, across the new year
    # when the end comes first): start and end then carry only their month and day.
    yearly: bool = False

    def covers(self, day: dt.date) -> bool:
        if not self.yearly:
            return self.start <= day <= self.end
        first, last = (self.start.month, self.start.day), (self.end.month, self.end.day)
        today = (day.month, day.day)
        return first <= today <= last if first <= last else (today >= first or today <= last)


def _closure(raw: dict[str, str]) -> Closure:
    start, end = raw["start"], raw.get("end") or raw["start"]
    if len(start) == 5 and len(end) == 5:
        # A leap year, so that 02-29 is a day.
        return Closure(dt.date.fromisoformat(f"2000-{start}"), dt.date.fromisoformat(f"2000-{end}"),
                       raw.get("reason", ""), yearly=True)
    return Closure(dt.date.fromisoformat(start), dt.date.fromisoformat(end), raw.get("reason", ""))


@dataclass(frozen=True)
class Service:
    slug: str
    name: str
    group: str
    calendar: str | None
    counters: tuple[Counter, ...]
    motives: tuple[Motive, ...]
    hours: dict[int, tuple[tuple[dt.time, dt.time], ...]]  # weekday() -> intervals
    closures: tuple[Closure, ...]
    horizon_days: int
    notice_hours: int

    def motive(self, slug: str) -> Motive | None:
        return next((m for m in self.motives if m.slug == slug), None)

    def counter(self, slug: str) -> Counter | None:
        return next((c for c in self.counters if c.slug == slug), None)


@dataclass(frozen=True)
class Config:
    commune_slug: str
    commune_name: str
    insee: str
    base_url: str
    website: str | None
    time_zone: str
    db_name: str
    db_user: str
    db_host: str
    db_port: int
    mail_host: str
    mail_port: int
    mail_from: str
    caldav_url: str | None
    caldav_user: str | None
    retention_days: int
    reminder_hours: int
    search_per_minute: int
    booking_per_hour: int
    services: tuple[Service, ...] = field(default_factory=tuple)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def service(self, slug: str) -> Service | None:
        return next((s for s in self.services if s.slug == slug), None)


def _time(value: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad time {value!r}") from exc


def _service(raw: dict) -> Service:
    slug = raw["slug"]
    counters = tuple(
        Counter(c["slug"], c["name"], tuple(c.get("agents", []))) for c in raw["counters"]
    )
    known = {c.slug for c in counters}
    motives = []
    for m in raw["motives"]:
        duration = int(m["duration"])
        if duration <= 0:
            raise ConfigError(f"{slug}/{m['slug']}: duration must be positive")
        unknown = set(m["counters"]) - known
        if unknown or not m["counters"]:
            raise ConfigError(f"{slug}/{m['slug']}: unknown or no counters {sorted(unknown)}")
        motives.append(Motive(m["slug"], m["name"], duration, tuple(m["counters"])))
    hours_raw = raw["hours"]
    if set(hours_raw) != set(DAYS):
        raise ConfigError(f"{slug}: hours must list the 7 days")
    hours: dict[int, tuple[tuple[dt.time, dt.time], ...]] = {}
    for index, day in enumerate(DAYS):
        intervals = tuple((_time(a), _time(b)) for a, b in hours_raw[day])
        if any(a >= b for a, b in intervals):
            raise ConfigError(f"{slug}: {day} has an empty interval")
        hours[index] = intervals
    closures = tuple(_closure(c) for c in raw.get("closures", []))
    return Service(
        slug=slug,
        name=raw["name"],
        group=raw["group"],
        calendar=raw.get("calendar"),
        counters=counters,
        motives=tuple(motives),
        hours=hours,
        closures=closures,
        horizon_days=int(raw["horizon_days"]),
        notice_hours=int(raw["notice_hours"]),
    )


def parse(raw: dict) -> Config:
    try:
        caldav = raw.get("caldav")
        rate = raw["rate_limits"]
        config = Config(
            commune_slug=raw["commune"]["slug"],
            commune_name=raw["commune"]["name"],
            insee=str(raw["commune"]["insee"]),
            base_url=raw["base_url"].rstrip("/"),
            website=raw.get("website") or None,
            time_zone=raw["time_zone"],
            db_name=raw["database"]["name"],
            db_user=raw["database"]["user"],
            db_host=raw["database"]["host"],
            db_port=int(raw["database"]["port"]),
            mail_host=raw["mail"]["host"],
            mail_port=int(raw["mail"]["port"]),
            mail_from=raw["mail"]["from"],
            caldav_url=(caldav["url"].rstrip("/") + "/") if caldav else None,
            caldav_user=caldav["user"] if caldav else None,
            retention_days=int(raw["retention_days"]),
            reminder_hours=int(raw["reminder_hours"]),
            search_per_minute=int(rate["search_per_minute"]),
            booking_per_hour=int(rate["booking_per_hour"]),
            services=tuple(_service(s) for s in raw["services"]),
        )
        ZoneInfo(config.time_zone)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"invalid rdv configuration: {exc!r}") from exc
    slugs = [s.slug for s in config.services]
    if len(set(slugs)) != len(slugs):
        raise ConfigError("duplicate service slugs")
    return config


def load_file(path: str | os.PathLike[str]) -> Config:
    return parse(json.loads(Path(path).read_text(encoding="utf-8")))


@cache
def get() -> Config:
    path = os.environ.get("RDV_CONFIG")
    if not path:
        raise ConfigError("RDV_CONFIG is not set")
    return load_file(path)


def credential(name: str) -> str:
    """A secret handed over by systemd's LoadCredential (never in the JSON, never in env)."""
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        raise ConfigError("CREDENTIALS_DIRECTORY is not set")
    return (Path(directory) / name).read_text(encoding="utf-8").strip()
