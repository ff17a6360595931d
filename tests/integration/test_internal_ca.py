"""The syndicat's own CA on real lab hosts (``tls.mode: internal``): certificates issued by it
and served, then renewed by the administration host's timer. It switches the inventory's TLS
mode, so it runs after the services' modules, on the session's deployed lab
(``first_deploy`` in tests/lab_fixtures.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bastide.core.inventory import load
from lab_fixtures import Deployed, Env, admin_host, assert_no_secret_leaked, bastide, private_keyring

pytestmark = pytest.mark.lab


def test_internal_ca_mode_issues_and_serves_syndicat_certificates(
    first_deploy: Deployed, deploy_env: Env, tmp_path: Path
) -> None:
    """The same inventory switched to ``tls.mode: internal``: bastide creates the syndicat's CA
    (key in the keyring, certificate beside the inventory), the host's certificates are re-issued
    by it, nginx serves them, and the role checks pass. The host is deployed through one of its
    communes (`--limit COMMUNE`): that host alone is touched, and it serves its communes' sites.
    It leaves the inventory in internal mode, only this host re-deployed."""
    from bastide.core import pki

    inventory_dir = Path(deploy_env["BASTIDE_INVENTORY"])
    data = yaml.safe_load((inventory_dir / "syndicat.yml").read_text())
    data["settings"]["tls"]["mode"] = "internal"
    (inventory_dir / "syndicat.yml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    inventory = load(inventory_dir)
    host = inventory.hosts[0]
    commune = inventory.communes_on(host.name)[-1]
    summary = json.loads(
        bastide("deploy", str(inventory_dir), "--limit", commune.slug, "--json", env=deploy_env).stdout
    )
    assert summary["ok"], summary["failures"]
    assert set(summary["hosts"]) == {host.name}
    neighbours = {c.slug for c in inventory.communes_on(host.name)}
    if inventory.identity is not None and inventory.identity.host == host.name:
        neighbours.add("_syndicat")  # the SSO portal, on the same host
    assert {site["commune"] for site in summary["sites"]} == neighbours
    ca_pem = pki.ca_certificate_path(inventory_dir)
    assert ca_pem.is_file(), "the deploy created the syndicat's CA certificate"
    keyring = private_keyring(deploy_env)
    assert keyring.has(pki.CA_SCOPE, pki.CA_KEY_NAME), "the CA key lives in the keyring"
    assert not any(p.suffix == ".key" or "BEGIN EC PRIVATE" in p.read_text(errors="replace")
                   for p in inventory_dir.rglob("*") if p.is_file() and "keyring" not in p.parts)  # fmt: skip
    report = json.loads(
        bastide("verify", str(inventory_dir), "--limit", host.name, "--json", env=deploy_env).stdout
    )
    assert report["ok"], [c for c in report["checks"] if c["outcome"] == "failed"]
    issuers = [
        c for c in report["checks"] if c["test"] == "test_internal_certificate_not_signed_by_anyone_else"
    ]
    assert issuers and all(c["outcome"] == "passed" for c in issuers)
    # What a browser sees on the front door: a chain to the syndicat's CA for the site's name.
    import socket
    import ssl

    site = next(s for c in inventory.communes_on(host.name) for s in c.sites())
    context = ssl.create_default_context(cafile=str(ca_pem))
    with (
        socket.create_connection((host.address, 443), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=site.fqdn) as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def _served(env: Env, inventory_dir: Path, host: str, want: Any = None) -> tuple[int, dict[str, Any]]:
    """`bastide tls status` for one host: (exit code, {fqdn: site}). With ``want`` (a predicate
    on the sites), waits for nginx's reload to have taken effect first."""
    import time

    deadline = time.monotonic() + 30
    while True:
        result = bastide("tls", "status", str(inventory_dir), "--limit", host, "--json", env=env, check=False)
        sites = {site["fqdn"]: site for site in json.loads(result.stdout)["sites"]}
        if want is None or want(sites) or time.monotonic() > deadline:
            return result.returncode, sites
        time.sleep(1)


def _renew(env: Env, inventory_dir: Path, host: str, *extra: str) -> dict[str, Any]:
    summary = json.loads(
        bastide("tls", "renew", str(inventory_dir), "--limit", host, "--json", *extra, env=env).stdout
    )
    assert summary["ok"], summary["failures"] or summary["errors"]
    return summary


