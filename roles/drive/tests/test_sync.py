"""Device sync (docs/sync.md): each commune's Syncthing hub runs sandboxed as the commune's drive
user, answers its REST API on a unix socket only, has the identity the keyring holds, reaches
the world only through the syndicat's relay and discovery servers (no public discovery, relays,
NAT traversal, usage or crash reports), and shares with each enrolled device exactly the folders
its agent may write, with bounded versioning.

Expected values come from the inventory (the ``hostvars`` fixture) and the keyring (the run's key
agent: only certificates' digests are kept), never from the hub itself.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from bastide.core.sync.ids import device_id

ROLE = Path(__file__).resolve().parents[1]
ROOT = "/var/lib/bastide-drive"
RUN = "/run/bastide-drive-sync"
IDENTITY = "drive-sync-identity"
SERVERS_SCOPE = "_syndicat"
DISCOVERY_IDENTITY = "drive-discovery-identity"
RELAY_IDENTITY = "drive-relay-identity"
PORTS = {"discovery": 8443, "relay": 22067}


def _layout() -> Any:
    """The drive role's own filter plugin: the same drive_user and drive_folders as the role."""
    spec = importlib.util.spec_from_file_location(
        "bastide_drive_filters", ROLE / "filter_plugins" / "drive.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LAYOUT = _layout()

# Runs on the host as root: the hub's configuration, status and connections over its REST API
# (unix socket, API key from its config.xml); prints them as JSON.
_REST_PROBE = r"""
import http.client, json, socket, sys
import xml.etree.ElementTree as ET
home, path = sys.argv[1:3]
key = ET.parse(home + "/config.xml").findtext("gui/apikey")
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(path)
out = {}
for name in ("config", "system/status", "system/connections"):
    conn = Conn("localhost")
    conn.request("GET", "/rest/" + name, headers={"X-API-Key": key})
    out[name] = json.loads(conn.getresponse().read())
print(json.dumps(out))
"""


def _hubs(communes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in communes if "drive" in c["services"]]


@pytest.fixture()
def hubs(communes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = _hubs(communes)
    if not found:
        pytest.skip("no commune of this host runs the drive")
    return found


@pytest.fixture()
def servers(hostvars: dict[str, Any]) -> dict[str, str]:
    """The relay's and the discovery server's URLs, as the hubs must have them."""
    from bastide.core.keys.agent import fetch

    sync_host = hostvars["bastide_service_settings"]["drive"]["sync_host"]
    address = next(h["address"] for h in hostvars["bastide_hosts"] if h["name"] == sync_host)
    address = f"[{address}]" if ":" in address else address
    relay = device_id(fetch(SERVERS_SCOPE, RELAY_IDENTITY))
    disco = device_id(fetch(SERVERS_SCOPE, DISCOVERY_IDENTITY))
    return {
        "relay": f"relay://{address}:{PORTS['relay']}/?id={relay}",
        "discovery": f"https://{address}:{PORTS['discovery']}/?id={disco}",
        "relay_host": f"{address}:{PORTS['relay']}",
    }


def _rest(host: Any, slug: str) -> dict[str, Any]:
    home, sock = f"{ROOT}/{slug}/syncthing", f"{RUN}/{slug}/gui.sock"
    with host.sudo():
        return json.loads(host.check_output(f"python3 -c {shlex.quote(_REST_PROBE)} {home} {sock}"))


def _active(commune: dict[str, Any]) -> set[str]:
    return {p["login"] for p in [*commune["agents"], *commune["elus"]] if not p.get("disabled")}


def test_hubs_run_sandboxed_as_the_communes_users(host: Any, hubs: list[dict[str, Any]]) -> None:
    for commune in hubs:
        unit = f"bastide-drive-sync@{commune['slug']}.service"
        assert host.service(unit).is_running and host.service(unit).is_enabled, unit
        shown = host.check_output(
            f"systemctl show -p ProtectSystem,NoNewPrivileges,PrivateTmp,User,MemoryMax {unit}"
        )
        values = dict(line.split("=", 1) for line in shown.splitlines())
        assert values["ProtectSystem"] == "strict", values
        assert values["NoNewPrivileges"] == "yes" and values["PrivateTmp"] == "yes", values
        assert values["User"] == LAYOUT.drive_user(commune["slug"]), values
        assert values["MemoryMax"] not in ("", "infinity"), values


def test_api_on_a_private_unix_socket_only(host: Any, hubs: list[dict[str, Any]]) -> None:
    for commune in hubs:
        slug, user = commune["slug"], LAYOUT.drive_user(commune["slug"])
        sock = host.file(f"{RUN}/{slug}/gui.sock")
        with host.sudo():
            assert sock.is_socket and sock.user == user and sock.mode & 0o077 == 0, (
                f"{sock.path}: {sock.mode:o}"
            )
            assert host.file(f"{RUN}/{slug}").mode & 0o077 == 0
            pid = host.check_output(f"systemctl show -P MainPID bastide-drive-sync@{slug}.service")
            pids = host.check_output(f"pgrep -u {user} -x syncthing || true").split()
            listening = host.check_output("ss -H -ltunp").splitlines()
        mine = [line for line in listening if any(f"pid={p}," in line for p in {pid, *pids})]
        assert mine == [], f"the hub of {slug} listens on the network: {mine}"


def test_identity_is_the_keyring_one(host: Any, hubs: list[dict[str, Any]]) -> None:
    from bastide.core.keys.agent import fetch

    for commune in hubs:
        expected = device_id(fetch(commune["slug"], IDENTITY))
        assert _rest(host, commune["slug"])["system/status"]["myID"] == expected, commune["slug"]


def test_only_the_syndicats_relay_and_discovery(
    host: Any, hubs: list[dict[str, Any]], servers: dict[str, str]
) -> None:
    for commune in hubs:
        rest = _rest(host, commune["slug"])
        options = rest["config"]["options"]
        # The messages name what the inventory says: a hub out of step with it is told apart.
        assert options["listenAddresses"] == [servers["relay"]], (
            f"the hub listens on {options['listenAddresses']}, "
            f"not only on the syndicat's relay {servers['relay']}"
        )
        assert options["globalAnnounceServers"] == [servers["discovery"]], (
            f"the hub announces to {options['globalAnnounceServers']}, "
            f"not only to the syndicat's {servers['discovery']}"
        )
        assert options["globalAnnounceEnabled"] is True and options["relaysEnabled"] is True
        assert options["localAnnounceEnabled"] is False, "local discovery is on"
        assert options["natEnabled"] is False, "NAT traversal (UPnP, STUN) is on"
        assert options["urAccepted"] == -1, "usage reporting is not refused"
        assert options["crashReportingEnabled"] is False, "crash reporting is on"
        assert options["autoUpgradeIntervalH"] == 0, "automatic upgrades are on"
        for device in rest["config"]["devices"]:
            assert set(device["addresses"]) <= {"dynamic"}, f"{device['deviceID']}: {device['addresses']}"
        for peer, state in rest["system/connections"]["connections"].items():
            if state.get("connected"):
                assert state["type"].startswith("relay"), f"{peer} is connected directly: {state}"
                assert state["address"] == servers["relay_host"], (
                    f"{peer} through {state['address']}, not the syndicat's relay {servers['relay_host']}"
                )


def test_devices_get_exactly_what_their_agent_writes(host: Any, hubs: list[dict[str, Any]]) -> None:
    for commune in hubs:
        slug = commune["slug"]
        enrolled = [d for d in commune["settings"]["drive"]["devices"] if d["agent"] in _active(commune)]
        config = _rest(host, slug)["config"]
        me = _rest(host, slug)["system/status"]["myID"]
        assert {d["deviceID"] for d in config["devices"] if d["deviceID"] != me} == {
            d["id"] for d in enrolled
        }
        expected: dict[str, set[str]] = {}
        for folder in LAYOUT.drive_folders(commune):
            ids = {d["id"] for d in enrolled if d["agent"] in folder["writers"]}
            if ids:
                expected[folder["id"]] = ids
        found = {f["id"]: {d["deviceID"] for d in f["devices"]} - {me} for f in config["folders"]}
        assert found == expected, f"{slug}: folders shared {found}, expected {expected}"
        by_id = {f["id"]: f for f in LAYOUT.drive_folders(commune)}
        for folder in config["folders"]:
            assert folder["path"] == f"{ROOT}/{slug}/files/{by_id[folder['id']]['path']}", folder["path"]
            assert folder["type"] == "sendreceive"
            versioning = folder["versioning"]
            assert versioning["type"] == "staggered", versioning
            assert 0 < int(versioning["params"]["maxAge"]) <= 366 * 86400, "versions kept without bound"
            assert versioning["fsPath"].startswith(f"{ROOT}/{slug}/syncthing/"), versioning["fsPath"]


def test_home_and_identity_private(host: Any, hubs: list[dict[str, Any]]) -> None:
    for commune in hubs:
        slug, user = commune["slug"], LAYOUT.drive_user(commune["slug"])
        with host.sudo():
            home = host.file(f"{ROOT}/{slug}/syncthing")
            assert home.user == user and home.mode == 0o700, f"{home.path}: {home.user} {home.mode:o}"
            key = host.file(f"{ROOT}/{slug}/syncthing/key.pem")
            assert key.user == "root" and key.group == user and key.mode == 0o640, f"{key.mode:o}"
            config = host.file(f"{ROOT}/{slug}/syncthing/config.xml")
            assert config.mode & 0o077 == 0, f"config.xml (API key): {config.mode:o}"
