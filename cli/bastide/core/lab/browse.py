"""How a browser reaches the lab's sites: the lab's names resolve only in the lab's own DNS, so
a browser is told where each domain lives (Chromium's ``--host-resolver-rules``), on this
machine directly, or from another machine through one SSH tunnel per lab host."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from bastide.core.inventory import Inventory

FIRST_PORT = 8441  # local ports of the tunnels, one per lab host


@dataclass(frozen=True)
class Access:
    domains: dict[str, str]  # domain (its sites and subdomains too) → lab host address
    urls: list[str]  # every site
    issuer_root_pem: str  # what signed the sites' certificates (pebble's root, new per lab start)
    local_command: str  # a browser on this machine
    forwards: dict[str, int]  # lab host address → local port of its tunnel
    ssh_command: str  # on the other machine: the tunnels
    remote_command: str  # on the other machine: the browser through them


def _rules(mapping: dict[str, str]) -> str:
    rules = []
    for domain, target in sorted(mapping.items()):
        rules += [f"MAP {domain} {target}", f"MAP *.{domain} {target}"]
    return ", ".join(rules)


def _chromium(rules: str, url: str) -> str:
    return " ".join(["chromium", shlex.quote(f"--host-resolver-rules={rules}"), url])


def access(inventory: Inventory, issuer_root_pem: str) -> Access:
    domains = {c.domain: inventory.host(c.host).address for c in inventory.communes}
    urls = [f"https://{site.fqdn}/" for c in inventory.communes for site in c.sites()]
    if inventory.identity is not None:
        domains[inventory.identity.portal] = inventory.host(inventory.identity.host).address
        # The portal first: it is where people start, and the demo's communes may have no site.
        urls.insert(0, f"https://{inventory.identity.portal}/")
    forwards = {addr: FIRST_PORT + i for i, addr in enumerate(sorted(set(domains.values())))}
    tunnels = " ".join(f"-L {port}:{addr}:443" for addr, port in forwards.items())
    return Access(
        domains=domains,
        urls=urls,
        issuer_root_pem=issuer_root_pem,
        local_command=_chromium(_rules(domains), urls[0] if urls else ""),
        forwards=forwards,
        ssh_command=f"ssh -N {tunnels} root@THIS_MACHINE",
        remote_command=_chromium(
            _rules({d: f"127.0.0.1:{forwards[a]}" for d, a in domains.items()}), urls[0] if urls else ""
        ),
    )
