"""`bastide init`: a new inventory that `bastide validate` accepts right away."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from bastide.commands import main
from bastide.core.inventory import load


@pytest.fixture
def pubkey(tmp_path: Path) -> Path:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    path = tmp_path / "id_ed25519.pub"
    path.write_text(f"{line} alice@dsi\n", encoding="utf-8")
    return path


def run(*args: str | Path) -> Result:
    return CliRunner(env={"COLUMNS": "400"}).invoke(main, [str(arg) for arg in args])


def test_init_then_validate(tmp_path: Path, pubkey: Path) -> None:
    target = tmp_path / "syndicat-des-combes"
    result = run("init", target, "--name", "Syndicat des Combes", "--siren", "200070019",
                 "--email", "dsi@combes.example.fr", "--ssh-key", pubkey)  # fmt: skip
    assert result.exit_code == 0, result.output
    result = run("validate", target)
    assert result.exit_code == 0, result.output
    assert "Syndicat des Combes" in result.stdout
    inventory = load(target)
    assert inventory.syndicat.siren == "200070019"
    assert inventory.settings.admins[0].name == "dsi-admin"
    assert inventory.settings.admins[0].ssh_keys == [pubkey.read_text(encoding="utf-8").strip()]
    assert inventory.settings.ssh.user == "dsi-admin"
    assert inventory.settings.tls.acme_email == "dsi@combes.example.fr"
    assert inventory.settings.smtp_relay.host == "smtp.combes.example.fr"
    assert "aws" not in inventory.residency.providers
    assert "fr-par" in inventory.residency.regions
    assert inventory.hosts == [] and inventory.communes == []
    assert (target / "communes").is_dir()


def test_init_internal_tls_and_options(tmp_path: Path, pubkey: Path) -> None:
    target = tmp_path / "x"
    result = run("init", target, "--name", "Syndicat « X »: test", "--siren", "200070019",
                 "--email", "dsi@x.example.fr", "--ssh-key", pubkey, "--tls-mode", "internal",
                 "--admin", "dsi-bob", "--time-server", "ntp.x.example.fr",
                 "--smtp-relay", "192.0.2.25")  # fmt: skip
    assert result.exit_code == 0, result.output
    inventory = load(target)
    assert inventory.syndicat.name == "Syndicat « X »: test"
    assert inventory.settings.tls.mode == "internal"
    assert inventory.settings.time_servers == ["ntp.x.example.fr"]
    assert inventory.settings.smtp_relay.host == "192.0.2.25"
    assert inventory.settings.ssh.user == "dsi-bob"


def test_init_refuses_to_overwrite(tmp_path: Path, pubkey: Path) -> None:
    target = tmp_path / "x"
    target.mkdir()
    (target / "syndicat.yml").write_text("precious: true\n", encoding="utf-8")
    result = run(
        "init", target, "--name", "S", "--siren", "200070019", "--email", "a@b.fr", "--ssh-key", pubkey
    )
    assert result.exit_code == 2
    assert "never overwrites" in " ".join(result.stderr.split())
    assert (target / "syndicat.yml").read_text(encoding="utf-8") == "precious: true\n"


def test_init_rejects_bad_options_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "x"
    result = run("init", target, "--name", " ", "--siren", "200070018", "--email", "nope",
                 "--ssh-key", "ssh-ed25519 AAAA")  # fmt: skip
    assert result.exit_code == 2
    stderr = " ".join(result.stderr.split())
    for option in ("--name", "--siren", "--email", "--ssh-key"):
        assert f"{option}:" in stderr
    assert "fails its check digit" in stderr
    assert not target.exists()
