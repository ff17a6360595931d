"""Device sync on the deployed lab (docs/sync.md), with a real Syncthing device: Debian's
syncthing on the lab host that does not run the commune's hub, as a throwaway user under a
transient systemd unit, configured only with what ``bastide sync enroll`` printed. Enrolled and
deployed, it receives a file put on the web and sends back a file made on it; every connection
of the device and of the hub goes to the syndicat's discovery and relay servers only (their REST
status, the relay's status page, ``ss``, and nftables counters the test adds in a table of its
own and removes); taken out of the inventory and deployed again, the hub drops it and it
receives nothing new.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from lab_browser import change_password, one_time_password, request, site
from lab_browser import inventory as lab_inventory
from lab_fixtures import Env, assert_no_secret_leaked, bastide, on_host

pytestmark = pytest.mark.lab

OURS = "ours-les-bains"
# Left alone by the other modules' logins (test_identity hands her new one-time passwords; this
# module takes its own). Secrétariat de mairie: she writes her service's folder, the municipal
# council's and her own.
AGENT = "marie.dupont"
FOLDERS = {"agents-marie.dupont", "services-secretariat-de-mairie", "conseil-municipal"}
# New at each session: the directory refuses a person's last five passwords.
PASSWORD = f"Synchro-{int(time.time())}-Marie"
STORE = "/var/lib/bastide-drive"
HUB_RUN = "/run/bastide-drive-sync"
RELAY_PORT, DISCOVERY_PORT, RELAY_STATUS = 22067, 8443, "http://127.0.0.1:22070/status"

# The device: a throwaway system user, its home (Syncthing's configuration in ``syncthing/``,
# the folders it accepts under ``Sync/``), a transient unit, and the test's nftables table.
DEVICE_USER = "bastide-test-sync"
DEVICE_HOME = "/var/lib/bastide-test-sync"
DEVICE_CONFIG = f"{DEVICE_HOME}/syncthing"
DEVICE_SOCKET = f"{DEVICE_HOME}/gui.sock"
DEVICE_UNIT = "bastide-test-sync-device"
COUNTERS = "bastide_test_sync"
SYNC_WAIT = 120  # seconds a file may take from one side to the other

T = TypeVar("T")

# Runs on a host as root: one call to a Syncthing REST API on its unix socket, with the API key
# from its config.xml; the request body (JSON) on standard input; prints the answer.
_REST = r"""
import http.client, socket, sys
import xml.etree.ElementTree as ET
home, path, method, url = sys.argv[1:5]
key = ET.parse(home + "/config.xml").findtext("gui/apikey")
body = sys.stdin.read() or None
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(path)
conn = Conn("localhost")
headers = {"X-API-Key": key}
if body:
    headers["Content-Type"] = "application/json"
conn.request(method, url, body=body, headers=headers)
answer = conn.getresponse()
data = answer.read().decode()
if answer.status >= 300:
    sys.exit(f"HTTP {answer.status}: {data[:300]}")
print(data.strip() or "null")
"""

# Runs on the device's host as root, before the device's first start: what the agent sets in
# Syncthing's settings (docs/sync.md, "Enrolling a device", step 4), from the enrollment on
# standard input, written into the device's config.xml (kept its user's).
_CONFIGURE = r"""
import json, os, sys
import xml.etree.ElementTree as ET
given = json.load(sys.stdin)
path = given["config"] + "/config.xml"
tree = ET.parse(path)
root = tree.getroot()
options = root.find("options")
values = {
    "listenAddress": [given["relay"]],
    "globalAnnounceServer": [given["discovery"]],
    "globalAnnounceEnabled": ["true"],
    "localAnnounceEnabled": ["false"],
    "relaysEnabled": ["true"],
    "natEnabled": ["false"],
    "relayReconnectIntervalM": ["1"],
    "announceLANAddresses": ["false"],
    "urAccepted": ["-1"],
    "crashReportingEnabled": ["false"],
    "autoUpgradeIntervalH": ["0"],
    "startBrowser": ["false"],
}
for tag, items in values.items():
    for old in options.findall(tag):
        options.remove(old)
    for item in items:
        ET.SubElement(options, tag).text = item
