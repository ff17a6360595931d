"""Checks of the base role on a converged host (run by ``bastide verify``, testinfra ansible backend).

Each check reads the host's real state (files, sockets, services, commands), never the role's
own idea of it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

LOCALE = "fr_FR.UTF-8"
TIMEZONE = "Europe/Paris"


@pytest.fixture()
def admins(hostvars: dict[str, Any]) -> list[dict[str, Any]]:
    return list(hostvars.get("bastide_admins", []))


@pytest.fixture()
def admin_group(hostvars: dict[str, Any]) -> str:
    return str(hostvars.get("bastide_admin_group", "bastide-admins"))


def test_admin_accounts_exist_with_their_keys_only(
    host: Any, admins: list[dict[str, Any]], admin_group: str
) -> None:
    assert admins, "the inventory lists no administrator"
    for admin in admins:
        user = host.user(admin["name"])
        assert user.exists, f"{admin['name']} missing"
        assert user.shell == "/bin/bash"
        assert admin_group in user.groups
        keys_file = host.file(f"{user.home}/.ssh/authorized_keys")
        assert keys_file.user == admin["name"]
        assert keys_file.mode & 0o077 == 0, "authorized_keys readable by others"
        installed = {line.strip() for line in keys_file.content_string.splitlines() if line.strip()}
        assert installed == {key.strip() for key in admin["ssh_keys"]}


def test_admin_passwords_are_locked(host: Any, admins: list[dict[str, Any]]) -> None:
    for admin in admins:
        shadow = host.run(f"getent shadow {admin['name']}").stdout.split(":")
        assert shadow[1].startswith(("!", "*")), f"{admin['name']} has a usable password"


def test_admin_group_holds_only_listed_admins(
    host: Any, admins: list[dict[str, Any]], admin_group: str
) -> None:
    members = host.run(f"getent group {admin_group}").stdout.strip().split(":")[3]
    assert {m for m in members.split(",") if m} <= {a["name"] for a in admins}


def test_admin_group_sudo_rule(host: Any, admin_group: str) -> None:
    sudoers = host.file("/etc/sudoers.d/bastide-admins")
    assert sudoers.user == "root" and sudoers.mode == 0o440
    rules = [line for line in sudoers.content_string.splitlines() if line and not line.startswith("#")]
    assert rules == [f"%{admin_group} ALL=(ALL:ALL) NOPASSWD:EXEC: ALL"]
    assert host.run("visudo -c").rc == 0


def test_locale(host: Any) -> None:
    assert f"LANG={LOCALE}" in host.file("/etc/default/locale").content_string.splitlines()
    assert "fr_FR.utf8" in host.run("locale -a").stdout.split()


def test_timezone(host: Any) -> None:
    assert host.file("/etc/localtime").linked_to == f"/usr/share/zoneinfo/{TIMEZONE}"
    assert host.file("/etc/timezone").content_string.strip() == TIMEZONE
    assert host.run("date +%Z").stdout.strip() in ("CET", "CEST")


def test_chrony_follows_the_time_servers(host: Any, hostvars: dict[str, Any], in_container: bool) -> None:
    service = host.service("chrony")
    assert service.is_enabled and service.is_running
    servers = [
        line.split()[1]
        for line in host.file("/etc/chrony/chrony.conf").content_string.splitlines()
        if line.startswith("server ")
    ]
    assert servers == list(hostvars["bastide_time_servers"])
    # chronyc answers (its command socket is local only: cmdport 0).
    assert host.run("chronyc -n tracking").rc == 0
    if in_container:
        # The clock belongs to the machine: chronyd must not try to set it.
        assert " -x" in host.run("systemctl show -p ExecStart chrony").stdout


def test_unattended_security_upgrades(host: Any) -> None:
    assert host.package("unattended-upgrades").is_installed
    dump = host.run("apt-config dump").stdout
    assert 'APT::Periodic::Unattended-Upgrade "1";' in dump
    assert 'APT::Periodic::Update-Package-Lists "1";' in dump
    assert "label=Debian-Security" in dump
    for timer in ("apt-daily.timer", "apt-daily-upgrade.timer"):
        assert host.service(timer).is_enabled, f"{timer} disabled"


def test_journald_persistent_and_compressed(host: Any) -> None:
    config = host.run("systemd-analyze cat-config systemd/journald.conf").stdout
    effective = [line for line in config.splitlines() if line and not line.startswith("#")]
    assert "Storage=persistent" in effective
    assert "Compress=yes" in effective
    journal = host.file("/var/log/journal")
    assert journal.is_directory
    machine_id = host.file("/etc/machine-id").content_string.strip()
    assert host.file(f"/var/log/journal/{machine_id}").is_directory, "journal not written to disk"


def test_mail_relay_listens_on_loopback_only(host: Any, hostvars: dict[str, Any]) -> None:
    assert host.service("postfix").is_running
    listeners = host.run("ss -H -ltn 'sport = :25'").stdout.split("\n")
    addresses = [line.split()[3].rsplit(":", 1)[0].strip("[]") for line in listeners if line.strip()]
    assert addresses, "nothing listens on port 25"
    for address in addresses:
        assert ipaddress.ip_address(address).is_loopback, f"port 25 open on {address}"
    relay = hostvars["bastide_smtp_relay"]
    assert host.run("postconf -h relayhost").stdout.strip() == f"[{relay['host']}]:{relay.get('port', 25)}"
    assert host.run("postconf -h inet_interfaces").stdout.strip() == "loopback-only"


def test_root_mail_goes_to_the_syndicat(host: Any, hostvars: dict[str, Any]) -> None:
    contact = hostvars["bastide_syndicat"]["contact_email"]
    assert host.run("postalias -q root /etc/aliases").stdout.strip() == contact


def test_apt_proxy(host: Any, hostvars: dict[str, Any]) -> None:
    proxy = hostvars.get("bastide_http_proxy", "")
    dump = host.run("apt-config dump Acquire::http::Proxy").stdout
    if proxy:
        assert f'Acquire::http::Proxy "{proxy}";' in dump
    else:
        assert not host.file("/etc/apt/apt.conf.d/01bastide-proxy").exists


def test_extra_cas_are_trusted(host: Any, hostvars: dict[str, Any]) -> None:
    bundle = host.file("/etc/ssl/certs/ca-certificates.crt").content_string
    for ca in hostvars.get("bastide_extra_cas", []):
        installed = host.file(f"/usr/local/share/ca-certificates/bastide-{ca['name']}.crt")
        assert installed.exists
        body = "".join(ca["pem"].split("-----")[2].split())
        assert body[:200] in "".join(bundle.split()), f"{ca['name']} not in the CA bundle"
