"""Checks of the hardening role (ANSSI BP-028) on a converged host.

Run by ``bastide verify`` with testinfra's ansible backend. Controls that need a real kernel are
skipped with "not applicable in a container: ..." inside systemd-nspawn, never passed.
Expected values come from the inventory when it overrides them, else from the role's defaults.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

DEFAULTS = Path(__file__).resolve().parents[1] / "defaults" / "main.yml"

MODERN_CIPHERS = {
    "chacha20-poly1305@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
}
AEAD_CIPHERS = {"chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com"}
WEAK_KEX = re.compile(r"sha1|group1-|group14-|group-exchange")


@cache
def _defaults() -> dict[str, Any]:
    return yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))


def setting(hostvars: dict[str, Any], name: str) -> Any:
    """The inventory's value of a role variable, else the role's (untemplated) default."""
    return hostvars.get(name, _defaults()[name])


@pytest.fixture()
def level(hostvars: dict[str, Any]) -> str:
    return str(hostvars.get("hardening_level", hostvars.get("bastide_hardening_level", "intermediary")))


@pytest.fixture()
def admin_group(hostvars: dict[str, Any]) -> str:
    return str(hostvars.get("bastide_admin_group", "bastide-admins"))


@pytest.fixture()
def sshd(host: Any) -> dict[str, str]:
    """sshd's effective configuration (``sshd -T``)."""
    output = host.check_output("sshd -T")
    return dict(line.split(" ", 1) for line in output.splitlines() if " " in line)


def not_applicable(in_container: bool, reason: str) -> None:
    if in_container:
        pytest.skip(f"not applicable in a container: {reason}")


# --- SSH -----------------------------------------------------------------------------------


def test_ssh_no_root_keys_only(sshd: dict[str, str], admin_group: str) -> None:
    assert sshd["permitrootlogin"] == "no"
    assert sshd["passwordauthentication"] == "no"
    assert sshd["kbdinteractiveauthentication"] == "no"
    assert sshd["pubkeyauthentication"] == "yes"
    assert sshd["authenticationmethods"] == "publickey"
    assert sshd["permitemptypasswords"] == "no"
    assert sshd["hostbasedauthentication"] == "no"
    assert sshd["allowgroups"].split() == [admin_group]


def test_ssh_modern_algorithms_only(sshd: dict[str, str], level: str) -> None:
    ciphers = set(sshd["ciphers"].split(","))
    assert ciphers <= (AEAD_CIPHERS if level == "enhanced" else MODERN_CIPHERS)
    macs = sshd["macs"].split(",")
    assert all(mac.endswith("-etm@openssh.com") and "sha1" not in mac and "md5" not in mac for mac in macs)
    kex = sshd["kexalgorithms"].split(",")
    assert not [k for k in kex if WEAK_KEX.search(k)], kex
    assert "ssh-rsa" not in sshd["hostkeyalgorithms"].split(",")


def test_ssh_limits_and_timeouts(sshd: dict[str, str], level: str) -> None:
    assert int(sshd["maxauthtries"]) <= (2 if level == "enhanced" else 3)
    assert int(sshd["logingracetime"]) <= 60
    assert 0 < int(sshd["clientaliveinterval"]) <= 300
    assert int(sshd["clientalivecountmax"]) <= 3
    assert "session:shell=" in sshd.get("channeltimeout", "")


def test_ssh_no_forwarding(sshd: dict[str, str]) -> None:
    for key in (
        "x11forwarding",
        "allowagentforwarding",
        "permittunnel",
        "gatewayports",
        "permituserenvironment",
    ):
        assert sshd[key] == "no", key


def test_ssh_files_protected(host: Any) -> None:
    config = host.file("/etc/ssh/sshd_config")
    assert (config.user, config.group, config.mode) == ("root", "root", 0o600)
    for key in host.run("ls /etc/ssh/ssh_host_*_key").stdout.split():
        private = host.file(key)
        assert private.user == "root" and private.mode == 0o600, key


# --- Accounts, PAM, shells -----------------------------------------------------------------


def _active_lines(host: Any, path: str) -> list[str]:
    return [
        line.split("#")[0].strip()
        for line in host.file(path).content_string.splitlines()
        if line.split("#")[0].strip()
    ]


