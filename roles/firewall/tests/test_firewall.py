"""nftables drops inbound traffic by default and opens only SSH and the host's service ports (and,
on the identity host, the directory's port to the syndicat's other hosts only);
fail2ban runs the sshd, recidive and (front door) web login jails and bans through nftables."""

from __future__ import annotations

import json
from typing import Any

BANNED_PROBE = "192.0.2.254"  # TEST-NET-1 (RFC 5737): never a real client


def _ruleset(host: Any) -> list[dict[str, Any]]:
    with host.sudo():
        return json.loads(host.check_output("nft -j list ruleset"))["nftables"]


def _expected_ports(hostvars: dict[str, Any], communes: list[dict[str, Any]]) -> set[int]:
    services = hostvars.get("bastide_services", {})
    ports = {int(hostvars.get("ansible_port", 22))}
    for commune in communes:
        for service in commune["services"]:
            ports.update(int(p) for p in services[service].get("ports", []))
    if hostvars.get("bastide_identity", {}).get("host") == hostvars["inventory_hostname"]:
        ports.update({80, 443})  # the SSO portal
    for part in hostvars.get("bastide_syndicat_parts", []):
        if part["host"] == hostvars["inventory_hostname"]:
            ports.update(int(p) for p in part["ports"])  # a service's syndicat-wide part
    return ports


def _dports(expr: list[dict[str, Any]]) -> set[int]:
    found: set[int] = set()
    for item in expr:
        match = item.get("match", {})
        payload = match.get("left", {}).get("payload", {})
        if payload.get("field") == "dport":
            right = match["right"]
            values = right["set"] if isinstance(right, dict) and "set" in right else [right]
            for value in values:
                assert isinstance(value, int), f"port range or named set in an accept rule: {value}"
                found.add(value)
    return found


def test_nftables_enabled(host: Any) -> None:
    service = host.service("nftables")
    assert service.is_enabled
    assert host.file("/etc/nftables.conf").contains("table inet bastide")


def test_input_policy_drop_and_only_expected_ports(
    host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]
) -> None:
    ruleset = _ruleset(host)
    chains = [i["chain"] for i in ruleset if "chain" in i]
    inputs = [c for c in chains if c.get("table") == "bastide" and c.get("hook") == "input"]
    assert len(inputs) == 1, f"table inet bastide has no input chain: {chains}"
    assert inputs[0]["policy"] == "drop"
    forward = [c for c in chains if c.get("table") == "bastide" and c.get("hook") == "forward"]
    assert forward and forward[0]["policy"] == "drop"
    rules = [i["rule"] for i in ruleset if "rule" in i and i["rule"]["table"] == "bastide"]
    opened: set[int] = set()
    internal: set[int] = set()
    for rule in (r for r in rules if r["chain"] == inputs[0]["name"]):
        if any("accept" in e for e in rule["expr"]):
            # A port opened to some sources only is open to the syndicat's other hosts, no one else.
            if _saddrs(rule["expr"]):
                if _dports(rule["expr"]):
                    assert _saddrs(rule["expr"]) <= _internal_sources(hostvars), rule["expr"]
                internal |= _dports(rule["expr"])
            else:
                opened |= _dports(rule["expr"])
    assert opened == _expected_ports(hostvars, communes)
    assert internal == _internal_ports(hostvars)


def _internal_sources(hostvars: dict[str, Any]) -> set[str]:
    import ipaddress

    me = hostvars["inventory_hostname"]
    return {
        str(ipaddress.ip_network(h["address"])) for h in hostvars.get("bastide_hosts", []) if h["name"] != me
    }


def _internal_ports(hostvars: dict[str, Any]) -> set[int]:
    """The directory's LDAPS port on the identity host, for the other hosts (if there are any)."""
    identity = hostvars.get("bastide_identity") or {}
    mine = identity.get("host") == hostvars["inventory_hostname"]
    return {636} if mine and _internal_sources(hostvars) else set()