for old in root.findall("device"):
    root.remove(old)
hub = ET.Element("device", id=given["hub_id"], name=given["hub_name"], compression="metadata",
                 introducer="false", skipIntroductionRemovals="false", introducedBy="")
ET.SubElement(hub, "address").text = "dynamic"
ET.SubElement(hub, "paused").text = "false"
ET.SubElement(hub, "autoAcceptFolders").text = "true"
root.insert(0, hub)
root.find("defaults/folder").set("path", given["folders"])
stat = os.stat(path)
tree.write(path + ".new", encoding="utf-8")
os.chown(path + ".new", stat.st_uid, stat.st_gid)
os.chmod(path + ".new", 0o600)
os.replace(path + ".new", path)
"""

# The relay's status page (loopback of the sync host only), without any proxy.
_RELAY_STATUS = (
    "import urllib.request as u; "
    f"print(u.build_opener(u.ProxyHandler({{}})).open({RELAY_STATUS!r}, timeout=10).read().decode())"
)


def _wait(what: str, probe: Callable[[], T | None], timeout: float = SYNC_WAIT, every: float = 2) -> T:
    """``probe()``'s first true answer, polled for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


def _run(env: Env, host: str, *command: str, stdin: str = "", check: bool = True) -> str:
    done = on_host(env, host, ["sudo", *command], stdin=stdin)
    if check:
        assert done.returncode == 0, f"{host}: {' '.join(command)[:200]}: {done.stderr}"
    return done.stdout


def _rest(env: Env, host: str, home: str, sock: str, path: str, method: str = "GET", body: Any = None) -> Any:
    sent = "" if body is None else json.dumps(body)
    return json.loads(_run(env, host, "python3", "-c", _REST, home, sock, method, path, stdin=sent))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _deploy(env: Env) -> None:
    """What the DSI runs after changing the drive's section alone: the drive only, on the
    commune's host (the whole converge is tested by test_deploy)."""
    done = bastide(
        "deploy", env["BASTIDE_INVENTORY"], "--limit", OURS, "--service", "drive", "--json", env=env
    )
    summary = json.loads(done.stdout)
    assert summary["ok"], summary["failures"]


def _commune_file(env: Env) -> Path:
    return Path(env["BASTIDE_INVENTORY"]) / "communes" / f"{OURS}.yml"


def _remove_devices(env: Env, device_id: str) -> None:
    """What the DSI does to stop a device: its entry out of ``drive.devices`` (the rest of the
    file as it was)."""
    from ruamel.yaml import YAML

    path = _commune_file(env)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    data = yaml.load(path.read_text(encoding="utf-8"))
    devices = data["drive"]["devices"]
    for entry in [d for d in devices if d["id"] == device_id]:
        devices.remove(entry)
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)


def _nft_counters(env: Env, host: str) -> dict[str, int]:
    listed = json.loads(_run(env, host, "nft", "-j", "list", "counters", "table", "inet", COUNTERS))
    return {
        item["counter"]["name"]: int(item["counter"]["packets"])
        for item in listed["nftables"]
        if "counter" in item
    }


