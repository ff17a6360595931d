"""Lab DNS (dnsmasq on the gateway): lab host names, and the inventory's commune domains
pointed at the lab hosts that serve them, so pebble's HTTP-01 validation reaches those hosts.

It answers only for names it knows (no upstream servers): lab traffic stays on lab links.
"""

from __future__ import annotations

import socket
from pathlib import Path

from bastide.core.lab import procs
from bastide.core.lab.plan import LabPlan

NAME = "dnsmasq"
PORT = 53


def records(lab: LabPlan) -> list[tuple[str, str]]:
    return [(lab.gateway_name, lab.gateway)] + [(host.name, host.address) for host in lab.hosts]


def render_config(lab: LabPlan, domains: dict[str, str]) -> str:
    # Everything is in this file, which dnsmasq reads as root before it drops to 'nobody': the
    # state directory may sit under a private one (/root, a 0700 temporary directory) where
    # nobody could read an addn-hosts file or write a log file. Its log goes to stderr, which
    # the lab keeps in logs/dnsmasq.log.
    lines = [
        f"# Written by bastide lab up; lab {lab.lab_id}.",
        f"listen-address={lab.gateway}",
        "bind-interfaces",
        f"port={PORT}",
        "no-resolv",
        "no-hosts",
        "no-poll",
        "user=nobody",
        "group=nogroup",
        "local-ttl=5",
        "log-facility=-",
    ]
    lines += [f"host-record={name},{address}" for name, address in records(lab)]
    # address=/domain/ also answers for every name under it (docs.<domain>, ...).
    lines += [f"address=/{domain}/{address}" for domain, address in sorted(domains.items())]
    return "\n".join(lines) + "\n"


def start(lab: LabPlan, lab_dir: Path, domains: dict[str, str]) -> None:
    work = lab_dir / "dns"
    work.mkdir(parents=True, exist_ok=True)
    config = work / "dnsmasq.conf"
    config.write_text(render_config(lab, domains), encoding="utf-8")
    stop(lab_dir)
    argv = ["dnsmasq", "--keep-in-foreground", f"--conf-file={config}", "--pid-file="]
    procs.start_daemon(NAME, argv, lab_dir / "pids", lab_dir / "logs")


def ready(lab: LabPlan) -> bool:
    # A query for the gateway's own name, on the wire: proves dnsmasq answers.
    query = (
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
        + b"".join(bytes([len(part)]) + part.encode() for part in lab.gateway_name.split("."))
        + b"\x00\x00\x01\x00\x01"
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.sendto(query, (lab.gateway, PORT))
            answer = sock.recv(512)
        except OSError:
            return False
    return answer[:2] == b"\x12\x34" and socket.inet_aton(lab.gateway) in answer


def stop(lab_dir: Path) -> None:
    procs.stop_daemon(NAME, lab_dir / "pids", timeout=5)
