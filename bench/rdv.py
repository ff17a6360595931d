"""Benchmark: the calendars' and the booking's memory at idle per commune, and the booking's slot
search and booking throughput through the front door against a static file served by the same
nginx, measured in the same run on a deployed lab.

    sudo .venv/bin/python bench/rdv.py INVENTORY [--commune C] [--seconds 20] [--clients 4]
        [--bookings 60] [--out FILE]

INVENTORY is a lab inventory deployed by `bastide deploy` (its keyring unlocked as for any
bastide command). On the commune's host (which must be the identity host: the portal's static
files are the baseline):

- memory at idle: the RSS and PSS (``/proc/PID/smaps_rollup``) of each commune's
  ``bastide-calendars@`` and ``bastide-rdv@`` units on that host;
- the baseline: a small static file among the portal's, fetched by nginx alone over HTTPS by
  ``--clients`` clients for ``--seconds`` (a new TLS connection per request, as a citizen's
  browser arriving from the commune's website does);
- slot search: the commune's first reason's slot page (computed at each request) by the same
  clients for the same time;
- booking: ``--bookings`` bookings of distinct free slots by the same clients (the form's POST,
  then its redirect), each one written into the calendars by the outbox.

The commune's rate limits would stop the run (one client address): the benchmark lifts them on
the host for its run and puts the commune's configuration back afterwards; its appointments are
cancelled through the application (their calendar events go too) and erased.

Reports requests per second and the ratios over static. Writes JSON to
``bench/results/rdv.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from sso import MEMORY_PROBE, ssh_command

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "rdv.json"
sys.path.insert(0, str(REPO / "cli"))

from bastide.core.inventory import load  # noqa: E402

STATIC_DIR = "/usr/share/lemonldap-ng/portal/htdocs/static"
STATIC_NAME = "bastide-bench.html"
STATIC = f"{STATIC_DIR}/{STATIC_NAME}"
BENCH_DOMAIN = "banc.example.org"

# Lifts (or puts back) the commune's rate limits on the host, restarting its booking.
LIMITS = r"""
import json, shutil, subprocess, sys
path, action = sys.argv[1], sys.argv[2]
if action == "lift":
    shutil.copy2(path, path + ".bench")
    config = json.load(open(path))
    config["rate_limits"] = {"search_per_minute": 1000000, "booking_per_hour": 1000000}
    json.dump(config, open(path, "w"), indent=2)
else:
    shutil.move(path + ".bench", path)
subprocess.run(["systemctl", "restart", "bastide-rdv@" + sys.argv[3] + ".service"], check=True)
"""

# Cancels the benchmark's appointments through the application (their events leave the
# calendars through the outbox), then erases them.
CLEANUP = (
    "from rdv import booking, calendars; from rdv.models import Appointment; "
    f"found = list(Appointment.objects.filter(email__endswith='@{BENCH_DOMAIN}')); "
    "[booking.cancel(a) for a in found if a.status == 'booked']; calendars.push(); "
    f"Appointment.objects.filter(email__endswith='@{BENCH_DOMAIN}').delete(); print(len(found))"
)


def ask(name: str, address: str, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    """One request on a new TLS connection."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection(name, 443, context=context, timeout=60)
    connection.sock = context.wrap_socket(
        socket.create_connection((address, 443), timeout=60), server_hostname=name
    )
    headers = {"Host": name}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=headers)
    answer = connection.getresponse()
    data = answer.read()
    connection.close()
    return answer.status, data


def hammer(
    name: str, address: str, path: str, clients: int, seconds: float, expect: int = 200
) -> dict[str, float]:
    """Requests per second of ``clients`` clients asking ``path`` for ``seconds``."""
    counts = [0] * clients
    errors: list[str] = []
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        while time.monotonic() < stop:
            status, _data = ask(name, address, "GET", path)
            if status != expect:
                errors.append(f"{path}: {status}")
                return
            counts[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"the benchmark's requests failed: {errors[:3]}")
    elapsed = time.monotonic() - started
    return {
        "requests_per_s": round(sum(counts) / elapsed, 1),
        "requests": sum(counts),
        "seconds": round(elapsed, 1),
    }