@dataclass
class Sync:
    """The enrolled device and its commune's hub, and where their traffic may go."""

    env: Env
    device_host: str
    device_address: str
    hub_host: str
    sync_address: str
    device_id: str
    enrolled: dict[str, Any]
    enroll_output: str
    folders: dict[str, str] = field(default_factory=dict)  # folder id: its path on the device
    removed: bool = False  # taken out of the inventory and deployed (the last test)

    @property
    def hub_home(self) -> str:
        return f"{STORE}/{OURS}/syncthing"

    def device(self, path: str, method: str = "GET", body: Any = None) -> Any:
        return _rest(self.env, self.device_host, DEVICE_CONFIG, DEVICE_SOCKET, path, method, body)

    def hub(self, path: str) -> Any:
        return _rest(self.env, self.hub_host, self.hub_home, f"{HUB_RUN}/{OURS}/gui.sock", path)

    def device_file(self, folder: str, name: str) -> str:
        """The SHA-256 of a file in one of the device's folders ("" if absent)."""
        path = f"{self.folders[folder]}/{name}"
        out = _run(self.env, self.device_host, "sh", "-c", f'sha256sum "{path}" 2>/dev/null || true')
        return out.split()[0] if out.strip() else ""

    def pids(self, on_device: bool) -> set[str]:
        """The processes of the device's or the hub's unit: Syncthing's monitor (the unit's main
        process, which with --no-restart only hands the exit code on) and its child."""
        if on_device:
            unit, host = DEVICE_UNIT, self.device_host
        else:
            unit, host = f"bastide-drive-sync@{OURS}", self.hub_host
        main = _run(self.env, host, "systemctl", "show", "-P", "MainPID", unit).strip()
        assert main not in ("", "0"), f"{unit} has no process"
        return {main, *_run(self.env, host, "sh", "-c", f"pgrep -P {main} || true").split()}

    def answers(self) -> bool:
        try:
            return bool(self.device("/rest/system/ping") == {"ping": "pong"})
        except (AssertionError, ValueError):
            return False


def _dav(env: Env, path: str) -> str:
    return site(env, OURS, "drive") + "/dav/" + path


@pytest.fixture(scope="module", autouse=True)
def _converged(converged: None) -> None:
    """The hubs and the syndicat's servers deployed on every host (lab_fixtures.converged)."""


@pytest.fixture(scope="module")
def password(deploy_env: Env) -> str:
    """Marie's own password: her one-time password changed on the portal."""
    change_password(
        deploy_env, OURS, AGENT, one_time_password(deploy_env, OURS, AGENT), PASSWORD, service="drive"
    )
    return PASSWORD


def _counting_tables(sync: Sync) -> dict[str, str]:
    """nftables counters, in a table of the test's own on each host (the deployed table inet
    bastide, whose accept rules have no counters, is left as it is): on the device's host, every
    new connection of the device's user and those to the relay and discovery servers; on the
    sync host, every new connection of the hub's user and those to the servers, and the new
    connections reaching the servers from the device's host."""
    sync_ip, device_ip = sync.sync_address, sync.device_address
    hub_user = f"drive-{OURS}"

    def table(chains: str, names: list[str]) -> str:
        counters = "".join(f"    counter {name} {{}}\n" for name in names)
        return f"table inet {COUNTERS} {{\n{counters}{chains}}}\n"

    def out(user: str, prefix: str) -> str:
        who = f'meta skuid "{user}"'
        return (
            "    chain output {\n"
            "        type filter hook output priority filter - 10; policy accept;\n"
            f"        {who} ct state new counter name {prefix}_all\n"
            f"        {who} ip daddr {sync_ip} tcp dport {RELAY_PORT} ct state new"
            f" counter name {prefix}_relay\n"
            f"        {who} ip daddr {sync_ip} tcp dport {DISCOVERY_PORT} ct state new"
            f" counter name {prefix}_discovery\n"
            "    }\n"
        )

    inbound = (
        "    chain input {\n"
        "        type filter hook input priority filter - 10; policy accept;\n"
        f"        ip saddr {device_ip} tcp dport {RELAY_PORT} ct state new counter name from_device_relay\n"
        f"        ip saddr {device_ip} tcp dport {DISCOVERY_PORT} ct state new"
        " counter name from_device_discovery\n"
        "    }\n"
    )
    names = ["_all", "_relay", "_discovery"]
    return {
        sync.device_host: table(out(DEVICE_USER, "device"), [f"device{n}" for n in names]),
        sync.hub_host: table(
            out(hub_user, "hub") + inbound,
            [f"hub{n}" for n in names] + ["from_device_relay", "from_device_discovery"],
        ),
    }