def test_pam_lockout(host: Any, hostvars: dict[str, Any]) -> None:
    auth = [" ".join(line.split()) for line in _active_lines(host, "/etc/pam.d/common-auth")]
    assert auth[0] == "auth required pam_faillock.so preauth"
    assert "auth [default=die] pam_faillock.so authfail" in auth
    faillock = dict(
        (line.split("=")[0].strip(), line.split("=")[1].strip())
        for line in _active_lines(host, "/etc/security/faillock.conf")
        if "=" in line
    )
    assert int(faillock["deny"]) == int(setting(hostvars, "hardening_faillock_deny"))
    assert int(faillock["unlock_time"]) >= 900
    assert any("pam_faillock.so" in line for line in _active_lines(host, "/etc/pam.d/common-account"))


def test_pam_password_quality(host: Any, hostvars: dict[str, Any]) -> None:
    assert host.package("libpam-pwquality").is_installed
    password = _active_lines(host, "/etc/pam.d/common-password")
    assert any(re.match(r"password\s+requisite\s+pam_pwquality\.so", line) for line in password)
    unix = next(line for line in password if "pam_unix.so" in line)
    assert "yescrypt" in unix and "nullok" not in unix
    quality = dict(
        (line.split("=")[0].strip(), line.split("=")[1].strip())
        for line in _active_lines(host, "/etc/security/pwquality.conf")
        if "=" in line
    )
    assert int(quality["minlen"]) >= int(setting(hostvars, "hardening_pwquality_minlen"))
    assert int(quality["minclass"]) >= int(setting(hostvars, "hardening_pwquality_minclass"))


def test_no_empty_password_allowed(host: Any) -> None:
    for path in ("/etc/pam.d/common-auth", "/etc/pam.d/common-password"):
        assert "nullok" not in host.file(path).content_string


def test_login_shell_umask_and_tmout(host: Any, hostvars: dict[str, Any]) -> None:
    admin = hostvars["bastide_admins"][0]["name"]
    umask = str(setting(hostvars, "hardening_umask")).rjust(4, "0")
    assert host.check_output(f"runuser -l {admin} -c umask") == umask
    tmout = host.check_output(f"runuser -l {admin} -c 'echo $TMOUT; readonly -p | grep -c TMOUT'").split()
    assert tmout == [str(setting(hostvars, "hardening_tmout")), "1"]
    assert re.search(rf"^UMASK\s+0?{umask[1:]}$", host.file("/etc/login.defs").content_string, re.M)


def test_root_cannot_log_in_directly(host: Any) -> None:
    # Root keeps console access only; its password ages out (BP-028) and SSH refuses it (above).
    max_days = host.run("getent shadow root").stdout.split(":")[4]
    assert max_days and int(max_days) <= 365


# --- sudo ----------------------------------------------------------------------------------


def test_sudo_defaults(host: Any, hostvars: dict[str, Any]) -> None:
    assert host.run("visudo -c").rc == 0
    sudoers = "\n".join(_active_lines(host, "/etc/sudoers"))
    for option in ("use_pty", "noexec", "requiretty", "ignore_dot", "env_reset"):
        assert re.search(rf"^Defaults\s+{option}\b", sudoers, re.M), option
    assert f'logfile="{setting(hostvars, "hardening_sudo_logfile")}"' in sudoers
    assert "log_input" not in sudoers and "log_output" not in sudoers


def test_sudo_no_other_exemption(host: Any, admin_group: str) -> None:
    """NOPASSWD and !authenticate appear only in the administrators' documented rule."""
    files = ["/etc/sudoers", *host.run("find /etc/sudoers.d -type f").stdout.split()]
    for path in files:
        for line in _active_lines(host, path):
            if "NOPASSWD" in line or "!authenticate" in line:
                assert line.startswith(f"%{admin_group} "), f"{path}: {line}"
    sudoers_d = host.file("/etc/sudoers.d")
    assert sudoers_d.user == "root" and sudoers_d.mode & 0o007 == 0


def test_sudo_is_logged(host: Any, hostvars: dict[str, Any]) -> None:
    log = host.file(str(setting(hostvars, "hardening_sudo_logfile")))
    assert log.exists and log.mode & 0o007 == 0
    # This very check runs through sudo when the connection is an administrator's.
    if hostvars.get("ansible_user", "root") != "root":
        assert "COMMAND=" in log.content_string


