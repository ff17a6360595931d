"""The syndicat's Syncthing discovery and relay servers run sandboxed, the relay joins no public
pool, its status page stays on loopback, and each server presents the identity the keyring
holds (the device ID clients are given by ``bastide sync enroll``).

Only the host the syndicat's drive settings name runs them (``bastide_syndicat_parts``); on
any other host these checks do not apply.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from bastide.core.sync.ids import device_id, from_digest

ROLE = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text("utf-8"))
UNITS = {"discovery": "bastide-drive-discovery.service", "relay": "bastide-drive-relay.service"}
PORTS = {"discovery": DEFAULTS["drive_relay_discovery_port"], "relay": DEFAULTS["drive_relay_relay_port"]}
MEMORY = {
    "discovery": DEFAULTS["drive_relay_discovery_memory_max"],
    "relay": DEFAULTS["drive_relay_relay_memory_max"],
}
SECRETS = {"discovery": DEFAULTS["drive_relay_discovery_identity_name"],
           "relay": DEFAULTS["drive_relay_relay_identity_name"]}  # fmt: skip
STATUS = f"http://{DEFAULTS['drive_relay_status_address']}:{DEFAULTS['drive_relay_status_port']}/status"

# Runs on the host: the DER certificate the server on 127.0.0.1:PORT presents, in base64. The
# relay speaks TLS with the ALPN "bep-relay" and asks for a client certificate but accepts a
# connection without one long enough to finish the handshake.
_CERT_PROBE = r"""
import base64, socket, ssl, sys
port, alpn = int(sys.argv[1]), sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if alpn != "none":
    ctx.set_alpn_protocols([alpn])
with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
    with ctx.wrap_socket(raw) as tls:
        print(base64.b64encode(tls.getpeercert(binary_form=True)).decode())
"""


def _to_bytes(size: str) -> int:
    return int(size[:-1]) * 1024 ** "KMG".index(size[-1].upper()) * 1024


@pytest.fixture()
def sync_host(hostvars: dict[str, Any]) -> None:
    name = hostvars.get("bastide_host", {}).get("name")
    parts = [p for p in hostvars.get("bastide_syndicat_parts", []) if p.get("role") == "drive_relay"]
    if not any(p.get("host") == name for p in parts):
        pytest.skip("not the syndicat's sync host: the discovery and relay servers do not run here")


@pytest.mark.parametrize("server", ["discovery", "relay"])
def test_units_active_with_their_memory_limit(host: Any, sync_host: None, server: str) -> None:
    unit = host.service(UNITS[server])
    assert unit.is_running and unit.is_enabled, f"{UNITS[server]} is not running and enabled"
    memory = host.check_output(f"systemctl show -P MemoryMax {UNITS[server]}")
    assert memory == str(_to_bytes(MEMORY[server])), f"{UNITS[server]}: MemoryMax={memory}"


@pytest.mark.parametrize("server", ["discovery", "relay"])
def test_sandboxed(host: Any, sync_host: None, server: str) -> None:
    properties = "ProtectSystem,NoNewPrivileges,PrivateTmp,User"
    shown = host.check_output(f"systemctl show -p {properties} {UNITS[server]}")
    values = dict(line.split("=", 1) for line in shown.splitlines())
    assert values["ProtectSystem"] == "strict", values
    assert values["NoNewPrivileges"] == "yes", values
    assert values["PrivateTmp"] == "yes", values
    user = DEFAULTS["drive_relay_discovery_user" if server == "discovery" else "drive_relay_relay_user"]
    assert values["User"] == user, values
    pid = host.check_output(f"systemctl show -P MainPID {UNITS[server]}")
    owner = host.check_output(f"ps -o user= -p {pid}")
    assert owner == user, f"{UNITS[server]} runs as {owner}"


def test_packaged_units_masked(host: Any, sync_host: None) -> None:
    for unit in ("syncthing-discosrv.service", "syncthing-relaysrv.service"):
        state = host.run(f"systemctl is-enabled {unit}").stdout.strip()
        assert state == "masked", f"{unit} is {state}: Debian's unit would join the public relay pool"
        assert not host.service(unit).is_running


def test_relay_private(host: Any, sync_host: None, assert_loopback_only: Any) -> None:
    pid = host.check_output(f"systemctl show -P MainPID {UNITS['relay']}")
    with host.sudo():
        argv = host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/cmdline").splitlines()
    assert "-pools=" in argv, f"strelaysrv's command line joins a pool: {argv}"
    assert not [a for a in argv if a.startswith("-pools=") and a != "-pools="], argv
    status = json.loads(host.check_output(f"python3 -c {shlex.quote(_STATUS_PROBE)} {shlex.quote(STATUS)}"))
    pools = [p for p in status["options"]["pools"] if p]
    assert pools == [], f"the relay announces itself to {pools}"
    assert_loopback_only(DEFAULTS["drive_relay_status_port"], "the relay's status page")


_STATUS_PROBE = """
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())
"""


@pytest.mark.parametrize("server", ["discovery", "relay"])
def test_served_identity_is_the_keyring_one(host: Any, sync_host: None, server: str) -> None:
    from bastide.core.keys.agent import fetch

    alpn = "bep-relay" if server == "relay" else "none"
    served = host.check_output(f"python3 -c {shlex.quote(_CERT_PROBE)} {PORTS[server]} {alpn}")
    served_id = from_digest(hashlib.sha256(base64.b64decode(served)).digest())
    # The keyring's value holds the private key too: only its certificate's digest is kept here.
    expected = device_id(fetch(DEFAULTS["drive_relay_identity_scope"], SECRETS[server]))
    assert served_id == expected, f"the {server} server presents {served_id}, the keyring says {expected}"