def _clean_device_host(env: Env, host: str) -> None:
    script = f"""
systemctl stop {DEVICE_UNIT}.service 2>/dev/null || true
systemctl reset-failed {DEVICE_UNIT}.service 2>/dev/null || true
pkill -KILL -u {DEVICE_USER} 2>/dev/null || true
userdel {DEVICE_USER} 2>/dev/null || true
rm -rf {DEVICE_HOME}
nft delete table inet {COUNTERS} 2>/dev/null || true
"""
    _run(env, host, "sh", "-c", script)


@pytest.fixture(scope="module")
def sync(deploy_env: Env) -> Iterator[Sync]:
    env = deploy_env
    found = lab_inventory(env)
    commune = found.commune(OURS)
    sync_host = found.service_settings["drive"]["sync_host"]
    assert commune.host == sync_host, "the demo's hub of Ours-les-Bains runs on the sync host"
    device_host = next(h.name for h in found.hosts if h.name != commune.host)
    original = _commune_file(env).read_text(encoding="utf-8")
    sync_address = str(found.host(sync_host).address)
    device_address = str(found.host(device_host).address)
    current: Sync | None = None
    _clean_device_host(env, device_host)  # what a run killed midway may have left
    _run(env, commune.host, "sh", "-c", f"nft delete table inet {COUNTERS} 2>/dev/null || true")
    try:
        # The device's identity, made on the device (as the agent's Syncthing does at its first
        # start), and its ID, read there.
        _run(env, device_host, "useradd", "--system", "--create-home", "--home-dir", DEVICE_HOME,
             "--shell", "/usr/sbin/nologin", DEVICE_USER)  # fmt: skip
        as_device = ["-u", DEVICE_USER, "-H", "/usr/bin/syncthing"]
        _run(env, device_host, *as_device, "generate", f"--home={DEVICE_CONFIG}", "--no-default-folder",
             "--skip-port-probing")  # fmt: skip
        device_id = _run(env, device_host, *as_device, f"--home={DEVICE_CONFIG}", "--device-id").strip()

        # The DSI enrols it; the device is configured with what that printed, and nothing else.
        enrolled_run = bastide(
            "sync", "enroll", env["BASTIDE_INVENTORY"], OURS, AGENT, device_id,
            "--name", "Portable de test", "--json", env=env,
        )  # fmt: skip
        enrolled = json.loads(enrolled_run.stdout)
        given = {
            "config": DEVICE_CONFIG, "relay": enrolled["relay"], "discovery": enrolled["discovery"],
            "hub_id": enrolled["hub_id"], "hub_name": enrolled["hub_name"], "folders": f"{DEVICE_HOME}/Sync",
        }  # fmt: skip
        _run(env, device_host, "python3", "-c", _CONFIGURE, stdin=json.dumps(given))
        _run(env, device_host, "install", "-d", "-o", DEVICE_USER, "-g", DEVICE_USER, "-m", "0700",
             f"{DEVICE_HOME}/Sync")  # fmt: skip

        current = Sync(
            env=env, device_host=device_host, device_address=device_address, hub_host=commune.host,
            sync_address=sync_address, device_id=device_id, enrolled=enrolled,
            enroll_output=enrolled_run.stdout + enrolled_run.stderr,
        )  # fmt: skip
        for host, ruleset in _counting_tables(current).items():
            _run(env, host, "nft", "-f", "-", stdin=ruleset)

        # The device runs under systemd (a transient unit), its API on a unix socket only.
        _run(
            env, device_host, "systemd-run", f"--unit={DEVICE_UNIT}", "--service-type=simple",
            f"--uid={DEVICE_USER}", f"--gid={DEVICE_USER}", f"--working-directory={DEVICE_HOME}",
            f"--setenv=HOME={DEVICE_HOME}", "--setenv=STNODEFAULTFOLDER=1", "--setenv=STNOUPGRADE=1",
            "--property=UMask=0077", "--property=NoNewPrivileges=yes", "--property=PrivateTmp=yes",
            "--", "/usr/bin/syncthing", "serve", f"--home={DEVICE_CONFIG}", "--no-browser", "--no-restart",
            "--no-upgrade", "--logflags=0", f"--gui-address=unix://{DEVICE_SOCKET}",
        )  # fmt: skip
        _wait("the device's API", current.answers, timeout=60)

        # The hub learns the device at the deploy.
        _deploy(env)
        yield current
    finally:
        failures: list[str] = []
        try:
            _clean_device_host(env, device_host)
            _run(env, commune.host, "sh", "-c", f"nft delete table inet {COUNTERS} 2>/dev/null || true")
            left = _run(
                env, device_host, "sh", "-c",
                f"getent passwd {DEVICE_USER}; ls -d {DEVICE_HOME} 2>/dev/null; "
                f"systemctl list-units --all --no-legend '{DEVICE_UNIT}*'; "
                f"pgrep -af '[s]yncthing serve --home={DEVICE_CONFIG}'; "
                f"nft list tables | grep {COUNTERS}; true",
            )  # fmt: skip
            if left.strip():
                failures.append(f"left on {device_host}: {left}")
        finally:
            if _commune_file(env).read_text(encoding="utf-8") != original:
                _commune_file(env).write_text(original, encoding="utf-8")
                if current is None or not current.removed:
                    _deploy(env)  # the hub must not keep a device the inventory no longer has
        assert not failures, failures


