"""The run-time agent and the Ansible lookup ``bastide_secret``, run for real with ansible-playbook."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bastide.core.keys import KdfParams, Keyring, PassphraseOperator, SecretSpec, fetch, serve
from bastide.paths import ansible_plugins_dir

# Small Argon2id parameters keep the tests fast; production uses RFC 9106's defaults.
PASSPHRASE = "correct horse battery staple"


def fast_kdf() -> KdfParams:
    return KdfParams("argon2id", iterations=1, lanes=1, memory_kib=8)


ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")

PLAYBOOK = """
- name: Use bastide secrets
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Write the database password where the test can read it
      ansible.builtin.copy:
        content: "{{ lookup('bastide_secret', 'ours-les-bains', 'postgresql-whoami') }}"
        dest: "{{ out_dir }}/postgresql-whoami"
        mode: "0600"
      no_log: true
    - name: Write the syndicat-wide key too
      ansible.builtin.copy:
        content: "{{ lookup('bastide_secret', '_syndicat', 'internal-ca-key') }}"
        dest: "{{ out_dir }}/internal-ca-key"
        mode: "0600"
      no_log: true
"""

UNKNOWN = """
- name: Ask for a secret the keyring lacks
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Unknown secret
      ansible.builtin.debug:
        msg: "{{ lookup('bastide_secret', 'ours-les-bains', 'ldap-whoami') }}"
      no_log: true
"""


@pytest.fixture
def ring(tmp_path: Path) -> Keyring:
    ring = Keyring.create(tmp_path / "inventory", PassphraseOperator("alice", PASSPHRASE, fast_kdf()))
    ring.ensure(
        [
            SecretSpec("ours-les-bains", "postgresql-whoami"),
            SecretSpec("ours-les-bains", "app-whoami", "app-secret"),
        ]
    )
    ring.put(
        "_syndicat", "internal-ca-key", b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n", kind="key"
    )
    return ring


def ask(env: dict[str, str], payload: object) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(env["BASTIDE_KEYS_SOCKET"])
        client.sendall((payload if isinstance(payload, bytes) else json.dumps(payload).encode()) + b"\n")
        return json.loads(client.makefile("rb").readline())


def test_agent_serves_and_refuses(ring: Keyring) -> None:
    with serve(ring) as env:
        socket_path = Path(env["BASTIDE_KEYS_SOCKET"])
        assert stat.S_IMODE(socket_path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(socket_path.stat().st_mode) == 0o600
        assert fetch("ours-les-bains", "postgresql-whoami", env) == ring.get(
            "ours-les-bains", "postgresql-whoami"
        )
        assert ask(env, {"token": "guess", "scope": "ours-les-bains", "name": "postgresql-whoami"}) == {
            "error": "denied"
        }
        assert ask(env, {"scope": "ours-les-bains", "name": "postgresql-whoami"}) == {"error": "bad-request"}
        assert ask(env, b"not json") == {"error": "bad-request"}
        request = {"token": env["BASTIDE_KEYS_TOKEN"], "scope": "ours-les-bains", "name": "nope"}
        assert ask(env, request) == {"error": "unknown"}
        with pytest.raises(LookupError, match="unknown"):
            fetch("elsewhere", "postgresql-whoami", env)
        assert env.served == {("ours-les-bains", "postgresql-whoami")}
        assert env.refused == 1
    assert not socket_path.exists() and not socket_path.parent.exists()
    with serve(ring) as second:
        assert second["BASTIDE_KEYS_TOKEN"] != env["BASTIDE_KEYS_TOKEN"]
    with pytest.raises(OSError):
        fetch("ours-les-bains", "postgresql-whoami", env)


def run_playbook(tmp_path: Path, playbook: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "playbook.yml"
    path.write_text(playbook, encoding="utf-8")
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "BASTIDE_KEYS_"))
    }
    environment.update(
        ANSIBLE_LOOKUP_PLUGINS=str(ansible_plugins_dir() / "lookup"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
        ANSIBLE_REMOTE_TEMP=str(tmp_path / "ansible-remote"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOG_PATH=str(tmp_path / "ansible.log"),
        **env,
    )
    return subprocess.run(
        [
            str(ANSIBLE_PLAYBOOK),
            "-vvv",
            "-i",
            "localhost,",
            "-e",
            f"out_dir={out_dir}",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(path),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_lookup_in_a_real_playbook_leaks_nothing(ring: Keyring, tmp_path: Path) -> None:
    password = ring.get("ours-les-bains", "postgresql-whoami").decode()
    ca_key = ring.get("_syndicat", "internal-ca-key").decode()
    with serve(ring) as env:
        result = run_playbook(tmp_path, PLAYBOOK, dict(env))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert (tmp_path / "out" / "postgresql-whoami").read_text() == password
    assert (tmp_path / "out" / "internal-ca-key").read_text() == ca_key
    log = (tmp_path / "ansible.log").read_text()
    for value in (password, ca_key, "MC4CAQAwBQYDK2VwBCIEI"):
        assert value not in output
        assert value not in log
    assert "censored" in output  # no_log did its job, at -vvv
    assert env.served == {("ours-les-bains", "postgresql-whoami"), ("_syndicat", "internal-ca-key")}


def test_lookup_errors_are_clear(ring: Keyring, tmp_path: Path) -> None:
    with serve(ring) as env:
        unknown = run_playbook(tmp_path, UNKNOWN, dict(env))
        wrong_token = run_playbook(tmp_path, PLAYBOOK, {**env, "BASTIDE_KEYS_TOKEN": "x"})
    absent = run_playbook(tmp_path, PLAYBOOK, {})
    gone = run_playbook(tmp_path, PLAYBOOK, dict(env))  # the agent has stopped
    secret_values = [ring.get(i.scope, i.name).decode() for i in ring.secrets()]
    for result, expected in (
        (unknown, "has no secret 'ldap-whoami' for 'ours-les-bains'"),
        (wrong_token, "refused the request"),
        (absent, "no bastide key agent"),
        (gone, "did not answer"),
    ):
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert expected in output, output[-3000:]
        for value in secret_values:
            assert value not in output
