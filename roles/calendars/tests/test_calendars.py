"""The commune calendars' checks (bastide verify): each commune's Radicale runs sandboxed as its
own user from the pinned virtual environment, its storage is that user's alone and holds every
person's and service's collections, and its port believes an identity only beside the
commune's secret, and then only for what the rights file gives."""

from __future__ import annotations

import importlib.util
import json
import shlex
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location(
    "bastide_calendars_filters", Path(__file__).resolve().parents[1] / "filter_plugins" / "calendars.py"
)
assert _spec is not None and _spec.loader is not None
layout = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layout)

ROOT = "/var/lib/bastide-calendars"
VERSION = "3.9.0"
UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3}
# Nobody of the inventory: a login no right names.
STRANGER = "bastide-verify-stranger"

# Runs on the host: PROPFIND requests to one instance; the commune's secret, when the check
# has it, is the first line of standard input (with_secret), never in a command line.
_PROBE = r"""
import http.client, json, sys
port, requests = int(sys.argv[1]), json.loads(sys.argv[2])
secret = sys.stdin.readline().strip() if sys.argv[3] == "secret" else ""
answers = []
for login, path in requests:
    headers = {"Depth": "0", "Remote-User": login}
    if secret:
        headers["X-Bastide-Secret"] = secret
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("PROPFIND", path, headers=headers)
    resp = conn.getresponse()
    answers.append([login, path, resp.status, resp.read().decode("utf-8", "replace")[:500]])
    conn.close()
print(json.dumps(answers))
"""


def _instances(hostvars: dict[str, Any], communes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = layout.calendars_instances(
        communes, hostvars["bastide_services"]["calendars"]["upstream"]["port"]
    )
    if not found:
        pytest.skip("no commune of this host runs the calendars")
    return found


def _shown(host: Any, unit: str, *properties: str) -> dict[str, str]:
    flags = " ".join(f"-p {p}" for p in properties)
    shown = host.check_output(f"systemctl show {flags} {unit}")
    return dict(line.split("=", 1) for line in shown.splitlines())


def test_each_instance_runs_sandboxed_as_its_communes_user(
    host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]
) -> None:
    limit = next(
        u["memory_max"] for u in hostvars["bastide_services"]["calendars"]["units"]
        if u["name"].startswith("bastide-calendars@")
    )  # fmt: skip
    for instance in _instances(hostvars, communes):
        shown = _shown(
            host, f"bastide-calendars@{instance['slug']}.service",
            "User", "ActiveState", "ProtectSystem", "ProtectHome", "PrivateTmp", "NoNewPrivileges",
            "CapabilityBoundingSet", "RestrictAddressFamilies", "MemoryMax", "StateDirectory",
            "ReadWritePaths",
        )  # fmt: skip
        families = shown.pop("RestrictAddressFamilies")
        assert shown == {
            "User": instance["user"],
            "ActiveState": "active",
            "ProtectSystem": "strict",
            "ProtectHome": "yes",
            "PrivateTmp": "yes",
            "NoNewPrivileges": "yes",
            "CapabilityBoundingSet": "",
            "MemoryMax": str(int(limit[:-1]) * UNITS[limit[-1]]),
            # ProtectSystem=strict: its storage is all it may write.
            "StateDirectory": f"bastide-calendars/{instance['slug']}",
            "ReadWritePaths": "",
        }, instance["slug"]
        # IPv4 on the loopback, and the journal's socket; systemd lists them in its own order.
        assert set(families.split()) == {"AF_INET", "AF_UNIX"}, instance["slug"]


def test_each_instance_listens_on_its_port_on_the_loopback_only(
    hostvars: dict[str, Any], communes: list[dict[str, Any]], assert_loopback_only: Any
) -> None:
    for instance in _instances(hostvars, communes):
        assert_loopback_only(instance["port"], f"the calendars of {instance['slug']}")


def test_radicale_is_the_pinned_release(
    host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]
) -> None:
    _instances(hostvars, communes)
    shown = host.check_output("/opt/bastide-calendars/venv/bin/python -m pip show radicale")
    assert f"Version: {VERSION}" in shown.splitlines()


def test_each_storage_is_private_to_its_communes_user(
    host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]
) -> None:
    with host.sudo():
        for instance in _instances(hostvars, communes):
            storage = host.file(f"{ROOT}/{instance['slug']}")
            assert storage.is_directory, storage.path
            assert (storage.user, storage.group, storage.mode) == (instance["user"], instance["user"], 0o700)
            secret = host.file(f"/etc/bastide-calendars/{instance['slug']}/secret")
            assert (secret.user, secret.mode) == ("root", 0o600), secret.path


def test_every_person_and_service_has_its_collections(
    host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]
) -> None:
    with host.sudo():
        for instance in _instances(hostvars, communes):
            base = f"{ROOT}/{instance['slug']}/collection-root"
            for collection in layout.calendars_collections(instance["commune"]):
                if collection["props"] is None:
                    assert host.file(f"{base}/{collection['path']}").is_directory, collection["path"]
                    continue
                props = json.loads(host.file(f"{base}/{collection['path']}.Radicale.props").content_string)
                assert props["tag"] == collection["props"]["tag"], (instance["slug"], collection["path"])
                assert host.file(f"{base}/{collection['path']}").user == instance["user"]


def _ask(host: Any, port: int, requests: list[tuple[str, str]]) -> list[list[Any]]:
    args = " ".join(shlex.quote(a) for a in (str(port), json.dumps(requests), "none"))
    return json.loads(host.check_output(f"python3 -c {shlex.quote(_PROBE)} {args}"))


def _people(commune: dict[str, Any]) -> list[str]:
    return [
        p["login"] for p in [*commune.get("agents", []), *commune.get("elus", [])] if not p.get("disabled")
    ]


def test_an_identity_without_the_secret_is_refused(
    host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]
) -> None:
    for instance in _instances(hostvars, communes):
        for login in _people(instance["commune"])[:2]:
            for _login, path, status, _body in _ask(host, instance["port"], [(login, f"/{login}/agenda/")]):
                assert status in (401, 403), (
                    f"{instance['slug']}: {path} without the secret answered {status}"
                )


def test_the_secret_opens_only_what_the_rights_give(
    hostvars: dict[str, Any], communes: list[dict[str, Any]], with_secret: Any
) -> None:
    for instance in _instances(hostvars, communes):
        commune = instance["commune"]
        people = _people(commune)
        requests = [(STRANGER, "/"), (STRANGER, f"/{STRANGER}/")]
        requests += [(STRANGER, f"/{login}/agenda/") for login in people]
        requests += [(STRANGER, f"/services/{s['slug']}/agenda/") for s in layout.calendars_services(commune)]
        # The rights do open a person's own agenda: the secret is the one the instance has.
        requests += [(login, f"/{login}/agenda/") for login in people[:1]]
        answers = with_secret(
            instance["slug"], "sso-header", _PROBE, str(instance["port"]), json.dumps(requests), "secret"
        )
        for login, path, status, body in answers:
            if login == STRANGER:
                assert status in (401, 403, 404), (
                    f"{instance['slug']}: {STRANGER} got {status} on {path}: {body}"
                )
            else:
                assert status == 207, f"{instance['slug']}: {login} got {status} on their own {path}: {body}"
