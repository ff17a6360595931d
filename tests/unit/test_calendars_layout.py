"""The commune calendars' layout (roles/calendars/filter_plugins/calendars.py): each instance's
user and port, the collections the role creates, and the rights file, read the way Radicale's
``from_file`` backend reads it (first section whose user and collection match)."""

from __future__ import annotations

import configparser
import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bastide.core.ansible.render import render
from bastide.core.inventory import load

REPO = Path(__file__).resolve().parents[2]
SYNDICAT = REPO / "tests" / "fixtures" / "syndicat"
PLUGIN = REPO / "roles" / "calendars" / "filter_plugins" / "calendars.py"


def _plugin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("calendars_filters", PLUGIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


calendars = _plugin()


def rendered_commune(slug: str) -> dict[str, Any]:
    inventory = load(SYNDICAT)
    host = inventory.commune(slug).host
    communes = render(inventory)["all"]["hosts"][host]["bastide_communes"]
    return next(c for c in communes if c["slug"] == slug)


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    """Ours-les-Bains of the tests' syndicat: Marie Dupont (Secrétariat de mairie), Karim Benali
    (État civil), Sophie Lefèvre (Urbanisme), and three elected officials."""
    return rendered_commune("ours-les-bains")


AGENTS = ["marie.dupont", "karim.benali", "sophie.lefevre"]
ELUS = ["helene.martin", "paul.girard", "nadia.haddad"]


def rights_file(commune: dict[str, Any]) -> configparser.ConfigParser:
    """The rights file as the role's template writes it, parsed as Radicale parses it."""
    parser = configparser.ConfigParser()
    for section in calendars.calendars_rights(commune):
        parser[section["name"]] = {k: section[k] for k in ("user", "collection", "permissions")}
    return parser


def permissions(parser: configparser.ConfigParser, user: str, path: str) -> str:
    """radicale.rights.from_file.Rights.authorization (3.9.0), without groups (the role's
    authentication gives none)."""
    sane = path.strip("/")
    for name in parser.sections():
        section = parser[name]
        user_match = re.fullmatch(section["user"].format(), user)
        if user_match and re.fullmatch(
            section["collection"].format(*(re.escape(g) for g in user_match.groups()), user=re.escape(user)),
            sane,
        ):
            return section["permissions"]
    return ""


# ------------------------------------------------------------------ instances


def test_the_port_counts_every_commune_of_the_host_as_nginx_does() -> None:
    communes = [
        {"slug": "a", "services": ["drive"]},
        {"slug": "b", "services": ["drive", "calendars"]},
        {"slug": "c", "services": ["calendars"]},
    ]
    found = calendars.calendars_instances(communes, 5232)
    # nginx_sites (roles/nginx/defaults) uses the index among all bastide_communes.
    assert [(i["slug"], i["port"]) for i in found] == [("b", 5233), ("c", 5234)]
    assert [i["user"] for i in found] == ["calendars-b", "calendars-c"]


def test_a_long_slug_still_makes_a_linux_user_name() -> None:
    user = calendars.calendars_user("saint-aubin-des-combes-sur-le-lac")
    assert len(user) <= 32 and user.startswith("calendars-saint")
    assert user != calendars.calendars_user("saint-aubin-des-combes-sur-le-mont")


# ------------------------------------------------------------------ collections


def test_each_person_gets_an_agenda_and_contacts(ours: dict[str, Any]) -> None:
    found = {c["path"]: c["props"] for c in calendars.calendars_collections(ours)}
    for login in AGENTS + ELUS:
        assert found[f"{login}/"] is None
        assert found[f"{login}/agenda/"]["tag"] == "VCALENDAR"
        assert found[f"{login}/contacts/"]["tag"] == "VADDRESSBOOK"
    assert found["marie.dupont/agenda/"]["D:displayname"] == "Marie Dupont"


def test_each_service_gets_a_shared_agenda(ours: dict[str, Any]) -> None:
    found = {c["path"]: c["props"] for c in calendars.calendars_collections(ours)}
    assert found["services/urbanisme/agenda/"] == {
        "tag": "VCALENDAR",
        "D:displayname": "Agenda – Urbanisme",
        "C:supported-calendar-component-set": "VEVENT,VTODO",
    }
    assert {p for p in found if p.startswith("services/") and p.endswith("/agenda/")} == {
        "services/secretariat-de-mairie/agenda/",
        "services/etat-civil/agenda/",
        "services/urbanisme/agenda/",
    }


def test_parents_come_before_their_children(ours: dict[str, Any]) -> None:
    paths = [c["path"] for c in calendars.calendars_collections(ours)]
    for index, path in enumerate(paths):
        parent = path.rstrip("/").rpartition("/")[0]
        if parent:
            assert f"{parent}/" in paths[:index], path


def test_disabled_people_get_nothing(ours: dict[str, Any]) -> None:
    commune = {**ours, "agents": [{**a, "disabled": a["login"] == "sophie.lefevre"} for a in ours["agents"]]}
    paths = [c["path"] for c in calendars.calendars_collections(commune)]
    assert not [p for p in paths if "sophie.lefevre" in p or "urbanisme" in p]
    assert permissions(rights_file(commune), "sophie.lefevre", "sophie.lefevre/agenda") == ""


def test_reserved_logins_are_reported(ours: dict[str, Any]) -> None:
    assert calendars.calendars_reserved(ours) == []
    odd = {**ours, "elus": [*ours["elus"], {"name": "S", "login": "services", "mandate": "adjoint"}]}
    assert calendars.calendars_reserved(odd) == ["services"]


# ------------------------------------------------------------------ rights


def test_a_person_reads_and_writes_their_own_collections(ours: dict[str, Any]) -> None:
    parser = rights_file(ours)
    for login in AGENTS + ELUS:
        assert permissions(parser, login, "") == "R"
        assert permissions(parser, login, login) == "R"
        assert permissions(parser, login, f"{login}/agenda") == "rw"
        assert permissions(parser, login, f"{login}/contacts") == "rw"
        # A calendar they add themselves, which they may delete; no plain collection (W).
        assert permissions(parser, login, f"{login}/perso") == "rwD"
        assert "W" not in permissions(parser, login, f"{login}/perso/deeper")


def test_nobody_reads_anyone_elses_collections(ours: dict[str, Any]) -> None:
    parser = rights_file(ours)
    for login in AGENTS + ELUS:
        for other in AGENTS + ELUS:
            if other != login:
                for path in (other, f"{other}/agenda", f"{other}/contacts", f"{other}/perso"):
                    assert permissions(parser, login, path) == "", (login, path)


def test_a_services_agenda_is_its_members_alone(ours: dict[str, Any]) -> None:
    parser = rights_file(ours)
    assert permissions(parser, "sophie.lefevre", "services/urbanisme/agenda") == "rw"
    assert permissions(parser, "sophie.lefevre", "services") == "R"
    for login in ["marie.dupont", "karim.benali", *ELUS]:
        assert permissions(parser, login, "services/urbanisme/agenda") == "", login
        assert permissions(parser, login, "services/urbanisme") == "", login


def test_unknown_and_anonymous_users_get_nothing(ours: dict[str, Any]) -> None:
    parser = rights_file(ours)
    for user in ("", "stranger", "marie", "marie.dupontx", "marie-dupont", ".*"):
        for path in ("", "marie.dupont/agenda", "services", "services/urbanisme/agenda", user):
            assert permissions(parser, user, path) == "", (user, path)


def test_the_booking_application_writes_agents_and_services_agendas(ours: dict[str, Any]) -> None:
    parser = rights_file(ours)
    rdv = calendars.RDV_USER
    for login in AGENTS:
        assert permissions(parser, rdv, f"{login}/agenda") == "rw"
        assert permissions(parser, rdv, f"{login}/contacts") == ""
    for slug in ("urbanisme", "etat-civil", "secretariat-de-mairie"):
        assert permissions(parser, rdv, f"services/{slug}/agenda") == "rw"
    for login in ELUS:
        assert permissions(parser, rdv, f"{login}/agenda") == ""


def test_the_booking_applications_login_is_no_directory_login() -> None:
    from bastide.core.inventory import formats

    with pytest.raises(formats.Invalid):
        formats.login(calendars.RDV_USER)
