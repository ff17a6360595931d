"""The lab network: a bridge in the controller's namespace, one network namespace per host.

PID 1 of the controller is not systemd, so systemd-nspawn cannot create its own veth links;
the lab makes the namespace and the veth pair itself and boots the machine inside it. The
hosts get no default route: they reach the outside only through the proxy on the gateway.
"""

from __future__ import annotations

import json
from pathlib import Path

from bastide.core.lab.plan import HostPlan, LabPlan
from bastide.core.lab.procs import run


def links() -> list[str]:
    result = run(["ip", "-j", "link", "show"], check=False)
    try:
        return [link["ifname"] for link in json.loads(result.stdout or "[]")]
    except (ValueError, KeyError):
        return []


def namespaces() -> list[str]:
    result = run(["ip", "-j", "netns", "list"], check=False)
    try:
        return [ns["name"] for ns in json.loads(result.stdout or "[]")]
    except (ValueError, KeyError):
        return []


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def ensure_bridge(lab: LabPlan) -> None:
    if not link_exists(lab.bridge):
        run(["ip", "link", "add", lab.bridge, "type", "bridge"])
    addresses = run(["ip", "-j", "addr", "show", "dev", lab.bridge]).stdout
    if f'"{lab.gateway}"' not in addresses:
        run(["ip", "addr", "add", f"{lab.gateway}/24", "dev", lab.bridge])
    run(["ip", "link", "set", lab.bridge, "up"])


def setup_host(lab: LabPlan, host: HostPlan) -> None:
    """A fresh namespace for ``host`` wired to the bridge (any previous one is replaced)."""
    teardown_host(host)
    run(["ip", "netns", "add", host.netns])
    run(["ip", "link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.netns])
    run(["ip", "link", "set", host.veth, "master", lab.bridge])
    run(["ip", "link", "set", host.veth, "up"])
    inside = ["ip", "-n", host.netns]
    run([*inside, "addr", "add", f"{host.address}/24", "dev", "eth0"])
    run([*inside, "link", "set", "eth0", "up"])
    run([*inside, "link", "set", "lo", "up"])


def teardown_host(host: HostPlan) -> None:
    if host.netns in namespaces():
        run(["ip", "netns", "del", host.netns], check=False)
    if link_exists(host.veth):
        run(["ip", "link", "del", host.veth], check=False)


def teardown(lab_id: int) -> None:
    """Every namespace and link of lab ``lab_id``, whatever the number of hosts it had."""
    prefix = f"bl{lab_id}"
    for ns in namespaces():
        if ns.startswith(prefix + "h"):
            run(["ip", "netns", "del", ns], check=False)
    for name in links():
        if name.startswith(prefix) and name != f"{prefix}br":
            run(["ip", "link", "del", name], check=False)
    if link_exists(f"{prefix}br"):
        run(["ip", "link", "del", f"{prefix}br"], check=False)


def leftovers(lab_id: int) -> list[str]:
    prefix = f"bl{lab_id}"
    found = [f"netns {ns}" for ns in namespaces() if ns.startswith(prefix + "h")]
    found += [f"link {name}" for name in links() if name.startswith(prefix)]
    return found
