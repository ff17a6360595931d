"""The commune calendars on the deployed lab, through the real TLS front door, with real
clients: an agent's CalDAV client (the caldav library, the directory password over HTTP Basic)
writes and reads events in their own agenda and in their service's; another agent of the same
commune sees neither; someone of another commune is refused; a contact goes into the address
book (CardDAV); clients find the server from /.well-known/; the web interface opens with the
portal's session in a browser; bastide verify runs the calendars' checks.

Screenshots are kept under ``BASTIDE_TEST_ARTIFACTS``/calendars.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import caldav
import pytest

from lab_browser import (
    Browser,
    calendar_event,
    change_password,
    lab_names,
    one_time_password,
    request,
    site,
    wait_text,
)
from lab_browser import inventory as lab_inventory
from lab_fixtures import Env, admin_host, bastide

pytestmark = pytest.mark.lab

OURS = "ours-les-bains"
AGENT = "sophie.lefevre"  # Urbanisme, Ours-les-Bains
AGENT_NAME = "Sophie Lefèvre"
SERVICE = "urbanisme"
OTHER_AGENT = "marie.dupont"  # Secrétariat de mairie, Ours-les-Bains: not in Urbanisme
OTHER_COMMUNE, STRANGER = "anse-aux-ours", "fabienne.louis-joseph"
RUN = int(time.time())
PASSWORD = f"Agendas-{RUN}-Ours"
STORE = "/var/lib/bastide-calendars"

_passwords: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _converged(converged: None) -> None:
    """The calendars of every host: all of them deployed (lab_fixtures.converged)."""


@pytest.fixture(scope="module", autouse=True)
def _lab_names(deploy_env: Env, _converged: None) -> Iterator[None]:
    """The CalDAV client resolves the lab's sites to the lab hosts, as a DNS server would."""
    with lab_names(deploy_env):
        yield


def _password(env: Env, commune: str, login: str) -> str:
    """The person's own password: their one-time password changed on the portal, once."""
    if login not in _passwords:
        change_password(
            env, commune, login, one_time_password(env, commune, login), PASSWORD, service="calendars"
        )
        _passwords[login] = PASSWORD
    return _passwords[login]


def _agenda(env: Env, commune: str = OURS) -> str:
    return site(env, commune, "calendars")


def _client(env: Env, commune: str, login: str) -> Any:
    return caldav.DAVClient(
        url=_agenda(env, commune) + "/dav/",
        username=login,
        password=_password(env, commune, login),
        ssl_verify_cert=False,
    )


def _propfind(env: Env, url: str, auth: tuple[str, str]) -> int:
    status, _body, _headers = request(env, "PROPFIND", url, headers={"Depth": "0"}, auth=auth)
    return status


def test_clients_find_the_server_from_the_sites_name(deploy_env: Env) -> None:
    base = _agenda(deploy_env)
    for path in ("/.well-known/caldav", "/.well-known/carddav"):
        status, _body, headers = request(deploy_env, "GET", base + path)
        assert status == 301, (path, status)
        assert headers["location"].endswith("/dav/"), headers["location"]


def test_an_agent_writes_and_reads_their_own_agenda(deploy_env: Env) -> None:
    client = _client(deploy_env, OURS, AGENT)
    principal = client.principal()
    calendars = {str(c.url).rstrip("/").rsplit("/", 1)[-1]: c for c in principal.get_calendars()}
    assert "agenda" in calendars, list(calendars)
    assert calendars["agenda"].get_display_name() == AGENT_NAME
    uid = f"bastide-own-{RUN}-{uuid.uuid4()}"
    calendars["agenda"].add_event(calendar_event(uid, "Réunion de chantier"))
    found = client.calendar(url=_agenda(deploy_env) + f"/dav/{AGENT}/agenda/").get_event_by_uid(uid)
    assert "Réunion de chantier" in found.data


def test_an_agent_writes_and_reads_their_services_agenda(deploy_env: Env) -> None:
    client = _client(deploy_env, OURS, AGENT)
    shared = client.calendar(url=_agenda(deploy_env) + f"/dav/services/{SERVICE}/agenda/")
    assert shared.get_display_name() == "Agenda – Urbanisme"
    uid = f"bastide-service-{RUN}-{uuid.uuid4()}"
    shared.add_event(calendar_event(uid, "Permanence urbanisme"))
    assert "Permanence urbanisme" in shared.get_event_by_uid(uid).data
    host = admin_host(deploy_env, lab_inventory(deploy_env).commune(OURS).host)
    with host.sudo():
        stored = host.check_output(
            f"grep -rl {uid} {STORE}/{OURS}/collection-root/services/{SERVICE}/agenda/"
        )
    assert stored.strip().endswith(".ics"), stored