def test_internal_certificates_renew_from_the_administration_host_timer(
    first_deploy: Deployed, deploy_env: Env, tmp_path: Path
) -> None:
    """Automatic renewal in internal mode, end to end. The one thing a test cannot wait for is
    time, so each certificate of the host is replaced by what 85 days would leave of it: the same
    key, names and CA, ending in 5 days. Then the host's own check raises the alarm, and the
    renewal timer's service — installed by `bastide tls timer install`, run with exactly its
    command and environment — re-issues every certificate, nginx serves the new ones, and the
    next run has nothing to do. Relies on the previous test (the host is on the internal CA)."""
    import shlex
    import subprocess
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    from bastide.core import pki
    from bastide.core.tls import served, timer

    inventory_dir = Path(deploy_env["BASTIDE_INVENTORY"])
    inventory = load(inventory_dir)
    assert inventory.settings.tls.mode == "internal"
    host = inventory.hosts[0]
    on_host = admin_host(deploy_env, host.name)
    code, before = _served(deploy_env, inventory_dir, host.name)
    assert code == 0 and {s["state"] for s in before.values()} == {"ok"}, before

    # Nothing is due: a renewal run re-issues nothing and changes nothing.
    idle = _renew(deploy_env, inventory_dir, host.name)
    assert idle["renewed"] == [] and idle["changes"] == []

    keyring = private_keyring(deploy_env)
    ca_key = pki.key_from_pem(keyring.get(pki.CA_SCOPE, pki.CA_KEY_NAME))
    ca_cert = pki.load_ca_certificate(inventory_dir)
    assert ca_cert is not None
    now = datetime.now(UTC)
    aged_serials = {}
    for commune in inventory.communes_on(host.name):
        site = commune.sites()[0]
        current = served.fetch(host.address, site.fqdn)
        builder = (
            x509.CertificateBuilder()
            .subject_name(current.subject)
            .issuer_name(ca_cert.subject)
            .public_key(current.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=85))
            .not_valid_after(now + timedelta(days=5))
        )
        for extension in current.extensions:
            builder = builder.add_extension(extension.value, extension.critical)
        aged = builder.sign(ca_key, hashes.SHA256())
        written = on_host.run(
            "printf '%%s' %s > %s",  # testinfra formats the command with %
            aged.public_bytes(serialization.Encoding.PEM).decode(),
            f"/etc/bastide/tls/{commune.slug}/cert.pem",
        )
        assert written.rc == 0, written.stderr
        aged_serials[commune.slug] = format(aged.serial_number, "x")
    assert on_host.run("systemctl reload nginx").rc == 0
    by_commune = {s.fqdn: c.slug for c in inventory.communes_on(host.name) for s in c.sites()}
    code, aged_sites = _served(
        deploy_env,
        inventory_dir,
        host.name,
        lambda sites: all(sites[f]["serial"] == aged_serials[c] for f, c in by_commune.items()),
    )
    assert code == 1, "five days left is an alarm"
    assert {aged_sites[f]["state"] for f in by_commune} == {"overdue"}, aged_sites
    alarm = on_host.run("systemctl start bastide-tls-check.service")
    assert alarm.rc != 0, "the host's daily check fails while a certificate is near its end"

    # The administration host's timer, with an operator of its own.
    identity = tmp_path / "renewal.age"
    bastide(
        "keys",
        "operator",
        "add",
        str(inventory_dir),
        "renewal-timer",
        "--identity",
        str(identity),
        env=deploy_env,
    )
    units = tmp_path / "units"
    bastide(
        "tls", "timer", "install", str(inventory_dir), "--identity", str(identity),
        "--unit-dir", str(units), "--no-enable", env=deploy_env,
    )  # fmt: skip
    service = (units / f"{timer.unit_name(inventory)}.service").read_text()
    lines = [line.split("=", 1) for line in service.splitlines() if "=" in line and not line.startswith("#")]
    argv = shlex.split(next(value for key, value in lines if key == "ExecStart"))
    environment = dict(shlex.split(value)[0].split("=", 1) for key, value in lines if key == "Environment")
    # What systemd gives a system service: its own environment, nothing of this shell's.
    run = subprocess.run(
        argv, env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", **environment},
        cwd="/", capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    code, renewed = _served(
        deploy_env,
        inventory_dir,
        host.name,
        lambda sites: all(sites[f]["serial"] != aged_serials[c] for f, c in by_commune.items()),
    )
    assert code == 0 and {s["state"] for s in renewed.values()} == {"ok"}, renewed
    assert all(s["days_left"] > 80 for s in renewed.values())
    assert all(
        renewed[f]["serial"] not in (aged_serials[c], before[f]["serial"]) for f, c in by_commune.items()
    )
    assert on_host.run("systemctl start bastide-tls-check.service").rc == 0

    # Renewed: the next run has nothing to do; --force re-issues every certificate regardless.
    again = _renew(deploy_env, inventory_dir, host.name)
    assert again["renewed"] == [] and again["changes"] == []
    forced = _renew(deploy_env, inventory_dir, host.name, "--force")
    identity = {"identity"} if inventory.identity and inventory.identity.host == host.name else set()
    assert {r["certificate"] for r in forced["renewed"]} == {
        c.slug for c in inventory.communes_on(host.name)
    } | identity


def test_no_secret_value_in_the_internal_ca_runs(first_deploy: Deployed, deploy_env: Env) -> None:
    """The CA's key and every other secret: in no file of the runs, nor in the inventory. Runs last."""
    assert_no_secret_leaked(deploy_env, [])
