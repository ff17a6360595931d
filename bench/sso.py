"""Benchmark: the identity stack's memory at idle, and the SSO portal's login throughput against
the portal's plain static page, both measured in the same run on a deployed lab.

    sudo .venv/bin/python bench/sso.py INVENTORY [--commune C --login L] [--seconds 20]
        [--clients 4] [--out FILE]

INVENTORY is a lab inventory deployed by `bastide deploy` (with its keyring unlocked as for any
bastide command, e.g. BASTIDE_IDENTITY). The benchmark gives the agent LOGIN a new one-time
password (`bastide agent password`), changes it on the portal as the agent would, then:

- memory at idle (before any load): for each unit of the identity stack on the identity host
  (the portal's and the handler's FastCGI pools, slapd, nginx), the sum of its processes' RSS
  and PSS (``/proc/PID/smaps_rollup``), and its cgroup's ``MemoryCurrent`` where the host
  accounts memory (lab hosts under systemd-nspawn do not);
- the baseline: ``--clients`` clients fetching one static file of the portal, each request on a
  new TLS connection (as a new browser would), for ``--seconds``;
- logins: the same clients each doing a whole login on a new connection: the login page (its
  form token), then the form posted with the password, answered with the session cookie.

Reports requests per second for both and their ratio, logins over static. Writes JSON to
``bench/results/sso.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import platform
import re
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "sso.json"
sys.path.insert(0, str(REPO / "cli"))

from bastide.core.inventory import load  # noqa: E402

UNITS = [
    "bastide-sso-portal.service",
    "lemonldap-ng-fastcgi-server.service",
    "slapd.service",
    "nginx.service",
]
STATIC = "/static/common/js/portal.min.js"
# New at each run: the directory refuses the last five passwords.
NEW_PASSWORD = f"Banc-Essai-{int(time.time())}-x"

# On the identity host: each unit's MemoryCurrent and the RSS and PSS of its processes, in kB.
MEMORY_PROBE = r"""
import json, subprocess, sys
out = {}
for unit in sys.argv[1:]:
    show = dict(l.split("=", 1) for l in subprocess.run(["systemctl", "show", "-p", "MemoryCurrent",
        "-p", "ControlGroup", unit], capture_output=True, text=True).stdout.splitlines())
    pids = []
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"):
        try:
            pids = open(root + show["ControlGroup"] + "/cgroup.procs").read().split()
            break
        except OSError:
            continue
    rss = pss = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Rss:"): rss += int(line.split()[1])
                if line.startswith("Pss:"): pss += int(line.split()[1])
        except OSError:
            pass
    current = show["MemoryCurrent"]
    kb = int(current) // 1024 if current.isdigit() else None
    out[unit] = {"memory_current_kb": kb, "rss_kb": rss, "pss_kb": pss,
                 "processes": len(pids)}
print(json.dumps(out))
"""


def ssh_command(inventory: Any, address: str) -> list[str]:
    """The command prefix that runs a command on a lab host as its administrator (sudo inside)."""
    return [
        "ssh", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
        "-o", f"UserKnownHostsFile={inventory.root / 'known_hosts'}",
        "-i", str(inventory.ssh_private_key_path()),
        f"{inventory.settings.ssh.user}@{address}", "--",
    ]  # fmt: skip


def bastide(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bastide", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"bastide {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class Portal:
    """HTTPS to the portal at the identity host's address, one new connection per request."""

    def __init__(self, name: str, address: str) -> None:
        self.name, self.address = name, address
        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE

    def request(self, method: str, path: str, body: dict[str, str] | None = None) -> tuple[int, str, Any]:
        connection = http.client.HTTPSConnection(self.name, 443, context=self.context, timeout=30)
        connection.sock = self.context.wrap_socket(
            socket.create_connection((self.address, 443), timeout=30), server_hostname=self.name
        )
        headers = {"Host": self.name}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=data, headers=headers)
        answer = connection.getresponse()
        text = answer.read().decode("utf-8", "replace")
        connection.close()
        return answer.status, text, answer.headers

    def token(self) -> str:
        _status, page, _headers = self.request("GET", "/")
        found = re.search(r'name="token" value="([^"]*)"', page)
        return found.group(1) if found else ""

    def login(self, user: str, password: str) -> bool:
        status, _page, headers = self.request(
            "POST", "/", {"user": user, "password": password, "token": self.token()}
        )
        return status in (200, 302) and "bastide=" in (headers.get("Set-Cookie") or "")

    def change(self, user: str, old: str, new: str) -> None:
        _status, page, _headers = self.request(
            "POST", "/", {"user": user, "password": old, "token": self.token()}
        )
        token = re.search(r'name="token" value="([^"]*)"', page)
        form = {"user": user, "oldpassword": old, "newpassword": new, "confirmpassword": new,
                "token": token.group(1) if token else ""}  # fmt: skip
        _status, page, _headers = self.request("POST", "/", form)
        if 'trmsg="35"' not in page:
            codes = re.findall(r'trmsg="(\d+)"', page)
            sys.exit(f"the portal did not accept the new password: message {codes} (35 expected)")


def load_for(seconds: float, clients: int, action: Any) -> dict[str, float]:
    done: list[float] = []
    failed = [0]
    end = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < end:
            start = time.monotonic()
            if action():
                done.append(time.monotonic() - start)
            else:
                failed[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {
        "per_second": round(len(done) / elapsed, 2),
        "count": len(done),
        "failed": failed[0],
        "median_ms": round(statistics.median(done) * 1000, 1) if done else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inventory", type=Path)
    parser.add_argument("--commune", default="ours-les-bains")
    parser.add_argument("--login", default="paul.girard")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args()

    inventory = load(options.inventory)
    identity = inventory.identity
    if identity is None:
        sys.exit("the inventory has no identity section")
    host = inventory.host(identity.host)
    portal = Portal(identity.portal, host.address)

    otp = bastide("agent", "password", str(options.inventory), options.commune, options.login).strip()
    portal.change(options.login, otp, NEW_PASSWORD)

    ssh = ssh_command(inventory, host.address)
    time.sleep(5)  # back to idle after the password change
    memory = json.loads(
        subprocess.run(
            [*ssh, "sudo", "python3", "-c", f"'{MEMORY_PROBE}'", *UNITS],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )

    static = load_for(options.seconds, options.clients, lambda: portal.request("GET", STATIC)[0] == 200)
    logins = load_for(options.seconds, options.clients, lambda: portal.login(options.login, NEW_PASSWORD))
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "clients": options.clients,
        "seconds": options.seconds,
        "idle_memory": memory,
        "identity_stack_idle_kb": {
            key: sum(unit[key] or 0 for unit in memory.values()) for key in ("rss_kb", "pss_kb")
        },
        "baseline_static_page": static,
        "portal_logins": logins,
        "logins_over_static": round(logins["per_second"] / static["per_second"], 3)
        if static["per_second"]
        else None,
    }
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0 if logins["count"] and not logins["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
