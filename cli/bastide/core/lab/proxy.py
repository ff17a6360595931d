"""The lab's forward proxy: Squid on the gateway, caching packages across hosts and runs.

Hosts have no route out; apt and pip go through this proxy. apt fetches over plain HTTP, so
Squid can keep every .deb it passes on (in ``/var/cache/bastide/squid-<lab id>``, kept across
``lab down``): the second host, or the next run, installing the same package is served from the
cache. HTTPS (pip) is tunnelled with CONNECT and not cached. apt-cacher-ng was ruled out: it
could not resolve any upstream on machines of this kind.
"""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from bastide.core.lab import procs
from bastide.core.lab.plan import LabPlan

# Not 3128: a system squid installed from Debian listens there on every address.
PORT = 3129
NAME = "squid"


def cache_dir(lab_id: int) -> Path:
    root = Path(os.environ.get("BASTIDE_LAB_BASE_DIR", "/var/cache/bastide"))
    return root / f"squid-{lab_id}"


def run_dir(lab_id: int) -> Path:
    """Squid's configuration, logs (``access.log``: what the hosts fetched, HIT or MISS)."""
    cache = cache_dir(lab_id)
    return cache.parent / f"{cache.name}-run"


def proxy_url(lab: LabPlan) -> str:
    return f"http://{lab.gateway}:{PORT}"


def render_config(lab: LabPlan, work: Path, cache: Path) -> str:
    return f"""# Written by bastide lab up; lab {lab.lab_id}.
http_port {lab.gateway}:{PORT}
acl lab src {lab.subnet}
acl SSL_ports port 443
acl Safe_ports port 80 443
acl CONNECT method CONNECT
http_access deny !Safe_ports
http_access deny CONNECT !SSL_ports
http_access allow lab
http_access deny all
cache_effective_user proxy
cache_dir ufs {cache} 20000 16 256
maximum_object_size 2 GB
cache_mem 64 MB
pid_filename {work}/squid.pid
access_log stdio:{work}/access.log
cache_log {work}/cache.log
coredump_dir {work}
# Packages and by-hash indexes never change under a given name; the other indexes do.
refresh_pattern /by-hash/ 525600 100% 525600
refresh_pattern \\.(deb|udeb)$ 525600 100% 525600
refresh_pattern (Release|InRelease|Packages(\\.gz|\\.xz)?|Sources(\\.gz|\\.xz)?)$ 0 20% 60 refresh-ims
refresh_pattern . 0 20% 4320
shutdown_lifetime 1 seconds
"""


def start(lab: LabPlan, lab_dir: Path) -> None:
    # Squid drops to the 'proxy' user, which must reach its logs: the lab's state directory may
    # sit under a private home (/root is 0700), so its working files live beside the cache.
    cache = cache_dir(lab.lab_id)
    work = run_dir(lab.lab_id)
    work.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    proxy_user = pwd.getpwnam("proxy")
    for path in (work, cache):
        shutil.chown(path, proxy_user.pw_uid, proxy_user.pw_gid)
    config = work / "squid.conf"
    config.write_text(render_config(lab, work, cache), encoding="utf-8")
    stop(lab_dir)
    (work / "squid.pid").unlink(missing_ok=True)
    procs.run(["squid", "-z", "-N", "-f", str(config)], timeout=120)
    procs.start_daemon(NAME, ["squid", "-N", "-f", str(config)], lab_dir / "pids", lab_dir / "logs")


def ready(lab: LabPlan) -> bool:
    import socket

    try:
        with socket.create_connection((lab.gateway, PORT), timeout=0.5):
            return True
    except OSError:
        return False


def stop(lab_dir: Path) -> None:
    procs.stop_daemon(NAME, lab_dir / "pids", timeout=10)
