"""Transactional outbox towards the commune's CalDAV server.

Appointment changes write OutboxEntry rows in their own transaction; `push()` sends them
afterwards, in order. PUT of `<uid>.ics` replaces and DELETE of a missing event counts as
done, so sending a row twice (a crash between the request and `done_at`) changes nothing.
"""

from __future__ import annotations

import logging

import caldav
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from rdv import config, ics
from rdv.models import Appointment, OutboxEntry

log = logging.getLogger(__name__)

# Any constant: one pusher at a time keeps the per-event order (PUT then DELETE) intact.
_LOCK_KEY = 0x7264760001


def calendars_of(appointment: Appointment) -> list[str]:
    """The service's shared calendar and the calendars of the counter's agents."""
    conf = config.get()
    if not conf.caldav_url:
        return []
    service = conf.service(appointment.service)
    if service is None:
        return []
    paths = []
    if service.calendar:
        paths.append(service.calendar.strip("/") + "/")
    counter = service.counter(appointment.counter)
    for login in counter.agents if counter else ():
        paths.append(f"{login}/agenda/")
    return paths


def enqueue_put(appointment: Appointment) -> None:
    body = ics.for_agents(appointment)
    for path in calendars_of(appointment):
        OutboxEntry.objects.create(
            calendar=path, uid=appointment.uid, action=OutboxEntry.Action.PUT, body=body
        )
    _kick_after_commit()


def enqueue_delete(appointment: Appointment, paths: list[str] | None = None) -> None:
    for path in calendars_of(appointment) if paths is None else paths:
        OutboxEntry.objects.create(
            calendar=path, uid=appointment.uid, action=OutboxEntry.Action.DELETE
        )
    _kick_after_commit()


def _kick_after_commit() -> None:
    # Calendars are a convenience for agents: a failure here never fails the booking, the
    # timer retries every minute.
    def kick() -> None:
        try:
            push()
        except Exception:
            log.exception("calendar push after commit failed")

    transaction.on_commit(kick)


def _client() -> caldav.DAVClient:
    conf = config.get()
    assert conf.caldav_url and conf.caldav_user
    # The calendar server trusts these headers from the commune's own backends (loopback).
    return caldav.DAVClient(
        url=conf.caldav_url,
        headers={"Remote-User": conf.caldav_user, "X-Bastide-Secret": settings.HEADER_SECRET},
        timeout=10,
        enable_rfc6764=False,
        require_tls=False,
    )


def _send(client: caldav.DAVClient, entry: OutboxEntry) -> None:
    url = f"{config.get().caldav_url}{entry.calendar}{entry.uid}.ics"
    if entry.action == OutboxEntry.Action.PUT:
        response = client.put(url, entry.body, {"Content-Type": "text/calendar; charset=utf-8"})
        ok = response.status in (200, 201, 204)
    else:
        response = client.delete(url)
        ok = response.status in (200, 204, 404, 410)
    if not ok:
        raise RuntimeError(f"{entry.action} {url}: HTTP {response.status}")


def push(limit: int = 500) -> tuple[int, int]:
    """Send pending rows; returns (sent, still pending). Skips if another pusher runs."""
    if not config.get().caldav_url:
        OutboxEntry.objects.filter(done_at__isnull=True).update(done_at=timezone.now())
        return 0, 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return 0, OutboxEntry.objects.filter(done_at__isnull=True).count()
    sent = 0
    failed_events: set[tuple[str, str]] = set()
    try:
        client = _client()
        for entry in OutboxEntry.objects.filter(done_at__isnull=True).order_by("id")[:limit]:
            key = (entry.calendar, str(entry.uid))
            if key in failed_events:
                continue  # later changes of an event wait for its earlier ones
            try:
                _send(client, entry)
            except Exception as exc:
                failed_events.add(key)
                OutboxEntry.objects.filter(pk=entry.pk).update(
                    attempts=entry.attempts + 1, last_error=str(exc)[:2000]
                )
                log.warning("calendar change %s not sent: %s", entry.pk, exc)
                continue
            OutboxEntry.objects.filter(pk=entry.pk).update(
                done_at=timezone.now(), attempts=entry.attempts + 1, last_error=""
            )
            sent += 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
    return sent, OutboxEntry.objects.filter(done_at__isnull=True).count()
