"""Free slots, computed on demand from the service's rules and the reservations in the
database (nothing is pre-generated, so a change of hours applies at once)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import holidays

from rdv import config
from rdv.models import Reservation

# INSEE département -> subdivision of holidays.France (checked against holidays 0.109):
# Moselle has its own code, Bas-Rhin and Haut-Rhin share the Alsace code "6AE"; overseas
# départements have theirs. Corsica (2A/2B) follows the national calendar.
_SUBDIVISIONS = {
    "57": "57",
    "67": "6AE",
    "68": "6AE",
    "971": "971",
    "972": "972",
    "973": "973",
    "974": "974",
    "975": "PM",
    "976": "976",
    "977": "BL",
    "978": "MF",
}


def subdivision(insee: str) -> str | None:
    code = insee.strip().upper()
    if code.startswith("97"):
        return _SUBDIVISIONS.get(code[:3])
    return _SUBDIVISIONS.get(code[:2])


@cache
def _calendar(insee: str) -> holidays.HolidayBase:
    return holidays.France(subdiv=subdivision(insee))


def is_holiday(day: dt.date, insee: str) -> bool:
    return day in _calendar(insee)


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime
    counters: tuple[str, ...]  # the motive's counters free at that time, in the motive's order

    @property
    def key(self) -> str:
        return self.start.isoformat()


def closed(service: config.Service, day: dt.date, insee: str) -> bool:
    return is_holiday(day, insee) or any(c.covers(day) for c in service.closures)


def free_slots(
    service: config.Service,
    motive: config.Motive,
    now: dt.datetime | None = None,
    exclude: int | None = None,
) -> list[Slot]:
    """Slots of `motive` between now + notice and today + horizon with a free counter.

    `exclude` is a reservation that does not count as occupying (the one being moved).
    """
    conf = config.get()
    tz = conf.tz
    now = (now or dt.datetime.now(tz)).astimezone(tz)
    earliest = now + dt.timedelta(hours=service.notice_hours)
    last_day = now.date() + dt.timedelta(days=service.horizon_days)
    step = dt.timedelta(minutes=motive.duration)

    candidates: list[tuple[dt.datetime, dt.datetime]] = []
    day = earliest.date()
    while day <= last_day:
        if not closed(service, day, conf.insee):
            for opening, closing in service.hours[day.weekday()]:
                start = dt.datetime.combine(day, opening, tz)
                close = dt.datetime.combine(day, closing, tz)
                while start + step <= close:
                    if start >= earliest:
                        candidates.append((start, start + step))
                    start += step
        day += dt.timedelta(days=1)
    if not candidates:
        return []

    busy: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {c: [] for c in motive.counters}
    rows = Reservation.objects.filter(
        service=service.slug,
        counter__in=motive.counters,
        active=True,
        end__gt=candidates[0][0],
        start__lt=candidates[-1][1],
    )
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    for counter, start, end in rows.values_list("counter", "start", "end"):
        busy[counter].append((start, end))

    result = []
    for start, end in candidates:
        free = tuple(
            c for c in motive.counters if not any(s < end and start < e for s, e in busy[c])
        )
        if free:
            result.append(Slot(start, end, free))
    return result


def find(slots: list[Slot], key: str) -> Slot | None:
    return next((s for s in slots if s.key == key), None)