# --- Files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "group", "mode"),
    [
        ("/etc/passwd", "root", 0o644),
        ("/etc/group", "root", 0o644),
        ("/etc/shadow", "shadow", 0o640),
        ("/etc/gshadow", "shadow", 0o640),
        ("/etc/sudoers", "root", 0o440),
    ],
)
def test_account_files_permissions(host: Any, path: str, group: str, mode: int) -> None:
    file = host.file(path)
    assert (file.user, file.group, file.mode) == ("root", group, mode)


def _find(host: Any, hostvars: dict[str, Any], criteria: str) -> list[str]:
    paths = " ".join(setting(hostvars, "hardening_scan_paths"))
    return host.run(f"find {paths} -xdev {criteria} 2>/dev/null").stdout.split()


def test_no_world_writable_files(host: Any, hostvars: dict[str, Any]) -> None:
    assert _find(host, hostvars, "-type f -perm -0002") == []


def test_world_writable_dirs_are_sticky(host: Any, hostvars: dict[str, Any]) -> None:
    assert _find(host, hostvars, "-type d -perm -0002 ! -perm -1000") == []


def test_setid_executables_are_allowed(host: Any, hostvars: dict[str, Any]) -> None:
    found = set(_find(host, hostvars, "-type f -perm /6000"))
    assert found, "no set-id executable at all: the scan did not run"
    assert found <= set(setting(hostvars, "hardening_suid_allowlist")), sorted(found)


def test_forbidden_packages_absent(host: Any, hostvars: dict[str, Any]) -> None:
    installed = [
        name for name in setting(hostvars, "hardening_forbidden_packages") if host.package(name).is_installed
    ]
    assert installed == []


# --- auditd --------------------------------------------------------------------------------


def test_audit_rules_installed(host: Any) -> None:
    rules = host.file("/etc/audit/rules.d/50-bastide.rules")
    assert rules.exists and rules.mode & 0o007 == 0
    content = rules.content_string
    for watched in ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/sudoers", "/etc/sudoers.d/"):
        assert f"-w {watched} -p wa" in content, watched
    assert "-k time-change" in content and "-k modules" in content
    assert "-F path=/usr/bin/sudo -F perm=x" in content


def test_audit_rules_loaded(host: Any, in_container: bool) -> None:
    not_applicable(in_container, "auditd needs the kernel's audit subsystem, which belongs to the machine")
    assert host.service("auditd").is_running
    loaded = host.check_output("auditctl -l")
    for expected in (
        "-w /etc/shadow -p wa",
        "-w /etc/sudoers -p wa",
        "-k time-change",
        "-k modules",
        "path=/usr/bin/sudo",
    ):
        assert expected in loaded, expected


# --- AIDE ----------------------------------------------------------------------------------


def test_aide_database_and_timer(host: Any) -> None:
    assert host.package("aide").is_installed
    assert host.file("/var/lib/aide/aide.db").exists
    timer = host.service("bastide-aide-check.timer")
    assert timer.is_enabled and timer.is_running
    assert "aide" in host.check_output("systemctl show -p ExecStart bastide-aide-check.service")


# --- Kernel --------------------------------------------------------------------------------


def test_kernel_sysctls(host: Any, hostvars: dict[str, Any], in_container: bool, level: str) -> None:
    not_applicable(in_container, "kernel parameters belong to the machine (/proc/sys is read-only)")
    expected = dict(setting(hostvars, "hardening_sysctls"))
    if level == "enhanced":
        expected.update(setting(hostvars, "hardening_sysctls_enhanced"))
    wrong = {}
    for key, value in expected.items():
        actual = " ".join(host.check_output(f"sysctl -n {key}").split())
        if actual != " ".join(str(value).split()):
            wrong[key] = actual
    assert wrong == {}


def test_kernel_modules_blacklisted(host: Any, hostvars: dict[str, Any], in_container: bool) -> None:
    not_applicable(in_container, "kernel modules belong to the machine")
    for module in setting(hostvars, "hardening_blacklisted_modules"):
        assert "/bin/false" in host.run(f"modprobe -n -v {module}").stdout, module
