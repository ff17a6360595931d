"""Mails to citizens: French first, then English, in one message (the address tells us
nothing about the reader's language)."""

from __future__ import annotations

import logging

from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from rdv import config, ics
from rdv.models import Appointment

log = logging.getLogger(__name__)


def manage_url(token: str) -> str:
    return f"{config.get().base_url}/rdv/{token}/"


def _context(appointment: Appointment, token: str | None) -> dict[str, object]:
    conf = config.get()
    service = conf.service(appointment.service)
    counter = service.counter(appointment.counter) if service else None
    return {
        "commune": conf.commune_name,
        "service": service.name if service else appointment.service,
        "counter": counter.name if counter else appointment.counter,
        "motive": ics.motive_name(appointment),
        "start": appointment.start.astimezone(conf.tz),
        "end": appointment.end.astimezone(conf.tz),
        "name": appointment.name,
        "manage_url": manage_url(token) if token else None,
        "base_url": conf.base_url,
    }


def _bilingual(template: str, context: dict[str, object]) -> tuple[str, str]:
    parts = []
    subjects = []
    for language in ("fr", "en"):
        with translation.override(language):
            text = render_to_string(f"rdv/mail/{template}.txt", context).strip()
            subject, _, body = text.partition("\n")
            subjects.append(subject.strip())
            parts.append(body.strip())
    return " / ".join(subjects), parts[0] + (
        "\n\n" + "-" * 40 + "\n\n" + parts[1]
    )


def _send(appointment: Appointment, template: str, token: str | None, attach: bool) -> None:
    subject, body = _bilingual(template, _context(appointment, token))
    message = EmailMessage(subject=subject, body=body, to=[appointment.email])
    if attach:
        message.attach("rendez-vous.ics", ics.for_citizen(appointment), "text/calendar")
    try:
        message.send()
    except Exception:
        # The appointment stands even if the local MTA hiccups; the page shows the link too.
        log.exception("mail %s for appointment %s not sent", template, appointment.uid)


def send_confirmation(appointment: Appointment, token: str) -> None:
    _send(appointment, "confirmation", token, attach=True)


def send_moved(appointment: Appointment, token: str) -> None:
    _send(appointment, "moved", token, attach=True)


def send_reminder(appointment: Appointment) -> None:
    _send(appointment, "reminder", None, attach=True)


def send_cancellation(appointment: Appointment) -> None:
    _send(appointment, "cancellation", None, attach=False)
