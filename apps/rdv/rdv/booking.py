"""Booking, moving and cancelling: the database decides who gets a slot."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from rdv import calendars, config, mails, slots
from rdv.models import Appointment, Block, Status


class SlotTaken(Exception):
    """Someone else got the slot between the page and the click."""


class AlreadyBooked(Exception):
    """This email already has an active appointment for this motive."""


class SlotUnavailable(Exception):
    """The chosen time is not (or no longer) a slot of the motive."""


def new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)  # 256 bits
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def by_token(token: str) -> Appointment | None:
    if not token or len(token) > 100:
        return None
    return Appointment.objects.filter(token_hash=hash_token(token)).first()


@dataclass
class Citizen:
    name: str
    email: str
    phone: str = ""


def _lock_email_motive(email: str, service: str, motive: str) -> None:
    # Serialises concurrent bookings of one person for one motive (two tabs, double click):
    # a partial unique index cannot express "active = booked and not yet past".
    key = f"{service}/{motive}/{email.strip().lower()}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def has_active(email: str, service: str, motive: str, exclude: int | None = None) -> bool:
    rows = Appointment.objects.filter(
        email__iexact=email.strip(),
        service=service,
        motive=motive,
        status=Status.BOOKED,
        end__gt=timezone.now(),
    )
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    return rows.exists()


def _place(appointment: Appointment, slot: slots.Slot, counters: tuple[str, ...]) -> None:
    """Save `appointment` on the first counter the constraint accepts."""
    for counter in counters:
        appointment.counter = counter
        appointment.start, appointment.end = slot.start, slot.end
        try:
            with transaction.atomic():
                appointment.save()
            return
        except IntegrityError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != "23P01":  # exclusion_violation
                raise
    raise SlotTaken


def book(service: config.Service, motive: config.Motive, key: str, citizen: Citizen,
         language: str = "fr") -> tuple[Appointment, str]:
    slot = slots.find(slots.free_slots(service, motive), key)
    if slot is None:
        raise SlotUnavailable
    token, token_hash = new_token()
    with transaction.atomic():
        _lock_email_motive(citizen.email, service.slug, motive.slug)
        if has_active(citizen.email, service.slug, motive.slug):
            raise AlreadyBooked
        appointment = Appointment(
            service=service.slug,
            motive=motive.slug,
            name=citizen.name.strip(),
            email=citizen.email.strip(),
            phone=citizen.phone.strip(),
            token_hash=token_hash,
            language=language,
        )
        # Every counter of the motive, free-looking first: the page may be stale.
        ordered = slot.counters + tuple(c for c in motive.counters if c not in slot.counters)
        _place(appointment, slot, ordered)
        calendars.enqueue_put(appointment)
    mails.send_confirmation(appointment, token)
    return appointment, token


def move(appointment: Appointment, key: str, token: str) -> Appointment:
    conf = config.get()
    service = conf.service(appointment.service)
    motive = service.motive(appointment.motive) if service else None
    if service is None or motive is None:
        raise SlotUnavailable
    slot = slots.find(slots.free_slots(service, motive, exclude=appointment.pk), key)
    if slot is None:
        raise SlotUnavailable
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if current.status != Status.BOOKED:
            raise SlotUnavailable
        old_paths = calendars.calendars_of(current)
        ordered = slot.counters + tuple(c for c in motive.counters if c not in slot.counters)
        current.reminder_sent_at = None
        # One UPDATE inside the transaction: the old slot is released only if the new one
        # is taken, never both or neither.
        _place(current, slot, ordered)
        new_paths = calendars.calendars_of(current)
        calendars.enqueue_delete(current, [p for p in old_paths if p not in new_paths])
        calendars.enqueue_put(current)
    mails.send_moved(current, token)
    return current


def cancel(appointment: Appointment, by: str = "citizen") -> bool:
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if current.status != Status.BOOKED:
            return False
        current.status = Status.CANCELLED
        current.cancelled_at = timezone.now()
        current.cancelled_by = by
        current.save()
        calendars.enqueue_delete(current)
    mails.send_cancellation(current)
    appointment.refresh_from_db()
    return True


def mark(appointment: Appointment, status: Status) -> None:
    """Honoured or no-show, set by an agent once the time has come."""
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if current.status == Status.CANCELLED:
            raise SlotUnavailable
        current.status = status
        current.save(update_fields=["status", "active"])


def block(service: config.Service, counter: str, start: dt.datetime, end: dt.datetime,
          reason: str, by: str) -> Block:
    """Raises SlotTaken when an appointment or another block is in the way."""
    try:
        with transaction.atomic():
            return Block.objects.create(
                service=service.slug, counter=counter, start=start, end=end,
                reason=reason, created_by=by,
            )
    except IntegrityError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == "23P01":
            raise SlotTaken from exc
        raise
