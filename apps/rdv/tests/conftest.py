from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from rdv import booking, config
from rdv.models import Appointment, Status

TZ = config.get().tz
AGENT = {"X-Bastide-Secret": "s3cret-header", "Remote-User": "karim.benali",
         "Remote-Name": "Karim Benali", "Remote-Email": "karim@example.fr",
         "Remote-Groups": "ours-les-bains; service-etat-civil"}


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


@pytest.fixture
def set_config(monkeypatch: pytest.MonkeyPatch) -> Callable[..., config.Config]:
    """Replace fields of the commune's configuration for one test."""
    original = config.get()

    def apply(**changes: object) -> config.Config:
        new = dataclasses.replace(original, **changes)
        monkeypatch.setattr(config, "get", lambda: new)
        return new

    return apply


@pytest.fixture
def etat_civil() -> config.Service:
    service = config.get().service("etat-civil")
    assert service
    return service


def make_appointment(start: dt.datetime, motive: str = "cni-depot", counter: str = "guichet-1",
                     email: str = "a@example.org", status: str = Status.BOOKED,
                     minutes: int = 20, name: str = "Alice Martin") -> Appointment:
    _, token_hash = booking.new_token()
    appointment = Appointment(service="etat-civil", motive=motive, counter=counter, start=start,
                              end=start + dt.timedelta(minutes=minutes), name=name, email=email,
                              phone="06 12 34 56 78", token_hash=token_hash, status=status)
    appointment.save()
    return appointment


@pytest.fixture
def mailoutbox_clear(mailoutbox: list) -> Iterator[list]:
    mailoutbox.clear()
    yield mailoutbox
