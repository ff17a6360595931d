import datetime as dt

import pytest
from rdv import config, slots
from rdv.models import Block

from .conftest import at, make_appointment

pytestmark = pytest.mark.django_db


def _on(result: list[slots.Slot], day: dt.date) -> list[str]:
    return [s.start.astimezone(config.get().tz).strftime("%H:%M") for s in result
            if s.start.astimezone(config.get().tz).date() == day]


def test_opening_hours_make_the_slots(etat_civil):
    result = slots.free_slots(etat_civil, etat_civil.motive("cni-depot"), now=at(2027, 1, 1, 8))
    monday = _on(result, dt.date(2027, 1, 4))
    assert monday[:3] == ["08:30", "08:50", "09:10"]
    assert "11:30" in monday and "11:50" not in monday and "13:30" in monday
    assert monday[-1] == "16:30" and len(monday) == 20
    assert _on(result, dt.date(2027, 1, 10)) == []  # Sunday: no hours
    assert _on(result, dt.date(2027, 1, 9))[-1] == "11:40"  # Saturday morning only
    assert _on(result, dt.date(2027, 1, 1)) == []  # 1 January, and notice anyway


def test_notice_and_horizon(etat_civil):
    motive = etat_civil.motive("cni-depot")
    result = slots.free_slots(etat_civil, motive, now=at(2027, 1, 4, 9))
    assert result[0].start == at(2027, 1, 5, 9, 10)  # 24 h notice
    assert max(s.start for s in result).date() <= dt.date(2027, 3, 5)  # 60 days
    assert _on(result, dt.date(2027, 3, 5)) and not _on(result, dt.date(2027, 3, 6))


def test_closures_are_inclusive(etat_civil):
    result = slots.free_slots(etat_civil, etat_civil.motive("cni-depot"), now=at(2026, 12, 20, 8))
    assert _on(result, dt.date(2026, 12, 23))
    for day in (24, 25, 26):
        assert _on(result, dt.date(2026, 12, day)) == []
    assert _on(result, dt.date(2026, 12, 28))


@pytest.mark.parametrize("insee, expected", [
    ("38123", None), ("57463", "57"), ("67482", "6AE"), ("68224", "6AE"), ("2A004", None),
    ("97105", "971"), ("97209", "972"), ("97302", "973"), ("97411", "974"), ("97611", "976"),
])
def test_subdivision_from_insee(insee, expected):
    assert slots.subdivision(insee) == expected


def test_national_holidays_have_no_slot(etat_civil):
    motive = etat_civil.motive("cni-depot")
    may = slots.free_slots(etat_civil, motive, now=at(2027, 4, 20, 8))
    assert _on(may, dt.date(2027, 4, 30)) and _on(may, dt.date(2027, 5, 3))
    assert _on(may, dt.date(2027, 5, 1)) == []  # a Saturday, normally open
    july = slots.free_slots(etat_civil, motive, now=at(2027, 6, 20, 8))
    assert _on(july, dt.date(2027, 7, 13)) and _on(july, dt.date(2027, 7, 14)) == []


@pytest.mark.parametrize("insee", ["67482", "68224", "57463"])
def test_alsace_moselle_good_friday_and_26_december(set_config, insee):
    service = config.get().service("urbanisme")  # no closures
    motive = service.motive("permis")
    set_config(insee="38123")
    assert _on(slots.free_slots(service, motive, now=at(2027, 3, 20, 8)), dt.date(2027, 3, 26))
    assert _on(slots.free_slots(service, motive, now=at(2026, 12, 20, 8)), dt.date(2026, 12, 26))
    set_config(insee=insee)
    assert _on(slots.free_slots(service, motive, now=at(2027, 3, 20, 8)), dt.date(2027, 3, 26)) == []
    result = slots.free_slots(service, motive, now=at(2026, 12, 20, 8))
    assert _on(result, dt.date(2026, 12, 26)) == [] and _on(result, dt.date(2026, 12, 28))


def test_appointments_and_blocks_take_counters(etat_civil):
    now = at(2027, 1, 1, 8)
    mariage = etat_civil.motive("mariage")  # guichet-1 only
    cni = etat_civil.motive("cni-depot")  # guichet-1 then guichet-2
    make_appointment(at(2027, 1, 4, 9, 0), motive="mariage", minutes=60)
    day = dt.date(2027, 1, 4)
    # 60-minute grid from 08:30: the 09:00–10:00 appointment overlaps 08:30 and 09:30.
    assert _on(slots.free_slots(etat_civil, mariage, now=now), day)[:1] == ["10:30"]
    cni_slots = {s.key: s for s in slots.free_slots(etat_civil, cni, now=now)}
    assert cni_slots[at(2027, 1, 4, 9, 10).isoformat()].counters == ("guichet-2",)
    assert cni_slots[at(2027, 1, 4, 10, 10).isoformat()].counters == ("guichet-1", "guichet-2")
    Block.objects.create(service="etat-civil", counter="guichet-1", start=at(2027, 1, 5),
                         end=at(2027, 1, 6), created_by="karim.benali")
    assert _on(slots.free_slots(etat_civil, mariage, now=now), dt.date(2027, 1, 5)) == []
    assert _on(slots.free_slots(etat_civil, cni, now=now), dt.date(2027, 1, 5))


@pytest.mark.parametrize("start, end, closed_days, open_days", [
    # Every summer, whatever the year.
    ("08-10", "08-21", [(2027, 8, 10), (2027, 8, 21), (2028, 8, 15)], [(2027, 8, 9), (2027, 8, 23)]),
    # Across the new year.
    ("12-24", "01-02", [(2026, 12, 24), (2026, 12, 31), (2027, 1, 2)], [(2026, 12, 23), (2027, 1, 4)]),
    # One day every year.
    ("05-07", "", [(2027, 5, 7), (2028, 5, 7)], [(2027, 5, 6), (2027, 5, 10)]),
])
def test_yearly_closures(start, end, closed_days, open_days):
    closure = config._closure({"start": start, "end": end, "reason": "Fermeture"})
    assert closure.yearly
    for day in closed_days:
        assert closure.covers(dt.date(*day)), day
    for day in open_days:
        assert not closure.covers(dt.date(*day)), day


def test_a_dated_closure_is_not_yearly():
    closure = config._closure({"start": "2026-12-24", "end": "2026-12-26", "reason": ""})
    assert not closure.yearly and closure.covers(dt.date(2026, 12, 25))
    assert not closure.covers(dt.date(2027, 12, 25))
