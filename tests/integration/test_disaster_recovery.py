"""Disaster recovery on the deployed lab: the identity host is lost with its disk — the
syndicat's directory and login portal, and the communes it serves — a fresh server takes its
place (same name and address, the base system only, a new host key), bastide deploys it and
restores from the backups on the lab's S3 its communes whole and every other commune's people.

Before the disaster agents put data in every service with real clients: a document on the drive
(WebDAV) and an event in their agenda (CalDAV); the booking has its database; an agent of a
commune served by the other server has their own password too. Afterwards every file is byte
for byte and every table row for row as the manifests recorded, both agents log in on the fresh
portal with their own passwords and find their documents in the browser, `bastide verify`
passes, and the time from the loss to the last restore (the RTO) is written to
``BASTIDE_TEST_ARTIFACTS``/backup/disaster-recovery.json. A fresh server refuses to back its
empty services up over the backups until it has restored them.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import caldav
import pytest

from lab_browser import (
    ARTIFACTS,
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
from lab_fixtures import Env, bastide

pytestmark = pytest.mark.usefixtures("converged")

RUN = int(time.time())
# An agent of a commune the identity host serves, and one of a commune on the other server
# (only their people were on the lost host).
AGENTS = {"ours-les-bains": "sophie.lefevre", "anse-aux-ours": "joel.saint-prix"}
COMMUNE, AGENT = "ours-les-bains", AGENTS["ours-les-bains"]
BODY = f"Registre des arrêtés du maire — {RUN}\n".encode() * 4096


def _password(commune: str) -> str:
    return f"Reprise-{RUN}-{commune[:4].capitalize()}"


def _document(commune: str) -> str:
    return f"agents/{AGENTS[commune]}/registre-{RUN}.txt"


def _agenda(env: Env) -> Any:
    client = caldav.DAVClient(
        url=site(env, COMMUNE, "calendars") + "/dav/",
        username=AGENT,
        password=_password(COMMUNE),
        ssl_verify_cert=False,
    )
    return client.calendar(url=site(env, COMMUNE, "calendars") + f"/dav/{AGENT}/agenda/")


@pytest.fixture(scope="module")
def disaster(deploy_env: Env) -> Iterator[dict[str, Any]]:
    inventory_dir = deploy_env["BASTIDE_INVENTORY"]
    found = lab_inventory(deploy_env)
    assert found.identity is not None
    host = found.identity.host
    assert found.commune(COMMUNE).host == host and any(c.host != host for c in found.communes)
    address = str(found.host(host).address)
    communes = sorted(c.slug for c in found.communes if c.host == host)
    elsewhere = sorted(c.slug for c in found.communes if c.host != host)
    uid = f"bastide-dr-{RUN}-{uuid.uuid4()}"
    with lab_names(deploy_env):
        for commune, agent in AGENTS.items():
            first = one_time_password(deploy_env, commune, agent)
            change_password(deploy_env, commune, agent, first, _password(commune), service="drive")
            url = site(deploy_env, commune, "drive") + f"/dav/{_document(commune)}"
            status, _, _ = request(deploy_env, "PUT", url, body=BODY, auth=(agent, _password(commune)))
            assert status in (200, 201, 204), status
        _agenda(deploy_env).add_event(calendar_event(uid, "Conseil municipal"))
        backed = {
            slug: json.loads(bastide("backup", "run", inventory_dir, slug, "--json", env=deploy_env).stdout)
            for slug in communes + elsewhere
        }
        assert all(b["ok"] for b in backed.values()), backed

        # The disaster: the server and its disk are gone; the provider hands out a fresh one.
        lost = time.monotonic()
        bastide("lab", "replace", address)  # the lab's own state: the test process's environment
        fresh = subprocess.run(
            [*_lab_ssh(address), "test ! -e /var/lib/bastide-drive -a ! -e /var/lib/ldap/data.mdb"],
            capture_output=True,
            check=False,
        )
        assert fresh.returncode == 0, "the fresh server holds nothing of the old one"
        # Its new host key replaces the old one's (what a DSI does for a new server).
        subprocess.run(["ssh-keygen", "-q", "-f", str(Path(inventory_dir) / "known_hosts"), "-R", address],
                       check=True, capture_output=True)  # fmt: skip
        began = time.monotonic()
        bastide("deploy", inventory_dir, "--limit", host, env=deploy_env)
        deployed = time.monotonic()
        early = bastide("backup", "run", inventory_dir, COMMUNE, "--json", env=deploy_env, check=False)
        # Everything it held: its communes whole, and the others' people (their branches of the
        # directory), each from its commune's backups.
        back = json.loads(bastide("restore", inventory_dir, "--host", host, "--json", env=deploy_env).stdout)
        restored = back["communes"]
        done = time.monotonic()
        timings = {
            "host": host,
            "communes": communes,
            "people_of": elsewhere,
            "replace_seconds": round(began - lost, 1),
            "deploy_seconds": round(deployed - began, 1),
            "restore_seconds": round(done - deployed, 1),
            "rto_seconds": round(done - lost, 1),
            # What each commune's restore took on the server, as `bastide restore` reports it.
            "restored_seconds": {slug: report.get("seconds") for slug, report in restored.items()},
        }
        (ARTIFACTS / "backup").mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "backup" / "disaster-recovery.json").write_text(json.dumps(timings, indent=1) + "\n")
        print(f"\ndisaster recovery of {host}: {timings}")
        yield {"host": host, "uid": uid, "backed": backed, "early": early, "restored": restored,
               "elsewhere": elsewhere, **timings}  # fmt: skip


def _lab_ssh(address: str) -> list[str]:
    from bastide.core.lab import Lab

    return Lab().ssh_argv(address)


def test_a_fresh_server_refuses_to_back_up_before_its_restore(disaster: dict[str, Any]) -> None:
    early = disaster["early"]
    assert early.returncode != 0, early.stdout
    assert "bastide restore" in early.stdout + early.stderr, early.stderr


def test_every_service_of_every_commune_comes_back_as_recorded(
    deploy_env: Env, disaster: dict[str, Any]
) -> None:
    found = lab_inventory(deploy_env)
    for slug in [*disaster["communes"], *disaster["elsewhere"]]:
        services = disaster["restored"][slug]["services"]
        whole = slug in disaster["communes"]
        expected = {*found.commune(slug).services, "directory"} if whole else {"directory"}
        assert set(services) == expected, services
        for name, report in services.items():
            assert report["identical"], (slug, name, report)
            assert report["snapshot"].startswith(disaster["backed"][slug]["services"][name]["snapshot"])
        assert services["directory"]["records"] > 0
        if whole:
            assert services["drive"]["files"] > 0 and services["calendars"]["files"] > 0
            assert services["rdv"]["tables"] > 5
        assert 0 < disaster["restored"][slug]["seconds"] <= disaster["restore_seconds"]
    assert set(disaster["restored"]) == {*disaster["communes"], *disaster["elsewhere"]}
    assert 0 < disaster["restore_seconds"] < disaster["rto_seconds"]


def test_the_agents_log_in_with_their_passwords_and_find_their_data(
    deploy_env: Env, disaster: dict[str, Any]
) -> None:
    with lab_names(deploy_env):
        url = site(deploy_env, COMMUNE, "drive") + f"/dav/{_document(COMMUNE)}"
        status, body, _ = request(deploy_env, "GET", url, auth=(AGENT, _password(COMMUNE)))
        assert status == 200 and hashlib.sha256(body).digest() == hashlib.sha256(BODY).digest()
        assert "Conseil municipal" in _agenda(deploy_env).get_event_by_uid(disaster["uid"]).data
    # On the fresh portal, which knows their passwords only from the backups.
    for commune, agent in AGENTS.items():
        browser = Browser(deploy_env, f"after-the-disaster-{commune}", "backup")
        try:
            browser.open(site(deploy_env, commune, "drive") + f"/agents/{agent}/")
            browser.login(agent, _password(commune))
            name = _document(commune).rsplit("/", 1)[-1]
            assert name in wait_text(browser, name), commune
            browser.shot("the-document-is-there")
        finally:
            browser.quit()


def test_verify_passes_after_the_recovery(deploy_env: Env, disaster: dict[str, Any]) -> None:
    bastide("verify", deploy_env["BASTIDE_INVENTORY"], env=deploy_env)


def test_backups_go_on_from_the_fresh_server(deploy_env: Env, disaster: dict[str, Any]) -> None:
    for slug in (COMMUNE, *disaster["elsewhere"]):
        result = bastide("backup", "run", deploy_env["BASTIDE_INVENTORY"], slug, "--json", env=deploy_env)
        assert json.loads(result.stdout)["ok"], slug