def _connection(sync: Sync, on_device: bool) -> dict[str, Any]:
    peer = sync.enrolled["hub_id"] if on_device else sync.device_id
    answer = sync.device("/rest/system/connections") if on_device else sync.hub("/rest/system/connections")
    return answer["connections"].get(peer) or {}


def _synced_folders(sync: Sync) -> dict[str, str]:
    """The device's folders shared with the hub and done with their first sync: id → path."""
    folders = {f["id"]: f["path"] for f in sync.device("/rest/config/folders")}
    if not set(folders) >= FOLDERS:
        return {}
    for folder in FOLDERS:
        if sync.device(f"/rest/db/status?folder={folder}").get("state") != "idle":
            return {}
    return folders


def test_the_enrolled_device_gets_exactly_the_folders_its_agent_writes(sync: Sync) -> None:
    enrolled = sync.enrolled
    assert enrolled["device_id"] == sync.device_id and enrolled["agent"] == AGENT
    assert {f["id"] for f in enrolled["folders"]} == FOLDERS, enrolled["folders"]
    # The IDs printed on the controller are the deployed ones.
    assert sync.hub("/rest/system/status")["myID"] == enrolled["hub_id"]
    assert enrolled["relay"].startswith(f"relay://{sync.sync_address}:{RELAY_PORT}/?id=")
    assert enrolled["discovery"].startswith(f"https://{sync.sync_address}:{DISCOVERY_PORT}/?id=")
    assert f"{AGENT}, id: {sync.device_id}" in _commune_file(sync.env).read_text(encoding="utf-8")

    # The device and the hub find each other and the hub's folders are accepted on the device.
    _wait("the device connected to the hub", lambda: _connection(sync, on_device=True).get("connected"))
    sync.folders = _wait("the hub's folders synced on the device", lambda: _synced_folders(sync))
    assert set(sync.folders) == FOLDERS, sync.folders
    hub_folders = {f["id"]: f for f in sync.hub("/rest/config/folders")}
    for folder in FOLDERS:
        assert sync.device_id in {d["deviceID"] for d in hub_folders[folder]["devices"]}, folder
    others = [f for f, c in hub_folders.items() if f not in FOLDERS and sync.device_id in str(c["devices"])]
    assert others == [], "the device is offered folders its agent does not write"
    # Really supervised by systemd, as the agent's own desktop session would run it.
    shown = _run(sync.env, sync.device_host, "systemctl", "show", "-P", "ActiveState", DEVICE_UNIT)
    assert shown.strip() == "active"