def test_another_agent_sees_neither_the_service_nor_the_person(deploy_env: Env) -> None:
    base = _agenda(deploy_env) + "/dav"
    auth = (OTHER_AGENT, _password(deploy_env, OURS, OTHER_AGENT))
    for path in (f"/services/{SERVICE}/agenda/", f"/{AGENT}/agenda/", f"/{AGENT}/contacts/", f"/{AGENT}/"):
        assert _propfind(deploy_env, base + path, auth) in (403, 404), path
        status, body, _headers = request(deploy_env, "GET", base + path, auth=auth)
        assert status in (403, 404), (path, status)
        assert b"BEGIN:VEVENT" not in body
    # Their own agenda is theirs, through the same door.
    assert _propfind(deploy_env, base + f"/{OTHER_AGENT}/agenda/", auth) == 207


def test_someone_of_another_commune_is_refused(deploy_env: Env) -> None:
    base = _agenda(deploy_env) + "/dav"
    auth = (STRANGER, _password(deploy_env, OTHER_COMMUNE, STRANGER))
    for path in ("/", f"/{AGENT}/agenda/", f"/services/{SERVICE}/agenda/", f"/{STRANGER}/"):
        assert _propfind(deploy_env, base + path, auth) in (401, 403), path
    # Their own commune's calendars are theirs.
    own = _agenda(deploy_env, OTHER_COMMUNE) + f"/dav/{STRANGER}/agenda/"
    assert _propfind(deploy_env, own, auth) == 207


def test_a_wrong_password_is_refused(deploy_env: Env) -> None:
    url = _agenda(deploy_env) + f"/dav/{AGENT}/agenda/"
    assert _propfind(deploy_env, url, (AGENT, "not-the-password")) == 401


def test_a_contact_goes_into_the_address_book(deploy_env: Env) -> None:
    auth = (AGENT, _password(deploy_env, OURS, AGENT))
    uid = f"bastide-contact-{RUN}"
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        f"UID:{uid}\r\nFN:Entreprise Durand BTP\r\nN:Durand;;;;\r\n"
        "TEL;TYPE=work:+33 4 76 00 00 00\r\nEND:VCARD\r\n"
    )
    url = _agenda(deploy_env) + f"/dav/{AGENT}/contacts/{uid}.vcf"
    status, body, _headers = request(
        deploy_env, "PUT", url, body=card.encode(), headers={"Content-Type": "text/vcard"}, auth=auth
    )
    assert status == 201, (status, body[:300])
    status, body, _headers = request(deploy_env, "GET", url, auth=auth)
    assert status == 200 and b"Entreprise Durand BTP" in body


def test_the_web_interface_opens_with_the_portals_session(deploy_env: Env) -> None:
    password = _password(deploy_env, OURS, AGENT)
    base = _agenda(deploy_env)
    browser = Browser(deploy_env, "web", "calendars")
    try:
        browser.open(base + "/.web/")
        browser.login(AGENT, password)
        # Logged in by the session alone: the collections, without Radicale's own login form.
        text = wait_text(browser, AGENT_NAME, f"Contacts – {AGENT_NAME}", timeout=30)
        browser.shot("collections")
        assert AGENT_NAME in text and f"Contacts – {AGENT_NAME}" in text, text[:1000]
        origins = browser.origins()
        portal = lab_inventory(deploy_env).identity.portal
        assert origins <= {base, f"https://{portal}"}, f"the page contacted other origins: {origins}"
    finally:
        browser.shot("end")
        browser.quit()


def test_verify_runs_the_calendars_checks(deploy_env: Env) -> None:
    # The calendars' own checks; the other services' are test_deploy's concern.
    result = bastide("verify", deploy_env["BASTIDE_INVENTORY"], "--json", env=deploy_env, check=False)
    report = json.loads(result.stdout)
    ours = [c for c in report["checks"] if c["role"] == "calendars"]
    assert {c["outcome"] for c in ours} == {"passed"}, [c for c in ours if c["outcome"] != "passed"]
    assert {c["test"].split("[", 1)[0] for c in ours} >= {
        "test_each_instance_runs_sandboxed_as_its_communes_user",
        "test_every_person_and_service_has_its_collections",
        "test_an_identity_without_the_secret_is_refused",
        "test_the_secret_opens_only_what_the_rights_give",
    }
