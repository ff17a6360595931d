"""The booking's section of a commune's file (roles/rdv/meta/bastide.yml and
settings_check.py): what `bastide validate` refuses, each with the file, the line, the field and
the fix, and what the role's configuration filter makes of a good section."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bastide.core.inventory import load
from bastide.errors import InputError

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "inventories" / "demo"
COMMUNE = "ours-les-bains"

_spec = importlib.util.spec_from_file_location(
    "rdv_filters", REPO / "roles" / "rdv" / "filter_plugins" / "rdv.py"
)
assert _spec is not None and _spec.loader is not None
filters = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(filters)


def _inventory(tmp_path: Path, change: Any) -> Path:
    inventory = tmp_path / "inventory"
    shutil.copytree(DEMO, inventory)
    path = inventory / "communes" / f"{COMMUNE}.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["rdv"]["services"][0], data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return inventory


def _problems(tmp_path: Path, change: Any) -> list[str]:
    inventory = _inventory(tmp_path, change)
    with pytest.raises(InputError) as raised:
        load(inventory)
    lines = (inventory / "communes" / f"{COMMUNE}.yml").read_text(encoding="utf-8").splitlines()
    found = []
    for p in raised.value.problems:
        assert p.file.endswith(f"{COMMUNE}.yml"), p
        assert p.line and 1 <= p.line <= len(lines), p
        found.append(f"{p.field}: {p.message} -> {p.fix}")
    return found


CASES: dict[str, tuple[Any, str, str]] = {
    "overlapping-hours": (
        lambda s, _d: s["hours"].__setitem__("monday", ["08:30-12:00", "11:00-14:00"]),
        "rdv.services[0].hours.monday[1]",
        "ranges 08:30-12:00 and 11:00-14:00 overlap",
    ),
    "range-backwards": (
        lambda s, _d: s["hours"].__setitem__("tuesday", ["12:00-08:30"]),
        "rdv.services[0].hours.tuesday[0]",
        "ends before it starts",
    ),
    "bad-range": (
        lambda s, _d: s["hours"].__setitem__("tuesday", ["8h30-12h"]),
        "rdv.services[0].hours.tuesday[0]",
        "a time range HH:MM-HH:MM",
    ),
    "unknown-day": (
        lambda s, _d: s["hours"].__setitem__("lundi", ["08:30-12:00"]),
        "rdv.services[0].hours.lundi",
        "monday",
    ),
    "motive-longer-than-any-opening": (
        lambda s, _d: s["motives"][2].__setitem__("duration", 240),
        "rdv.services[0].motives[2].duration",
        "longer than the longest opening (210 min)",
    ),
    "counter-nobody-staffs": (
        lambda s, _d: s["counters"][0].__setitem__("agents", []),
        "rdv.services[0].counters[0].agents",
        "nobody staffs counter 'Guichet 1'",
    ),
    "counter-staffed-by-someone-who-left": (
        lambda s, d: next(a for a in d["agents"] if a["email"].startswith("marie.dupont@")).__setitem__(
            "disabled", True
        ),
        "rdv.services[0].counters[0].agents",
        "nobody staffs counter",
    ),
    "counter-staffed-by-a-stranger": (
        lambda s, _d: s["counters"][0].__setitem__("agents", ["jp.roux"]),
        "rdv.services[0].counters[0].agents[0]",
        "bastide agent list",
    ),
    "unknown-counter": (
        lambda s, _d: s["motives"][0].__setitem__("counters", ["Guichet 9"]),
        "rdv.services[0].motives[0].counters[0]",
        "counter 'Guichet 9' does not exist in this service -> use one of the counters: Guichet 1",
    ),
    "unknown-service": (
        lambda s, _d: s.__setitem__("service", "Etat civil"),
        "rdv.services[0].service",
        "État civil",
    ),
    "closure-backwards": (
        lambda s, _d: s["closures"][0].__setitem__("to", "2026-12-01"),
        "rdv.services[0].closures[0].to",
        "ends (2026-12-01) before it begins (2026-12-24)",
    ),
    "closure-not-a-date": (
        lambda s, _d: s["closures"][0].__setitem__("from", "24/12/2026"),
        "rdv.services[0].closures[0].from",
        "a date YYYY-MM-DD (for example 2026-12-24), or MM-DD for every year",
    ),
    "closure-not-a-day": (
        lambda s, _d: s["closures"][0].__setitem__("from", "2026-02-30"),
        "rdv.services[0].closures[0].from",
        "2026-02-30 is not a day",
    ),
    "yearly-closure-not-a-day": (
        lambda s, _d: s["closures"].append({"from": "13-01"}),
        "rdv.services[0].closures[1].from",
        "13-01 is not a day",
    ),
    "closure-mixing-a-date-and-a-day": (
        lambda s, _d: s["closures"].append({"from": "12-24", "to": "2027-01-02"}),
        "rdv.services[0].closures[1].to",
        "must both be dates, or both days of the year",
    ),
    "closed-every-day": (
        lambda s, _d: s.__setitem__("hours", {}),
        "rdv.services[0].hours",
        "opens on no day",
    ),
    "duration-too-short": (
        lambda s, _d: s["motives"][1].__setitem__("duration", 2),
        "rdv.services[0].motives[1].duration",
        "a duration in minutes, 5 to 480",
    ),
    "website-with-a-path": (
        lambda _s, d: d["rdv"].__setitem__("website", "https://www.ours.example.fr/accueil"),
        "rdv.website",
        "no path",
    ),
    "repeated-counter": (
        lambda s, _d: s["counters"].append({"name": "Guichet 1", "agents": ["marie.dupont"]}),
        "rdv.services[0].counters[1].name",
        "named twice",
    ),
    "booking-without-calendars": (
        lambda _s, d: d.__setitem__("services", ["drive", "rdv"]),
        "services[1]",
        "needs service calendars",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_bad_booking_section_is_refused(tmp_path: Path, case: str) -> None:
    change, field, expected = CASES[case]
    problems = _problems(tmp_path, change)
    assert any(p.startswith(f"{field}:") and expected in p for p in problems), problems


def test_the_demo_section_becomes_the_applications_configuration() -> None:
    from bastide.core.ansible import render as render_module

    inventory = load(DEMO)

    commune = render_module._commune_vars(inventory.commune(COMMUNE))
    config = filters.rdv_config(
        commune,
        0,
        5232,
        "_rdv",
        {"host": "127.0.0.1", "port": 25},
        {"search_per_minute": 60, "booking_per_hour": 10},
    )
    assert config["base_url"] == "https://rdv.ours-les-bains.example.fr"
    assert config["website"] == "https://www.ours-les-bains.example.fr"
    assert config["database"] == {
        "name": "ours_les_bains_rdv",
        "user": "ours_les_bains_rdv",
        "host": "/run/postgresql",
        "port": 5432,
    }
    assert config["caldav"] == {"url": "http://127.0.0.1:5232/", "user": "_rdv"}
    (service,) = config["services"]
    assert service["slug"] == "secretariat-de-mairie" and service["group"] == "service-secretariat-de-mairie"
    assert service["calendar"] == "services/secretariat-de-mairie/agenda/"
    assert service["counters"] == [{"slug": "guichet-1", "name": "Guichet 1", "agents": ["marie.dupont"]}]
    assert service["motives"][0] == {
        "slug": "carte-d-identite-depot",
        "name": "Carte d'identité – dépôt",
        "duration": 20,
        "counters": ["guichet-1"],
    }
    assert service["hours"]["monday"] == [["08:30", "12:00"], ["13:30", "17:00"]]
    assert service["hours"]["sunday"] == []
    assert service["closures"] == [
        {"start": "2026-12-24", "end": "2026-12-26", "reason": "Fermeture de fin d'année"}
    ]
    assert (service["horizon_days"], service["notice_hours"]) == (60, 24)
    assert (config["retention_days"], config["reminder_hours"]) == (30, 24)
    other = render_module._commune_vars(inventory.commune("saint-aubin-des-combes"))
    moselle = filters.rdv_config(other, 1, 5232, "_rdv", {"host": "127.0.0.1", "port": 25}, {})
    assert (
        moselle["commune"]["insee"].startswith("57") and moselle["caldav"]["url"] == "http://127.0.0.1:5233/"
    )
    assert moselle["website"] is None and moselle["retention_days"] == 30