def test_a_file_put_on_the_web_reaches_the_device(sync: Sync, password: str) -> None:
    assert sync.folders, "the device has its folders (previous test)"
    data = os.urandom(256 * 1024)
    name = f"depuis-le-web-{int(time.time())}.bin"
    status, _body, _h = request(
        sync.env, "PUT", _dav(sync.env, f"agents/{AGENT}/{name}"), body=data, auth=(AGENT, password)
    )
    assert status in (200, 201), status
    started = time.monotonic()
    _wait("the web's file on the device", lambda: sync.device_file(f"agents-{AGENT}", name) == _sha256(data))
    print(f"web → device in {time.monotonic() - started:.1f} s")


def test_a_file_made_on_the_device_appears_on_the_web(sync: Sync, password: str) -> None:
    assert sync.folders, "the device has its folders (first test)"
    note = f"Convocation du conseil municipal, faite sur le portable ({time.time()})\n".encode()
    name = f"depuis-le-portable-{int(time.time())}.txt"
    web_paths = {f"agents-{AGENT}": f"agents/{AGENT}", "conseil-municipal": "conseil-municipal"}
    for folder in web_paths:
        _run(sync.env, sync.device_host, "-u", DEVICE_USER, "dd", f"of={sync.folders[folder]}/{name}",
             "status=none", stdin=note.decode())  # fmt: skip
    started = time.monotonic()

    def served() -> bool:
        auth = (AGENT, password)
        urls = [_dav(sync.env, f"{path}/{name}") for path in web_paths.values()]
        answers = [request(sync.env, "GET", url, auth=auth) for url in urls]
        return all((status, body) == (200, note) for status, body, _h in answers)

    _wait("the device's files on the web (her folder, the council's)", served)
    print(f"device → web in {time.monotonic() - started:.1f} s")
    # Written into the store by the hub, as the commune's drive user (the web's own files).
    owner = _run(sync.env, sync.hub_host, "stat", "-c", "%U", f"{STORE}/{OURS}/files/agents/{AGENT}/{name}")
    assert owner.strip() == f"drive-{OURS}"


