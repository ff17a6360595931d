"""What the booking section's schema cannot say (docs/service-contract.md, ``settings.check``):
opening hours that overlap or end before they start, a reason for an appointment longer than
any opening, a counter nobody staffs, names that must match, closures that end before they
begin. bastide reports each problem with the file, the line and the field."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

Problem = tuple[tuple[Any, ...], dict[str, str], dict[str, str]]

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _ranges(day: list[str]) -> list[tuple[int, int, int]]:
    """``(index, start, end)`` of a day's ranges, in minutes."""
    found = []
    for index, text in enumerate(day):
        start, end = text.split("-")
        found.append((index, _minutes(start), _minutes(end)))
    return found


def _repeated(names: list[str]) -> list[int]:
    seen: set[str] = set()
    repeated = []
    for index, name in enumerate(names):
        if name in seen:
            repeated.append(index)
        seen.add(name)
    return repeated


def _service(
    at: tuple[Any, ...], entry: dict[str, Any], people: dict[str, dict[str, Any]]
) -> Iterator[Problem]:
    counters = [c["name"] for c in entry["counters"]]
    for index in _repeated(counters):
        yield (
            (*at, "counters", index, "name"),
            {
                "fr": f"le guichet « {counters[index]} » est nommé deux fois",
                "en": f"counter '{counters[index]}' is named twice",
            },
            {"fr": "donnez à chaque guichet un nom à lui", "en": "give each counter a name of its own"},
        )
    for index, counter in enumerate(entry["counters"]):
        staff = [login for login in counter["agents"] if not people.get(login, {}).get("disabled")]
        if not staff:
            yield (
                (*at, "counters", index, "agents"),
                {
                    "fr": f"personne ne tient le guichet « {counter['name']} »",
                    "en": f"nobody staffs counter '{counter['name']}'",
                },
                {
                    "fr": "nommez au moins un agent actif de la commune (bastide agent list), "
                    "ou retirez le guichet",
                    "en": "name at least one active agent of the commune (bastide agent list), "
                    "or remove the counter",
                },
            )
    longest = 0
    opened = False
    for day in DAYS:
        ranges = _ranges(entry["hours"].get(day) or [])
        for index, start, end in ranges:
            opened = True
            if end <= start:
                yield (
                    (*at, "hours", day, index),
                    {
                        "fr": f"la plage {entry['hours'][day][index]} finit avant de commencer",
                        "en": f"range {entry['hours'][day][index]} ends before it starts",
                    },
                    {
                        "fr": "écrivez l'heure de début puis l'heure de fin (08:30-12:00)",
                        "en": "write the start time, then the end time (08:30-12:00)",
                    },
                )
                continue
            longest = max(longest, end - start)
        ordered = sorted((r for r in ranges if r[2] > r[1]), key=lambda r: r[1])
        for before, after in pairwise(ordered):
            first, second = entry["hours"][day][before[0]], entry["hours"][day][after[0]]
            if after[1] < before[2]:
                yield (
                    (*at, "hours", day, after[0]),
                    {
                        "fr": f"les plages {first} et {second} se chevauchent",
                        "en": f"ranges {first} and {second} overlap",
                    },
                    {
                        "fr": "faites-les se suivre sans se chevaucher, ou réunissez-les en une seule",
                        "en": "make them follow one another without overlapping, or merge them into one",
                    },
                )
    if not opened:
        yield (
            (*at, "hours"),
            {"fr": "le service n'ouvre aucun jour", "en": "the service opens on no day"},
            {
                "fr": "donnez au moins une plage d'ouverture (par exemple monday: [08:30-12:00])",
                "en": "give at least one opening range (for example monday: [08:30-12:00])",
            },
        )
    motives = [m["name"] for m in entry["motives"]]
    for index in _repeated(motives):
        yield (
            (*at, "motives", index, "name"),
            {
                "fr": f"le motif « {motives[index]} » est nommé deux fois",
                "en": f"reason '{motives[index]}' is named twice",
            },
            {"fr": "donnez à chaque motif un nom à lui", "en": "give each reason a name of its own"},
        )
    for index, motive in enumerate(entry["motives"]):
        for position, name in enumerate(motive.get("counters") or []):
            if name not in counters:
                yield (
                    (*at, "motives", index, "counters", position),
                    {
                        "fr": f"le guichet « {name} » n'existe pas dans ce service",
                        "en": f"counter '{name}' does not exist in this service",
                    },
                    {
                        "fr": f"utilisez l'un des guichets : {', '.join(counters)}",
                        "en": f"use one of the counters: {', '.join(counters)}",
                    },
                )
        name, duration = motive["name"], motive["duration"]
        if opened and duration > longest:
            yield (
                (*at, "motives", index, "duration"),
                {
                    "fr": f"le motif « {name} » dure {duration} min, plus que la plus longue ouverture "
                    f"({longest} min)",
                    "en": f"reason '{name}' lasts {duration} min, longer than the longest opening "
                    f"({longest} min)",
                },
                {
                    "fr": "raccourcissez-le, ou allongez une plage d'ouverture",
                    "en": "shorten it, or lengthen an opening range",
                },
            )
    for index, closure in enumerate(entry.get("closures") or []):
        bad = [name for name in ("from", "to") if name in closure and not _day(closure[name])]
        for name in bad:
            yield (
                (*at, "closures", index, name),
                {
                    "fr": f"{closure[name]} n'est pas un jour du calendrier",
                    "en": f"{closure[name]} is not a day",
                },
                {
                    "fr": "une date AAAA-MM-JJ, ou MM-JJ pour chaque année",
                    "en": "a date YYYY-MM-DD, or MM-DD for every year",
                },
            )
        if bad:
            continue
        if closure.get("to") and len(closure["to"]) != len(closure["from"]):
            yield (
                (*at, "closures", index, "to"),
                {
                    "fr": "`from` et `to` doivent être tous deux des dates, "
                    "ou tous deux des jours de l'année",
                    "en": "`from` and `to` must both be dates, or both days of the year",
                },
                {
                    "fr": "écrivez les deux en AAAA-MM-JJ (une fois) ou en MM-JJ (chaque année)",
                    "en": "write both as YYYY-MM-DD (once) or as MM-DD (every year)",
                },
            )
            continue
        # A yearly closure may span the new year (12-24 to 01-02); a dated one may not end first.
        if closure.get("to") and len(closure["to"]) == 10 and closure["to"] < closure["from"]:
            yield (
                (*at, "closures", index, "to"),
                {
                    "fr": f"la fermeture finit ({closure['to']}) avant de commencer ({closure['from']})",
                    "en": f"the closure ends ({closure['to']}) before it begins ({closure['from']})",
                },
                {
                    "fr": "mettez la date de début dans `from` et celle de fin dans `to`",
                    "en": "put the first day in `from` and the last in `to`",
                },
            )


def _day(text: str) -> bool:
    """A real date (YYYY-MM-DD), or a real day of a year (MM-DD; 02-29 counts)."""
    try:
        datetime.date.fromisoformat(text if len(text) == 10 else f"2000-{text}")
    except ValueError:
        return False
    return True


def check(section: dict[str, Any], commune: dict[str, Any]) -> Iterator[Problem]:
    people = {p["login"]: p for p in commune["agents"]}
    services = [entry["service"] for entry in section.get("services") or []]
    for index in _repeated(services):
        yield (
            ("services", index, "service"),
            {
                "fr": f"le service « {services[index]} » est décrit deux fois",
                "en": f"service '{services[index]}' is described twice",
            },
            {
                "fr": "réunissez ses guichets et motifs en une seule entrée",
                "en": "put its counters and reasons in one entry",
            },
        )
    for index, entry in enumerate(section.get("services") or []):
        yield from _service(("services", index), entry, people)
