"""`bastide tls` without the lab: judging served certificates (against a real local TLS server),
the administration host's renewal timer (units checked by systemd-analyze), and every refusal
before anything is written."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bastide.commands import main
from bastide.core import pki
from bastide.core.ansible.render import global_vars
from bastide.core.inventory import load
from bastide.core.tls import policy, served, timer

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "inventories" / "demo"
# The demo with the tests' service on every commune: its hosts serve sites (the demo's serve none).
SYNDICAT = REPO / "tests" / "fixtures" / "syndicat"
NOW = datetime.now(UTC)


# --- certificates and a real TLS server ------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str = "AC de test") -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def make_leaf(
    names: list[str], days_left: float, ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    not_after = NOW + timedelta(days=days_left)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(NOW, not_after) - timedelta(days=60))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(ca[1], hashes.SHA256())
    )
    return cert, key


class TlsServer:
    """Answers TLS handshakes on 127.0.0.1 with one certificate, whatever the name asked."""

    def __init__(self, directory: Path, leaf: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]) -> None:
        cert_file, key_file = directory / "cert.pem", directory / "key.pem"
        cert_file.write_bytes(leaf[0].public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            leaf[1].private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert_file, key_file)
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _addr = self.socket.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                conn.close()

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.socket.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    servers: list[TlsServer] = []

    def start(leaf: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]) -> TlsServer:
        directory = tmp_path / f"server{len(servers)}"
        directory.mkdir()
        servers.append(TlsServer(directory, leaf))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


SITE = served.Site("srv", "127.0.0.1", "ours-les-bains", "whoami", "whoami.ours-les-bains.example.fr")


@pytest.mark.parametrize(
    ("names", "days_left", "trusted", "state"),
    [
        ([SITE.fqdn], 80, True, served.OK),
        ([SITE.fqdn], policy.RENEW_BEFORE_DAYS - 1, True, served.DUE),
        ([SITE.fqdn], policy.ALARM_BEFORE_DAYS - 1, True, served.OVERDUE),
        ([SITE.fqdn], -1, True, served.EXPIRED),
        (["whoami.ailleurs.example.fr"], 80, True, served.WRONG_NAME),
        (["*.ours-les-bains.example.fr"], 80, True, served.OK),
        (["*.example.fr"], 80, True, served.WRONG_NAME),  # a wildcard covers one label only
        ([SITE.fqdn], 80, False, served.UNTRUSTED),
    ],
)
def test_what_is_served_is_judged(
    serve: object, names: list[str], days_left: float, trusted: bool, state: str
) -> None:
    ca = make_ca()
    signer = ca if trusted else make_ca("Une autre AC")
    leaf = make_leaf(names, days_left, signer)
    server = serve(leaf)  # type: ignore[operator]
    seen = served.fetch("127.0.0.1", SITE.fqdn, port=server.port)
    assert seen.serial_number == leaf[0].serial_number
    verdict = served.judge(SITE, seen, ca=ca[0])
    assert verdict.state == state
    assert verdict.healthy == (state in (served.OK, served.DUE))
    assert verdict.serial == format(leaf[0].serial_number, "x")


def _lab_like_inventory(tmp_path: Path, mode: str, port_host: str = "127.0.0.1") -> Path:
    root = tmp_path / "inventory"
    shutil.copytree(SYNDICAT, root, ignore=shutil.ignore_patterns("keyring"))
    data = yaml.safe_load((root / "syndicat.yml").read_text())
    data["settings"]["tls"]["mode"] = mode
    data["hosts"][0]["address"] = port_host
    (root / "syndicat.yml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return root


def test_survey_checks_every_site_of_the_host_against_the_syndicat_ca(serve: object, tmp_path: Path) -> None:
    root = _lab_like_inventory(tmp_path, "internal")
    inventory = load(root)
    host = inventory.hosts[0].name
    fqdns = [site.fqdn for site in served.sites(inventory, [host])]
    # The identity host's too: the SSO portal.
    assert fqdns == [
        "documents.ours-les-bains.example.fr",
        "whoami.ours-les-bains.example.fr",
        "documents.saint-aubin-des-combes.example.fr",
        "whoami.saint-aubin-des-combes.example.fr",
        "auth.vallee-ours.example.fr",
    ]
    ca = make_ca()
    server = serve(make_leaf(fqdns, 60, ca))  # type: ignore[operator]

    # No CA certificate beside the inventory yet: nothing proves who signed, so not trusted.
    results = served.survey(inventory, [host], port=server.port)
    assert {r.state for r in results} == {served.UNTRUSTED}
    assert "pki/ca.pem" in results[0].detail

    pki.ca_certificate_path(root).parent.mkdir()
    pki.ca_certificate_path(root).write_bytes(ca[0].public_bytes(serialization.Encoding.PEM))
    results = served.survey(inventory, [host], port=server.port)
    assert [r.site.fqdn for r in results] == fqdns
    assert {r.state for r in results} == {served.OK}

    other = make_ca("Une autre AC")
    pki.ca_certificate_path(root).write_bytes(other[0].public_bytes(serialization.Encoding.PEM))
    assert {r.state for r in served.survey(inventory, [host], port=server.port)} == {served.UNTRUSTED}


def test_status_command_exit_code_follows_the_worst_site(serve: object, tmp_path: Path) -> None:
    root = _lab_like_inventory(tmp_path, "acme")
    inventory = load(root)
    host = inventory.hosts[0].name
    fqdns = [site.fqdn for site in served.sites(inventory, [host])]
    runner = CliRunner()
    for days_left, code in ((60, 0), (policy.RENEW_BEFORE_DAYS - 2, 0), (policy.ALARM_BEFORE_DAYS - 2, 1)):
        server = serve(make_leaf(fqdns, days_left, make_ca()))  # type: ignore[operator]
        args = ["tls", "status", str(root), "--limit", host, "--json", "--port", str(server.port)]
        result = runner.invoke(main, args)
        assert result.exit_code == code, result.output
        report = yaml.safe_load(result.stdout)
        assert len(report["sites"]) == len(fqdns)
        assert report["ok"] == (code == 0)


def test_unreachable_site_is_reported_not_raised(tmp_path: Path) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    inventory = load(_lab_like_inventory(tmp_path, "acme"))
    results = served.survey(inventory, [inventory.hosts[0].name], port=port)
    assert results and {r.state for r in results} == {served.UNREACHABLE}
    assert all("ConnectionRefused" in r.detail for r in results)


def test_the_renewal_policy_reaches_the_roles() -> None:
    tls = global_vars(load(DEMO))["bastide_tls"]
    assert tls["renew_before_days"] == policy.RENEW_BEFORE_DAYS
    assert tls["alarm_before_days"] == policy.ALARM_BEFORE_DAYS
    assert 0 < policy.ALARM_BEFORE_DAYS < policy.RENEW_BEFORE_DAYS


# --- the renewal timer -----------------------------------------------------------------------


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.runner = CliRunner()
        self.env = {
            "BASTIDE_STATE_DIR": str(tmp_path / "state"),
            "BASTIDE_IDENTITY": "",
            "BASTIDE_PASSPHRASE_FILE": "",
            "LANG": "C.UTF-8",
            "LC_ALL": "",
            "COLUMNS": "200",
        }

    def __call__(self, *args: object, expect: int = 0, **env: str) -> Result:
        result = self.runner.invoke(
            main, [str(a) for a in args], env={**self.env, **env}, catch_exceptions=False
        )
        assert result.exit_code == expect, result.output
        assert "Traceback" not in result.output
        return result


def unit_values(text: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{key}=")]


def unquote(word: str) -> str:
    return word.replace("%%", "%").replace("$$", "$")


@pytest.fixture
def keyed(tmp_path: Path) -> tuple[Cli, Path, Path]:
    """An internal-CA inventory with a keyring whose operator is an age identity."""
    cli = Cli(tmp_path)
    root = _lab_like_inventory(tmp_path, "internal")
    identity = tmp_path / "ids" / "renewal.age"
    cli("keys", "init", root, "--operator", "renewal", "--identity", identity)
    assert stat.S_IMODE(identity.stat().st_mode) == 0o600
    return cli, root, identity


def test_timer_units_run_this_bastide_on_this_inventory(
    keyed: tuple[Cli, Path, Path], tmp_path: Path
) -> None:
    cli, root, identity = keyed
    units = tmp_path / "units"
    result = cli("tls", "timer", "install", root, "--identity", identity, "--unit-dir", units, "--no-enable")
    assert "systemctl enable --now" in result.output
    name = timer.unit_name(load(root))
    service, timer_file = units / f"{name}.service", units / f"{name}.timer"
    assert stat.S_IMODE(service.stat().st_mode) == 0o644
    check = subprocess.run(
        ["systemd-analyze", "verify", str(service), str(timer_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (check.returncode, check.stderr.strip()) == (0, ""), check.stderr
    text = service.read_text()
    (exec_start,) = unit_values(text, "ExecStart")
    argv = [unquote(word) for word in shlex.split(exec_start)]
    assert argv == [sys.executable, "-m", "bastide", "tls", "renew", str(root.resolve())]
    environment = dict(unquote(shlex.split(v)[0]).split("=", 1) for v in unit_values(text, "Environment"))
    assert environment == {
        "BASTIDE_IDENTITY": str(identity.resolve()),
        "BASTIDE_STATE_DIR": str(tmp_path / "state"),
        # The tests' service role (tests/conftest.py): the timer's runs know it too.
        "BASTIDE_ROLES_PATH": os.environ["BASTIDE_ROLES_PATH"],
    }
    assert unit_values(timer_file.read_text(), "OnCalendar") == ["daily"]
    assert unit_values(timer_file.read_text(), "Persistent") == ["true"]
    # The identity's content is never copied anywhere: the unit names the file.
    secret = next(line for line in identity.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-1"))
    assert secret not in text

    removed = cli("tls", "timer", "remove", root, "--unit-dir", units)
    assert not service.exists() and not timer_file.exists() and "Removed" in removed.output
    assert "No renewal timer" in cli("tls", "timer", "remove", root, "--unit-dir", units).output


def test_odd_paths_are_quoted_for_systemd(tmp_path: Path) -> None:
    odd = tmp_path / 'DSI 100% "test" $HOME'
    odd.mkdir()
    root = _lab_like_inventory(odd, "internal")
    identity = odd / "id.age"
    identity.write_text("placeholder")
    units = timer.render_units(load(root), identity, "Mon *-*-* 03:00:00")
    (tmp_path / "u").mkdir()
    service = tmp_path / "u" / "x.service"
    service.write_text(units.service)
    (tmp_path / "u" / "x.timer").write_text(units.timer)
    check = subprocess.run(
        ["systemd-analyze", "verify", str(service)], capture_output=True, text=True, check=False
    )
    assert (check.returncode, check.stderr.strip()) == (0, ""), check.stderr
    (exec_start,) = unit_values(units.service, "ExecStart")
    assert [unquote(w) for w in shlex.split(exec_start)][-1] == str(root.resolve())
    assert unit_values(units.timer, "OnCalendar") == ["Mon *-*-* 03:00:00"]


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("acme", "settings.tls.mode"),
        ("missing", "--identity"),
        ("exposed", "chmod 600"),
        ("stranger", "does not open"),
        ("calendar", "calendar expression"),
    ],
)
def test_timer_refusals_write_nothing(
    keyed: tuple[Cli, Path, Path], tmp_path: Path, case: str, field: str
) -> None:
    cli, root, identity = keyed
    units = tmp_path / "units"
    args: list[object] = [
        "tls",
        "timer",
        "install",
        root,
        "--identity",
        identity,
        "--unit-dir",
        units,
        "--no-enable",
    ]
    if case == "acme":
        data = yaml.safe_load((root / "syndicat.yml").read_text())
        data["settings"]["tls"]["mode"] = "acme"
        (root / "syndicat.yml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    elif case == "missing":
        args[5] = tmp_path / "nowhere.age"
    elif case == "exposed":
        identity.chmod(0o640)
    elif case == "stranger":
        stranger = tmp_path / "stranger.age"
        cli("keys", "init", _lab_like_inventory(tmp_path / "other", "internal"), "--identity", stranger)
        args[5] = stranger
    elif case == "calendar":
        args += ["--on-calendar", "every other tuesday"]
    result = cli(*args, expect=2)
    assert field in result.output
    assert not units.exists() or not any(units.iterdir())


def test_no_keyring_yet_is_refused(tmp_path: Path) -> None:
    root = _lab_like_inventory(tmp_path, "internal")
    identity = tmp_path / "id.age"
    identity.write_text("AGE-SECRET-KEY-1QQQQ\n")
    identity.chmod(0o600)
    result = Cli(tmp_path)("tls", "timer", "install", root, "--identity", identity, "--no-enable", expect=2)
    assert "bastide deploy" in result.output


def test_enabling_needs_a_running_systemd(
    keyed: tuple[Cli, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli, root, identity = keyed
    monkeypatch.setattr(timer, "systemd_running", lambda: False)
    units = tmp_path / "units"
    result = cli("tls", "timer", "install", root, "--identity", identity, "--unit-dir", units, expect=3)
    assert "--no-enable" in result.output
    assert not units.exists()


def test_renew_in_acme_mode_has_nothing_to_run(tmp_path: Path) -> None:
    root = _lab_like_inventory(tmp_path, "acme")
    result = Cli(tmp_path)("tls", "renew", root)
    assert "certbot.timer" in result.output
    assert not (tmp_path / "state" / "runs").exists(), "no Ansible run was started"


def test_renewed_certificates_are_read_from_the_run_events(tmp_path: Path) -> None:
    """Events as the callback wrote them during a lab renewal run."""
    from bastide.core.ansible import RunSummary
    from bastide.core.tls import renewal

    summary = RunSummary(kind="tls-renew", run_dir=tmp_path)
    task, sign = "pki : Install the certificates", "pki : Sign the certificates with the syndicat's CA"
    for event in [
        {"host": "srv-1", "status": "item_changed", "task": sign, "role": "pki", "event": "result"},
        {"host": "srv-1", "status": "item_changed", "task": task, "role": "pki", "item": "ours-les-bains",
         "event": "result"},
        {"host": "srv-1", "status": "item_ok", "task": task, "role": "pki", "item": "saint-aubin",
         "event": "result"},
        {"host": "srv-2", "status": "item_changed", "task": task, "role": "pki", "item": "combes",
         "event": "result"},
        {"host": "srv-1", "status": "changed", "task": task, "role": "pki", "event": "result"},
        {"host": "srv-2", "status": "changed", "task": task, "role": "pki", "event": "result"},
    ]:  # fmt: skip
        summary.apply(event)
    assert renewal.renewed(summary) == [("srv-1", "ours-les-bains"), ("srv-2", "combes")]


def test_every_tls_message_exists_in_both_languages() -> None:
    import re

    from bastide.paths import package_data_dir

    catalog = yaml.safe_load((package_data_dir() / "locale" / "tls.yml").read_text(encoding="utf-8"))
    sources = [
        *(REPO / "cli" / "bastide" / "core" / "tls").glob("*.py"),
        REPO / "cli/bastide/commands/tls.py",
    ]
    used = {f"state.{state}" for state in served.STATES}
    for source in sources:
        used |= set(re.findall(r'\b_\(\s*"([a-z_.-]+)"', source.read_text()))
    assert used - set(catalog) == set()
    for key, texts in catalog.items():
        fields = [set(re.findall(r"\{(\w+)", texts[lang])) for lang in ("en", "fr")]
        assert fields[0] == fields[1], key
