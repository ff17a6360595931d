"""Every commune service, as its contract declares it (docs/service-contract.md): its units
run with their memory limit, its upstream answers its health path on the host only, and
refuses a request that did not come through nginx: a local user who is not the web server
either cannot reach the upstream at all (a socket only nginx may open) or gets refused for
identity headers without the commune's secret header."""

from __future__ import annotations

import json
import shlex
from typing import Any

# Runs on the host: one request to an upstream (unix socket or 127.0.0.1 port).
_PROBE = r"""
import http.client, json, socket, sys
target, path, headers = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if target.startswith("/"):
    conn = http.client.HTTPConnection("localhost", timeout=10)
    conn.sock = socket.socket(socket.AF_UNIX); conn.sock.settimeout(10)
    try:
        conn.sock.connect(target)
    except PermissionError:
        print(json.dumps({"status": "unreachable", "body": ""})); sys.exit(0)
else:
    conn = http.client.HTTPConnection("127.0.0.1", int(target), timeout=10)
conn.request("GET", path, headers=headers)
resp = conn.getresponse()
print(json.dumps({"status": resp.status, "body": resp.read().decode("utf-8", "replace")[:2000]}))
"""


def _instances(
    hostvars: dict[str, Any], communes: list[dict[str, Any]]
) -> list[tuple[str, str, dict[str, Any], str]]:
    """(commune slug, service, contract, upstream target) for each service of each commune."""
    services = hostvars["bastide_services"]
    found = []
    for index, commune in enumerate(communes):
        for service in commune["services"]:
            contract = services[service]
            upstream = contract["upstream"]
            target = (
                upstream["socket"].replace("{commune}", commune["slug"])
                if upstream.get("socket")
                else str(int(upstream["port"]) + index)
            )
            found.append((commune["slug"], service, contract, target))
    return found


def _ask(
    host: Any, target: str, path: str, headers: dict[str, str] | None = None, *, as_user: str = "root"
) -> dict[str, Any]:
    args = " ".join(shlex.quote(a) for a in (target, path, json.dumps(headers or {})))
    run_as = "" if as_user == "root" else f"runuser -u {as_user} -- "
    with host.sudo():
        return json.loads(host.check_output(f"{run_as}python3 -c {shlex.quote(_PROBE)} {args}"))


def test_units_run_with_their_memory_limit(
    host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]
) -> None:
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    for slug, service, contract, _target in _instances(hostvars, communes):
        for unit in contract["units"]:
            name = unit["name"].replace("{commune}", slug)
            shown = dict(
                line.split("=", 1)
                for line in host.check_output(
                    f"systemctl show -p ActiveState -p MemoryMax {shlex.quote(name)}"
                ).splitlines()
            )
            assert shown["ActiveState"] == "active", f"{service} of {slug}: {name} is {shown['ActiveState']}"
            limit = unit["memory_max"]
            assert int(shown["MemoryMax"]) == int(limit[:-1]) * units[limit[-1]], (name, shown["MemoryMax"])


def test_upstreams_answer_their_health_path(
    host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]
) -> None:
    for slug, service, contract, target in _instances(hostvars, communes):
        answer = _ask(host, target, contract["health"])
        assert answer["status"] == 200, f"{service} of {slug} ({target}{contract['health']}): {answer}"


def test_upstreams_listen_on_the_host_only(
    host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]
) -> None:
    listening = host.check_output("ss -Htln").split()
    for slug, service, _contract, target in _instances(hostvars, communes):
        if target.startswith("/"):
            continue
        exposed = [
            word
            for word in listening
            if word.endswith(f":{target}") and not word.startswith(("127.", "[::1]"))
        ]
        assert not exposed, f"{service} of {slug} listens on {exposed}: upstreams listen on 127.0.0.1 only"


def test_upstreams_refuse_forged_identity_headers(
    host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]
) -> None:
    for slug, service, _contract, target in _instances(hostvars, communes):
        forged = {
            "Remote-User": "admin",
            "Remote-Groups": slug,
            "Remote-Email": "admin@example.org",
            "X-Bastide-Secret": "guess",
        }
        # Any local user but root and nginx: nobody.
        answer = _ask(host, target, "/", forged, as_user="nobody")
        assert answer["status"] in ("unreachable", 401, 403), (
            f"{service} of {slug} accepted forged headers: {answer}"
        )
        assert "admin@example.org" not in answer["body"]