def _saddrs(expr: list[dict[str, Any]]) -> set[str]:
    """The source networks an accept rule matches, as CIDR (a lone address as /32 or /128)."""
    import ipaddress

    found: set[str] = set()
    for item in expr:
        match = item.get("match", {})
        if match.get("left", {}).get("payload", {}).get("field") != "saddr":
            continue
        right = match["right"]
        values = right["set"] if isinstance(right, dict) and "set" in right else [right]
        for value in values:
            if isinstance(value, dict) and "prefix" in value:
                value = f"{value['prefix']['addr']}/{value['prefix']['len']}"
            found.add(str(ipaddress.ip_network(value)))
    return found


def test_only_the_admin_networks_are_trusted(host: Any, hostvars: dict[str, Any]) -> None:
    """settings.admin_networks, and nothing else, get through the firewall and past fail2ban."""
    wanted = set(hostvars.get("bastide_admin_networks", []))
    ruleset = _ruleset(host)
    rules = [i["rule"] for i in ruleset if "rule" in i and i["rule"]["table"] == "bastide"]
    trusted: set[str] = set()
    for rule in (r for r in rules if r["chain"] == "input"):
        if any("accept" in e for e in rule["expr"]) and not _dports(rule["expr"]):
            trusted |= _saddrs(rule["expr"])
    assert trusted == wanted
    with host.sudo():
        jail = host.file("/etc/fail2ban/jail.local").content_string
    # The first ignoreip is [DEFAULT]'s, for every jail; the portal's jail adds the syndicat's hosts.
    ignoreip, *others = [line for line in jail.splitlines() if line.startswith("ignoreip")]
    assert set(ignoreip.split("=", 1)[1].split()) == {"127.0.0.1/8", "::1"} | wanted
    hosts = {h["address"] for h in hostvars.get("bastide_hosts", [])}
    for line in others:
        assert set(line.split("=", 1)[1].split()) == {"127.0.0.1/8", "::1"} | wanted | hosts


def test_fail2ban_jails_active(host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]) -> None:
    assert host.service("fail2ban").is_running
    with host.sudo():
        status = host.check_output("fail2ban-client status")
    jails = {j.strip() for j in status.split("Jail list:", 1)[1].split(",")}
    portal = hostvars.get("bastide_identity", {}).get("host") == hostvars["inventory_hostname"]
    expected = (
        {"sshd", "recidive"}
        # with an HTTPS front door: commune sites, or the portal
        | (
            {"bastide-web-login", "bastide-basic-auth"}
            if portal or any(c["sites"] for c in communes)
            else set()
        )
        | ({"bastide-portal"} if portal else set())
    )
    assert expected <= jails, status
    with host.sudo():
        for jail in expected:
            host.check_output(f"fail2ban-client status {jail}")


def test_fail2ban_bans_through_nftables(host: Any) -> None:
    with host.sudo():
        host.check_output(f"fail2ban-client set sshd banip {BANNED_PROBE}")
        try:
            tables = host.check_output("nft list table inet f2b-table")
        finally:
            host.check_output(f"fail2ban-client set sshd unbanip {BANNED_PROBE}")
    assert BANNED_PROBE in tables


def test_web_login_filter_matches_failed_logins(host: Any, communes: list[dict[str, Any]]) -> None:
    if not communes:
        assert not host.file("/etc/fail2ban/jail.local").contains("bastide-web-login")
        return
    failed = '198.51.100.7 - - [10/Jan/2025:10:00:00 +0100] "POST /login HTTP/1.1" 401 12 "-" "curl"'
    success = '198.51.100.7 - - [10/Jan/2025:10:00:00 +0100] "POST /login HTTP/1.1" 302 12 "-" "curl"'
    with host.sudo():
        hit = host.check_output(f"fail2ban-regex '{failed}' bastide-web-login")
        miss = host.check_output(f"fail2ban-regex '{success}' bastide-web-login")
    assert "Lines: 1 lines, 0 ignored, 1 matched" in hit, hit
    assert "Lines: 1 lines, 0 ignored, 0 matched" in miss, miss
