import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rdv.models import Appointment, OutboxEntry, Reservation, Status

from .conftest import make_appointment

pytestmark = pytest.mark.django_db


def _stats() -> list[dict]:
    out = StringIO()
    call_command("rdv_stats", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_reminders_are_sent_once(mailoutbox):
    now = timezone.now()
    due = make_appointment(now + dt.timedelta(hours=5), email="due@example.org")
    make_appointment(now + dt.timedelta(hours=30), email="later@example.org")
    make_appointment(now + dt.timedelta(hours=6), email="gone@example.org",
                     status=Status.CANCELLED)
    call_command("rdv_reminders", stdout=StringIO())
    call_command("rdv_reminders", stdout=StringIO())
    assert [m.to for m in mailoutbox] == [["due@example.org"]]
    assert "Rappel" in mailoutbox[0].subject and "Reminder" in mailoutbox[0].subject
    due.refresh_from_db()
    assert due.reminder_sent_at is not None


def test_retention_erases_personal_data_and_keeps_counts():
    now = timezone.now()
    old = now - dt.timedelta(days=40)
    make_appointment(old, name="Ancien Usager", email="ancien@example.org",
                     status=Status.HONOURED)
    make_appointment(old + dt.timedelta(hours=1), name="Ancienne Absente",
                     email="absente@example.org", status=Status.NO_SHOW)
    make_appointment(old + dt.timedelta(hours=2), name="Ancien Annulé",
                     email="annule@example.org", status=Status.CANCELLED)
    recent = make_appointment(now - dt.timedelta(days=3), name="Récent", email="r@example.org",
                              status=Status.HONOURED)
    OutboxEntry.objects.create(calendar="x/", uid=Appointment.objects.get(name="Ancien Usager").uid,
                               action="put", body="SUMMARY:Ancien Usager", done_at=now)
    before = _stats()
    call_command("rdv_retention", stdout=StringIO())
    assert _stats() == before
    assert list(Appointment.objects.values_list("pk", flat=True)) == [recent.pk]
    assert Reservation.objects.count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [r[0] for r in cursor.fetchall()]
        for table in tables:
            cursor.execute(f'SELECT CAST(t AS text) FROM "{table}" t')
            dump = " ".join(r[0] for r in cursor.fetchall())
            for secret in ("Ancien", "ancien@", "absente@", "annule@", "Absente"):
                assert secret not in dump, (table, secret)
    totals = {k: sum(r[k] for r in before) for k in ("bookings", "cancelled", "no_show",
                                                     "honoured")}
    assert totals == {"bookings": 4, "cancelled": 1, "no_show": 1, "honoured": 2}


def test_stats_text_output():
    make_appointment(timezone.now() + dt.timedelta(days=2))
    out = StringIO()
    call_command("rdv_stats", stdout=out)
    assert "etat-civil\tcni-depot\t1\t0\t0\t0" in out.getvalue()


def test_check_and_outbox_without_caldav():
    out = StringIO()
    call_command("rdv_check", stdout=out)
    assert out.getvalue().startswith("ok: Ours-les-Bains")
    call_command("rdv_outbox", stdout=StringIO())  # nothing pending, no calendar: exit 0


def test_the_timers_job_sends_the_reminders_even_when_the_calendars_are_down(mailoutbox, set_config):
    """rdv_jobs: reminders first, then the outbox; an unreachable calendar server fails the job
    (the unit's status shows it) without holding back the reminders."""
    from django.core.management import CommandError

    set_config(caldav_url="http://127.0.0.1:9/", caldav_user="_rdv")  # nothing listens there
    appointment = make_appointment(timezone.now() + dt.timedelta(hours=2), email="rappel@example.org")
    OutboxEntry.objects.create(calendar="services/etat-civil/agenda/", uid=appointment.uid, action="put",
                               body="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    with pytest.raises(CommandError, match="reminders sent"):
        call_command("rdv_jobs", stdout=StringIO())
    assert [m.to for m in mailoutbox] == [["rappel@example.org"]]


def test_retention_takes_the_events_out_of_the_agendas(set_config):
    """The events carry the citizen's name, email and phone: erased with the appointment."""
    set_config(caldav_url="http://127.0.0.1:9/", caldav_user="_rdv")  # nothing listens: rows stay
    old = make_appointment(timezone.now() - dt.timedelta(days=40), email="ancien@example.org")
    call_command("rdv_retention", stdout=StringIO())
    removals = list(OutboxEntry.objects.filter(uid=old.uid))
    assert removals and all(r.action == "delete" and r.body == "" for r in removals)
    assert {r.calendar for r in removals} >= {"services/etat-civil/agenda/"}
    assert not Appointment.objects.filter(email="ancien@example.org").exists()
