"""Bad role variables fail before any change, with a message naming the variable.

The playbook targets a host on a closed loopback port: validation (argument specs and the
roles' assert tasks) runs on the controller, so a run that gets as far as contacting the host
has passed validation, and one that fails before has changed nothing anywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"

GOOD_VARS: dict[str, Any] = {
    "bastide_syndicat": {"name": "Test", "siren": "200070019", "contact_email": "dsi@example.fr"},
    "bastide_admins": [{"name": "dsi-test", "ssh_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDqK test"]}],
    "bastide_admin_group": "bastide-admins",
    "bastide_time_servers": ["ntp.example.fr"],
    "bastide_smtp_relay": {"host": "smtp.example.fr", "port": 25},
    "bastide_hardening_level": "intermediary",
    "bastide_extra_cas": [],
    "bastide_http_proxy": "",
}


def run_role(tmp_path: Path, role: str, overrides: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    inventory = {
        "all": {
            "vars": {**GOOD_VARS, **overrides},
            "hosts": {"nowhere": {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_user": "root"}},
        }
    }
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(
        yaml.safe_dump(
            [{"name": "Validate", "hosts": "all", "gather_facts": False, "roles": [{"role": role}]}]
        )
    )
    env = {
        "PATH": f"{ANSIBLE_PLAYBOOK.parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ConnectTimeout=3",
    }
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "play.yml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )


def outcome(result: subprocess.CompletedProcess[str]) -> tuple[str, str, str]:
    """(first failed task, its message, 'failed'|'unreachable') from the json callback."""
    data = json.loads(result.stdout)
    for play in data["plays"]:
        for task in play["tasks"]:
            for host_result in task["hosts"].values():
                if host_result.get("unreachable"):
                    return task["task"]["name"], str(host_result.get("msg", "")), "unreachable"
                if host_result.get("failed"):
                    return task["task"]["name"], str(host_result.get("msg", "")), "failed"
    return "", "", "ok"


@pytest.mark.skipif(
    not ANSIBLE_PLAYBOOK.exists(), reason="ansible-playbook is not installed beside this Python"
)
@pytest.mark.parametrize(
    ("role", "overrides", "expected"),
    [
        ("hardening", {"bastide_hardening_level": "extreme"}, "hardening_level"),
        ("hardening", {"hardening_ssh_port": 70000}, "hardening_ssh_port"),
        ("hardening", {"hardening_umask": "rwx"}, "umask"),
        ("base", {"bastide_smtp_relay": {"host": "smtp.example.fr", "port": 70000}}, "base_smtp_relay"),
        ("base", {"bastide_admins": []}, "base_admins"),
        ("base", {"bastide_http_proxy": "proxy:3128"}, "base_http_proxy"),
        ("base", {"bastide_extra_cas": [{"name": "x", "pem": "not a certificate"}]}, "base_extra_cas"),
        ("firewall", {"firewall_extra_tcp_ports": [70000]}, "outside 1-65535"),
        ("firewall", {"firewall_ssh_port": 0}, "outside 1-65535"),
        ("pki", {"bastide_tls": {"mode": "selfsigned"}}, "pki_mode"),
        (
            "pki",
            {"bastide_tls": {"mode": "acme", "acme_directory": "http://x", "acme_email": "a@b.fr"}},
            "pki_acme_directory",
        ),
        ("nginx", {"nginx_https_port": 70000}, "nginx_https_port"),
        ("nginx", {"nginx_tls_protocols": ["TLSv1.1"]}, "nginx_tls_protocols"),
        ("nginx", {"nginx_tls12_ciphers": ["AES256-SHA"]}, "nginx_tls12_ciphers"),
    ],
)
def test_bad_variables_fail_before_the_host_is_touched(
    tmp_path: Path, role: str, overrides: dict[str, Any], expected: str
) -> None:
    result = run_role(tmp_path, role, overrides)
    assert result.returncode != 0
    task, message, kind = outcome(result)
    assert kind == "failed", (task, message)
    assert expected in message, message


@pytest.mark.skipif(
    not ANSIBLE_PLAYBOOK.exists(), reason="ansible-playbook is not installed beside this Python"
)
@pytest.mark.parametrize("role", ["base", "hardening", "firewall"])
def test_good_variables_pass_validation(tmp_path: Path, role: str) -> None:
    # Valid input gets past validation and stops only when the (absent) host must be reached.
    _task, message, kind = outcome(run_role(tmp_path, role, {}))
    assert kind == "unreachable", message


INTERNAL_CA = {
    "bastide_tls": {"mode": "internal", "renew_before_days": 30, "alarm_before_days": 14},
    "bastide_internal_ca_pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
}


@pytest.mark.skipif(
    not ANSIBLE_PLAYBOOK.exists(), reason="ansible-playbook is not installed beside this Python"
)
def test_internal_renewal_thresholds(tmp_path: Path) -> None:
    """The alarm must come after renewal has had its chance: 1 <= alarm < renew < validity."""
    (tmp_path / "good").mkdir()
    _task, message, kind = outcome(run_role(tmp_path / "good", "pki", INTERNAL_CA))
    assert kind == "unreachable", message
    late = {**INTERNAL_CA, "bastide_tls": {**INTERNAL_CA["bastide_tls"], "alarm_before_days": 30}}
    (tmp_path / "late").mkdir()
    _task, message, kind = outcome(run_role(tmp_path / "late", "pki", late))
    assert kind == "failed"
    assert "pki_internal_alarm_before_days (30)" in message, message
