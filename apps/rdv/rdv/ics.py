"""iCalendar documents of an appointment: the citizen's attachment and the agents' event."""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar, Event

from rdv import config
from rdv.models import Appointment


def _event(appointment: Appointment, summary: str, description: str) -> Event:
    conf = config.get()
    service = conf.service(appointment.service)
    tz = conf.tz
    event = Event()
    event.add("uid", str(appointment.uid))
    event.add("dtstamp", dt.datetime.now(dt.UTC))
    event.add("dtstart", appointment.start.astimezone(tz))
    event.add("dtend", appointment.end.astimezone(tz))
    event.add("summary", summary)
    location = conf.commune_name + (f", {service.name}" if service else "")
    counter = service.counter(appointment.counter) if service else None
    if counter:
        location += f" – {counter.name}"
    event.add("location", location)
    if description:
        event.add("description", description)
    return event


def _calendar(method: str | None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//bastide//rdv//FR")
    cal.add("version", "2.0")
    if method:
        cal.add("method", method)
    return cal


def _with_timezone(cal: Calendar) -> bytes:
    # VTIMEZONE components matching the TZIDs, so that every client reads the same times.
    cal.add_missing_timezones()
    return cal.to_ical()


def motive_name(appointment: Appointment) -> str:
    service = config.get().service(appointment.service)
    motive = service.motive(appointment.motive) if service else None
    return motive.name if motive else appointment.motive


def for_citizen(appointment: Appointment) -> bytes:
    conf = config.get()
    cal = _calendar("PUBLISH")
    summary = f"{motive_name(appointment)} – {conf.commune_name}"
    cal.add_component(_event(appointment, summary, ""))
    return _with_timezone(cal)


def for_agents(appointment: Appointment) -> str:
    """The event stored in the service's and the agent's calendars.

    It carries what the agent needs to receive the person and call them if the counter
    closes: name, motive, phone and email. Nothing else (no token, no language).
    """
    cal = _calendar(None)
    summary = f"{motive_name(appointment)} – {appointment.name}"
    lines = [f"Motif : {motive_name(appointment)}", f"Nom : {appointment.name}"]
    if appointment.phone:
        lines.append(f"Téléphone : {appointment.phone}")
    lines.append(f"Courriel : {appointment.email}")
    cal.add_component(_event(appointment, summary, "\n".join(lines)))
    return _with_timezone(cal).decode()