def slot_keys(name: str, address: str, path: str, weeks: int) -> list[str]:
    keys: list[str] = []
    for week in range(weeks):
        status, page = ask(name, address, "GET", f"{path}?semaine={week}")
        assert status == 200, status
        keys += [urllib.parse.unquote(k) for k in re.findall(r"reserver/\?creneau=([^\"&]+)", page.decode())]
    return keys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inventory", type=Path)
    parser.add_argument("--commune", default="ours-les-bains")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--bookings", type=int, default=60)
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args()

    inventory = load(options.inventory)
    identity = inventory.identity
    commune = inventory.commune(options.commune)
    if identity is None or identity.host != commune.host:
        sys.exit("the commune's host must be the identity host (the portal's static files are the baseline)")
    host = inventory.host(commune.host)
    rdv = next(s.fqdn for s in commune.sites() if s.service == "rdv")
    entry = (commune.service_settings("rdv") or {})["services"][0]
    from bastide.core.inventory.formats import slugify

    slots_path = f"/motif/{slugify(entry['service'])}/{slugify(entry['motives'][0]['name'])}/"
    ssh = ssh_command(inventory, host.address)

    slugs = [c.slug for c in inventory.communes_on(commune.host) if "rdv" in c.services]
    units = [f"{unit}@{slug}.service" for slug in slugs for unit in ("bastide-calendars", "bastide-rdv")]
    memory = json.loads(
        subprocess.run(
            [*ssh, "sudo", "python3", "-c", f"'{MEMORY_PROBE}'", *units],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    per_commune = {
        slug: {
            service: memory[f"bastide-{service}@{slug}.service"]["rss_kb"] for service in ("calendars", "rdv")
        }
        for slug in slugs
    }

    page = b"<!doctype html><html lang=fr><title>banc</title><p>" + b"x" * 8000 + b"</p></html>"
    subprocess.run(
        [*ssh, "sudo", "sh", "-c", f"'cat > {STATIC} && chmod 0644 {STATIC}'"], input=page, check=True
    )
    config = f"/etc/bastide-rdv/{options.commune}.json"
    subprocess.run(
        [*ssh, "sudo", "python3", "-c", f"'{LIMITS}'", config, "lift", options.commune], check=True
    )
    try:
        time.sleep(3)
        ask(rdv, host.address, "GET", slots_path)  # the application loaded
        static = hammer(
            identity.portal, host.address, f"/static/{STATIC_NAME}", options.clients, options.seconds
        )
        search = hammer(rdv, host.address, slots_path, options.clients, options.seconds)
        keys = slot_keys(rdv, host.address, slots_path, weeks=8)[: options.bookings]
        assert len(keys) == options.bookings, f"only {len(keys)} free slots in 8 weeks"
        booked: list[int] = []
        queue = list(enumerate(keys))
        lock = threading.Lock()

        def booker() -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    index, key = queue.pop()
                fields = {
                    "creneau": key,
                    "name": f"Banc {index}",
                    "email": f"banc-{index}@{BENCH_DOMAIN}",
                    "phone": "",
                }
                status, _data = ask(
                    rdv,
                    host.address,
                    "POST",
                    f"{slots_path}reserver/?creneau={urllib.parse.quote(key)}",
                    urllib.parse.urlencode(fields).encode(),
                )
                booked.append(status)

        started = time.monotonic()
        threads = [threading.Thread(target=booker) for _ in range(options.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        assert booked.count(302) == options.bookings, f"bookings answered {sorted(set(booked))}"
        booking = {
            "bookings_per_s": round(len(booked) / elapsed, 2),
            "bookings": len(booked),
            "seconds": round(elapsed, 1),
        }
    finally:
        subprocess.run([*ssh, "sudo", "rm", "-f", STATIC], check=False)
        subprocess.run(
            [*ssh, "sudo", "python3", "-c", f"'{LIMITS}'", config, "restore", options.commune], check=False
        )
        subprocess.run(
            [*ssh, "sudo", "bastide-rdv-manage", options.commune, "shell", "-c", f'"{CLEANUP}"'], check=False
        )

    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "clients": options.clients,
        "idle_memory": memory,
        "idle_rss_per_commune_kb": per_commune,
        "baseline_static": static,
        "slot_search": search,
        "booking": booking,
        "slot_search_over_static": round(search["requests_per_s"] / static["requests_per_s"], 3),
        "booking_over_static": round(booking["bookings_per_s"] / static["requests_per_s"], 4),
    }
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
