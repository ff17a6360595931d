"""Rotation on real lab hosts: ``bastide keys rotate COMMUNE`` gives the commune new secrets and
converges its host, so PostgreSQL and Redis refuse the old passwords and take the new ones,
while the other communes keep theirs. No value, old or new, appears in any output or run log.

Passwords reach the lab host on the standard input of the SSH session (never in a command
line), and assertion messages never quote them.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bastide.core.inventory import load
from lab_fixtures import Deployed, Env, bastide, private_keyring

pytestmark = pytest.mark.lab


def _values(env: dict[str, str]) -> dict[tuple[str, str], str]:
    """Every secret of the keyring, read with the test operator's identity."""
    keyring = private_keyring(env)
    return {
        (scope, info.name): keyring.get(scope, info.name).decode()
        for scope in keyring.scopes()
        for info in keyring.secrets(scope)
    }


class Target:
    """One commune service's database role and Redis user on its lab host, reached over SSH as
    the inventory's administrator (root may not log in once the host is hardened)."""

    def __init__(self, lab: Any, user: str, address: str, slug: str, service: str) -> None:
        self.lab, self.user, self.address, self.slug, self.service = lab, user, address, slug, service
        self.role = f"{slug}_{service}".replace("-", "_")
        self.redis_user = f"{slug}-{service}"

    def _ssh(self, command: str, password: str) -> tuple[str, str]:
        result = subprocess.run(
            [
                "ssh", "-i", self.lab.ssh_key, "-o", f"UserKnownHostsFile={self.lab.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "LogLevel=ERROR", f"{self.user}@{self.address}", command,
            ],
            input=password + "\n", capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        return result.stdout.strip(), result.stderr.strip()

    def postgresql(self, password: str) -> tuple[str, str]:
        """Log in over loopback TCP as the commune's role to its database; psql's (out, err)."""
        return self._ssh(
            "read -r PGPASSWORD && export PGPASSWORD && "
            f"psql -XAtqw 'host=127.0.0.1 user={self.role} dbname={self.role}' -c 'SELECT current_user'",
            password,
        )

    def redis(self, password: str) -> tuple[str, str]:
        """Write one of its own keys as the commune's Redis user; redis-cli's (out, err)."""
        return self._ssh(
            "read -r REDISCLI_AUTH && export REDISCLI_AUTH && redis-cli --no-auth-warning "
            f"-h 127.0.0.1 --user {self.redis_user} SET {self.redis_user}:rotation-probe 1",
            password,
        )


def _needs() -> dict[str, list[str]]:
    from bastide.core.inventory import catalogue

    return {name: list(service.needs) for name, service in catalogue.services().items()}


def _backed(communes: list[Any], needs: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(slug, service) of the first service of each commune that needs PostgreSQL and Redis."""
    found = []
    for commune in communes:
        service = next((s for s in commune.services if {"postgresql", "redis"} <= set(needs[s])), None)
        if service is not None:
            found.append((commune.slug, service))
    return found


@pytest.fixture(scope="module")
def rotation(lab: Any, first_deploy: Deployed, deploy_env: Env) -> Iterator[dict[str, Any]]:
    """On the session's deployed lab (its last module: the rotated commune keeps its new
    secrets), note a host's communes' secrets, rotate one commune, note them again."""
    env = deploy_env
    inventory = Path(env["BASTIDE_INVENTORY"])
    loaded = load(inventory)
    # The rotated commune and a neighbour on the same host, both with a service that needs
    # PostgreSQL and Redis (the demo inventory has several such communes per host).
    needs = _needs()
    host = next(h for h in loaded.hosts if len(_backed(loaded.communes_on(h.name), needs)) >= 2)
    (commune, service), (neighbour, neighbour_service) = _backed(loaded.communes_on(host.name), needs)[:2]
    admin = loaded.settings.ssh.user
    before = _values(env)
    outputs = [bastide("keys", "rotate", str(inventory), commune, env=env)]
    after = _values(env)
    outputs.append(bastide("keys", "status", str(inventory), "--json", env=env))
    status = json.loads(outputs[-1].stdout)
    # What `keys rotate` renews: the secrets bastide generated. The others were given to it, such
    # as the one-time passwords the DSI handed out (`agent password`), and stay as they are.
    scopes = status["scopes"].items()
    generated = {(scope, e["name"]) for scope, entries in scopes for e in entries if e["generated"]}
    yield {
        "env": env,
        "state": Path(env["BASTIDE_STATE_DIR"]),
        "commune": commune,
        "target": Target(lab, admin, host.address, commune, service),
        "neighbour": Target(lab, admin, host.address, neighbour, neighbour_service),
        "before": before,
        "after": after,
        "outputs": outputs,
        "generated": generated,
        "status": status,
    }


def test_every_generated_secret_of_the_commune_changed(rotation: dict[str, Any]) -> None:
    commune = rotation["commune"]
    before, after = rotation["before"], rotation["after"]
    generated = rotation["generated"]
    mine = [key for key in before if key[0] == commune and key in generated]
    assert mine, f"the keyring held no secret for {commune} after the deploy"
    unchanged = [name for scope, name in mine if before[(scope, name)] == after[(scope, name)]]
    assert unchanged == [], f"not rotated: {unchanged}"
    given = [key for key in before if key[0] == commune and key not in generated]
    assert [name for scope, name in given if before[(scope, name)] != after[(scope, name)]] == []
    others = [key for key in before if key[0] != commune and before[key] != after[key]]
    assert others == [], f"rotating {commune} changed other scopes' secrets: {others}"


def test_status_records_the_rotation(rotation: dict[str, Any]) -> None:
    secrets = [info for info in rotation["status"]["scopes"][rotation["commune"]] if info["generated"]]
    assert secrets and all(info["rotations"] == 1 and info["last_rotated"] for info in secrets), [
        (info["name"], info["rotations"], info["last_rotated"]) for info in secrets
    ]


def test_postgresql_refuses_the_old_password_and_takes_the_new(rotation: dict[str, Any]) -> None:
    target: Target = rotation["target"]
    name = (target.slug, f"postgresql-{target.service}")
    out, err = target.postgresql(rotation["before"][name])
    assert out == "" and "password authentication failed" in err, (
        f"old password of {target.role}: {err[:200]}"
    )
    out, err = target.postgresql(rotation["after"][name])
    assert out == target.role, f"new password of {target.role}: {err[:300]}"


def test_redis_refuses_the_old_password_and_takes_the_new(rotation: dict[str, Any]) -> None:
    target: Target = rotation["target"]
    name = (target.slug, f"redis-{target.service}")
    out, err = target.redis(rotation["before"][name])
    assert "WRONGPASS" in out + err and "OK" not in out, f"old password of {target.redis_user}: {out} {err}"
    out, err = target.redis(rotation["after"][name])
    assert out == "OK", f"new password of {target.redis_user}: {out} {err}"


def test_the_neighbour_keeps_working_with_its_unchanged_passwords(rotation: dict[str, Any]) -> None:
    neighbour: Target = rotation["neighbour"]
    values = rotation["after"]
    out, err = neighbour.postgresql(values[(neighbour.slug, f"postgresql-{neighbour.service}")])
    assert out == neighbour.role, f"{neighbour.role}: {err[:300]}"
    out, err = neighbour.redis(values[(neighbour.slug, f"redis-{neighbour.service}")])
    assert out == "OK", f"{neighbour.redis_user}: {out} {err}"


def test_prune_removes_the_old_repository_key_once_the_host_uses_the_new(rotation: dict[str, Any]) -> None:
    """The rotated password was added to the commune's repository by the deploy (the server's
    writer may not remove keys); `backup prune` removes the old one from the controller, after
    which the old password opens nothing."""
    from bastide.core.backup import buckets, credentials, repository

    env, commune = rotation["env"], rotation["commune"]
    inventory = load(Path(env["BASTIDE_INVENTORY"]))
    target = buckets.target_of(inventory, commune)
    keyring = private_keyring(env)
    old = rotation["before"][(commune, credentials.REPOSITORY)]

    def opens(password: str) -> subprocess.CompletedProcess[str]:
        cache = rotation["state"] / "restic-cache"
        opened = {**repository.environment(target, keyring, cache), "RESTIC_PASSWORD": password}
        return subprocess.run(["restic", "cat", "config"], env=opened, capture_output=True, text=True,
                              check=False)  # fmt: skip

    assert opens(old).returncode == 0, "the deploy kept the old key beside the new"
    result = bastide("backup", "prune", env["BASTIDE_INVENTORY"], "--commune", commune, "--json", env=env)
    rotation["outputs"].append(result)
    (pruned,) = json.loads(result.stdout)["communes"]
    assert len(pruned["keys_removed"]) == 1 and pruned["keys_kept_because"] is None, pruned
    refused = opens(old)
    assert refused.returncode != 0 and "wrong password" in refused.stderr, refused.stderr[-300:]
    assert opens(rotation["after"][(commune, credentials.REPOSITORY)]).returncode == 0


def test_no_secret_value_in_outputs_or_run_logs(rotation: dict[str, Any]) -> None:
    values = {v for v in [*rotation["before"].values(), *rotation["after"].values()] if len(v) >= 16}
    assert values
    texts = {f"output of bastide command {i}": r.stdout + r.stderr for i, r in enumerate(rotation["outputs"])}
    for path in rotation["state"].rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    leaks = sorted(where for where, text in texts.items() if any(value in text for value in values))
    assert leaks == [], f"secret values found in: {leaks}"
