"""Benchmark: the commune drive's memory at idle per commune (its three ways in: copyparty for
the web and the network drive, the Syncthing hub for device sync), and its upload and download
throughput through the front door against a plain nginx static file, measured in the same run
on a deployed lab.

    sudo .venv/bin/python bench/drive.py INVENTORY [--commune C --login L] [--size-mb 64]
        [--rounds 3] [--out FILE]

INVENTORY is a lab inventory deployed by `bastide deploy` (its keyring unlocked as for any
bastide command, e.g. BASTIDE_IDENTITY). The benchmark gives the agent LOGIN of COMMUNE a new
one-time password, changes it on the portal as the agent would, then:

- memory at idle: for each commune of the commune's host that runs the drive, the RSS and PSS
  (``/proc/PID/smaps_rollup``) of its ``bastide-drive@`` and ``bastide-drive-sync@`` units, and
  of the syndicat's relay and discovery servers where they run;
- the baseline: a file of ``--size-mb`` put for the run among the portal's static files on the
  same host, fetched by nginx alone over HTTPS (same TLS, same nginx, no backend);
- the drive: the same size uploaded (WebDAV PUT with the directory password) and downloaded
  (GET) through the commune's front door, ``--rounds`` times each, new connection each time.

Reports MB/s for each and the ratios drive over static. Writes JSON to
``bench/results/drive.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import platform
import socket
import ssl
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sso import MEMORY_PROBE, Portal, bastide, ssh_command

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "drive.json"
sys.path.insert(0, str(REPO / "cli"))

from bastide.core.inventory import load  # noqa: E402

STATIC_DIR = "/usr/share/lemonldap-ng/portal/htdocs/static"
STATIC_NAME = "bastide-bench.bin"
STATIC = f"{STATIC_DIR}/{STATIC_NAME}"
NEW_PASSWORD = f"Banc-Documents-{int(time.time())}-x"


def transfer(
    name: str, address: str, method: str, path: str, body: bytes | None = None, auth: str | None = None
) -> tuple[int, float, bytes]:
    """One request on a new TLS connection; (status, seconds, body)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    started = time.monotonic()
    connection = http.client.HTTPSConnection(name, 443, context=context, timeout=300)
    connection.sock = context.wrap_socket(
        socket.create_connection((address, 443), timeout=300), server_hostname=name
    )
    headers = {"Host": name}
    if auth:
        headers["Authorization"] = auth
    connection.request(method, path, body=body, headers=headers)
    answer = connection.getresponse()
    data = answer.read()
    connection.close()
    return answer.status, time.monotonic() - started, data


def rate(size: int, seconds: list[float]) -> dict[str, float]:
    speeds = [size / s / 1e6 for s in seconds]
    return {
        "mb_per_s": round(statistics.median(speeds), 1),
        "rounds": len(speeds),
        "min": round(min(speeds), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inventory", type=Path)
    parser.add_argument("--commune", default="ours-les-bains")
    parser.add_argument("--login", default="paul.girard")
    parser.add_argument("--size-mb", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args()

    inventory = load(options.inventory)
    identity = inventory.identity
    commune = inventory.commune(options.commune)
    if identity is None or identity.host != commune.host:
        sys.exit("the commune's host must be the identity host (the portal's static files are the baseline)")
    host = inventory.host(commune.host)
    drive = next(s.fqdn for s in commune.sites() if s.service == "drive")

    otp = bastide("agent", "password", str(options.inventory), options.commune, options.login).strip()
    Portal(identity.portal, host.address).change(options.login, otp, NEW_PASSWORD)
    auth = "Basic " + base64.b64encode(f"{options.login}:{NEW_PASSWORD}".encode()).decode()

    ssh = ssh_command(inventory, host.address)
    size = options.size_mb * 1024 * 1024
    payload = os.urandom(size)
    digest = hashlib.sha256(payload).hexdigest()

    time.sleep(5)  # back to idle after the password change
    drives = [c.slug for c in inventory.communes_on(commune.host) if "drive" in c.services]
    units = [f"{unit}@{slug}.service" for slug in drives for unit in ("bastide-drive", "bastide-drive-sync")]
    parts = ["bastide-drive-discovery.service", "bastide-drive-relay.service"]
    memory = json.loads(
        subprocess.run(
            [*ssh, "sudo", "python3", "-c", f"'{MEMORY_PROBE}'", *units, *parts],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    per_commune = {
        slug: {
            key: sum(memory[f"{u}@{slug}.service"][key] for u in ("bastide-drive", "bastide-drive-sync"))
            for key in ("rss_kb", "pss_kb")
        }
        for slug in drives
    }

    # The baseline: nginx alone, the portal's static files, same host, same TLS.
    subprocess.run(
        [*ssh, "sudo", "sh", "-c", f"'cat > {STATIC} && chmod 0644 {STATIC}'"],
        input=payload, check=True,
    )  # fmt: skip
    try:
        static: list[float] = []
        for _ in range(options.rounds):
            status, seconds, data = transfer(identity.portal, host.address, "GET", f"/static/{STATIC_NAME}")
            assert status == 200 and hashlib.sha256(data).hexdigest() == digest, status
            static.append(seconds)
    finally:
        subprocess.run([*ssh, "sudo", "rm", "-f", STATIC], check=False)

    uploads: list[float] = []
    downloads: list[float] = []
    for round_ in range(options.rounds):
        path = f"/dav/agents/{options.login}/bench-{round_}.bin"
        status, seconds, _data = transfer(drive, host.address, "PUT", path, payload, auth)
        assert status in (200, 201), status
        uploads.append(seconds)
        status, seconds, data = transfer(drive, host.address, "GET", path, None, auth)
        assert status == 200 and hashlib.sha256(data).hexdigest() == digest, status
        downloads.append(seconds)
        transfer(drive, host.address, "DELETE", path, None, auth)

    baseline = rate(size, static)
    up, down = rate(size, uploads), rate(size, downloads)
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "size_mb": options.size_mb,
        "idle_memory": memory,
        "idle_per_commune_kb": per_commune,
        "baseline_static_download": baseline,
        "drive_upload": up,
        "drive_download": down,
        "upload_over_static": round(up["mb_per_s"] / baseline["mb_per_s"], 3),
        "download_over_static": round(down["mb_per_s"] / baseline["mb_per_s"], 3),
    }
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