def test_every_connection_goes_to_the_syndicats_relay_and_discovery_only(sync: Sync) -> None:
    assert sync.folders, "the device has synced (previous tests)"
    relay_at = f"{sync.sync_address}:{RELAY_PORT}"
    relay_url, discovery_url = sync.enrolled["relay"], sync.enrolled["discovery"]
    discovery_server = discovery_url.split("?", 1)[0]

    # Both ends see the other through the relay (Syncthing's own view of the connection).
    for on_device in (True, False):
        seen = _connection(sync, on_device)
        assert seen.get("connected"), seen
        assert seen["type"] in ("relay-client", "relay-server"), seen
        assert seen["address"] == relay_at, seen

    # Each listens on the relay only and announces to the syndicat's discovery server only,
    # without error; local discovery, NAT traversal and reports are off.
    for status, config in (
        (sync.device("/rest/system/status"), sync.device("/rest/config")),
        (sync.hub("/rest/system/status"), sync.hub("/rest/config")),
    ):
        assert set(status["connectionServiceStatus"]) == {relay_url}, status["connectionServiceStatus"]
        assert status["connectionServiceStatus"][relay_url]["error"] is None
        # (Syncthing names a discovery server by its URL without the ?id= it checks.)
        assert status["discoveryStatus"] == {f"global@{discovery_server}": {"error": None}}, status
        options = config["options"]
        assert options["listenAddresses"] == [relay_url]
        assert options["globalAnnounceServers"] == [discovery_url]
        assert options["localAnnounceEnabled"] is False and options["natEnabled"] is False
        assert options["urAccepted"] < 0 and options["crashReportingEnabled"] is False
    # What each learnt of the other from the discovery server: its relay address only.
    for found in (
        sync.device("/rest/system/discovery").get(sync.enrolled["hub_id"]) or {},
        sync.hub("/rest/system/discovery").get(sync.device_id) or {},
    ):
        assert found.get("addresses"), found
        assert all(a.startswith(f"relay://{relay_at}/") for a in found["addresses"]), found

    # The relay carries their session.
    relay = json.loads(_run(sync.env, sync.hub_host, "python3", "-c", _RELAY_STATUS))
    assert relay["numActiveSessions"] >= 1 and relay["bytesProxied"] > 0, relay
    assert relay["options"]["pools"] == [""], "the relay joins no public pool"

    # The device's and the hub's sockets: only to the relay and the discovery server, none
    # listening on the network.
    for on_device, host in ((True, sync.device_host), (False, sync.hub_host)):
        pids = sync.pids(on_device)
        sockets = _run(sync.env, host, "ss", "-Htuanp")
        mine = [line.split() for line in sockets.splitlines() if any(f"pid={pid}," in line for pid in pids)]
        assert mine, f"{host}: no connection"
        peers = {fields[5] for fields in mine}
        assert peers <= {relay_at, f"{sync.sync_address}:{DISCOVERY_PORT}"}, mine

    # The hosts' firewall counters (since before the device started and the hub learnt it):
    # every new connection of the device and of the hub went to the relay or the discovery server.
    device = _nft_counters(sync.env, sync.device_host)
    hub = _nft_counters(sync.env, sync.hub_host)
    assert device["device_relay"] > 0 and device["device_discovery"] > 0, device
    assert device["device_all"] == device["device_relay"] + device["device_discovery"], device
    assert hub["hub_relay"] > 0, hub
    assert hub["hub_all"] == hub["hub_relay"] + hub["hub_discovery"], hub
    assert hub["from_device_relay"] > 0 and hub["from_device_discovery"] > 0, hub
    # The deployed firewall opens the servers' ports on the sync host (its rules count nothing:
    # the counters above are the test's own table's).
    deployed = _run(sync.env, sync.hub_host, "nft", "list", "table", "inet", "bastide")
    opened = [
        {int(port) for port in ports.split(",")}
        for ports in re.findall(r"^\s*tcp dport \{([\d, ]+)\} ct state new accept", deployed, re.MULTILINE)
    ]
    assert any({RELAY_PORT, DISCOVERY_PORT} <= ports for ports in opened), deployed


def test_a_device_taken_out_of_the_inventory_is_dropped_by_the_hub(sync: Sync, password: str) -> None:
    assert sync.folders, "the device has synced (previous tests)"
    _remove_devices(sync.env, sync.device_id)
    assert sync.device_id not in _commune_file(sync.env).read_text(encoding="utf-8")
    bastide("validate", sync.env["BASTIDE_INVENTORY"], env=sync.env)
    _deploy(sync.env)
    sync.removed = True  # (the fixture's teardown then has nothing to deploy)

    assert sync.device_id not in {d["deviceID"] for d in sync.hub("/rest/config/devices")}
    shared = [f["id"] for f in sync.hub("/rest/config/folders") if sync.device_id in str(f["devices"])]
    assert shared == [], shared
    _wait("the device disconnected", lambda: not _connection(sync, True).get("connected"), timeout=60)

    # A file put on the web now stays off the device (which keeps what it had: docs/sync.md).
    name = f"apres-retrait-{int(time.time())}.txt"
    status, _body, _h = request(
        sync.env, "PUT", _dav(sync.env, f"agents/{AGENT}/{name}"), body=b"plus pour ce portable",
        auth=(AGENT, password),
    )  # fmt: skip
    assert status in (200, 201), status
    time.sleep(30)
    assert sync.device_file(f"agents-{AGENT}", name) == ""
    assert not _connection(sync, on_device=True).get("connected")
    assert [n for n in _run(sync.env, sync.device_host, "ls", sync.folders[f"agents-{AGENT}"]).split()
            if n.startswith("depuis-le-web-")], "the device keeps the files it had"  # fmt: skip


def test_no_secret_of_the_keyring_leaked(sync: Sync) -> None:
    assert_no_secret_leaked(sync.env, [sync.enroll_output])
