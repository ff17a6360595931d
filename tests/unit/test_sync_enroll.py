"""`bastide sync enroll` on copies of the tests' syndicat: the device lands in the commune's
file (comments and layout kept), the inventory stays valid, what the device needs is printed
(and written), its folders are the ones its agent may write, and bad input changes nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from bastide.commands import main
from bastide.core.inventory import load
from bastide.core.keys import KdfParams, Keyring, PassphraseOperator
from bastide.core.keys.operators import Passphrase
from bastide.core.sync import enroll, ids

REPO = Path(__file__).resolve().parents[2]
SYNDICAT = REPO / "tests" / "fixtures" / "syndicat"
PASSPHRASE = "correct horse battery staple"
# Two device IDs made from fixed digests (valid check characters).
DEVICE = ids.from_digest(hashlib.sha256(b"marie's laptop").digest())
OTHER = ids.from_digest(hashlib.sha256(b"karim's phone").digest())



@pytest.fixture
def inv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "inv"
    shutil.copytree(SYNDICAT, root)
    shutil.rmtree(root / "keyring", ignore_errors=True)
    Keyring.create(root, PassphraseOperator("alice", PASSPHRASE, KdfParams("argon2id", 1, 1, 8)))
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    monkeypatch.setenv("BASTIDE_PASSPHRASE_FILE", str(secret))
    monkeypatch.delenv("BASTIDE_IDENTITY", raising=False)
    return root


def run(*args: str | Path) -> Result:
    return CliRunner(env={"COLUMNS": "400"}).invoke(main, [str(arg) for arg in args])


def commune_file(root: Path) -> Path:
    return root / "communes" / "ours-les-bains.yml"


def test_enroll_adds_the_device_keeping_the_file(inv: Path, tmp_path: Path) -> None:
    before = commune_file(inv).read_text()
    out = tmp_path / "device.txt"
    result = run("sync", "enroll", inv, "ours-les-bains", "marie.dupont", DEVICE.lower(),
                 "--name", "Portable de Marie", "--write", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    after = commune_file(inv).read_text()
    # Every line of the file is still there, in order; the device is one new entry.
    assert [line for line in after.splitlines() if line in before.splitlines()] == before.splitlines()
    assert f"{{agent: marie.dupont, id: {DEVICE}, name: Portable de Marie}}" in after
    inventory = load(inv)
    devices = inventory.commune("ours-les-bains").service_settings("drive")["devices"]
    assert devices == [{"agent": "marie.dupont", "id": DEVICE, "name": "Portable de Marie"}]
    text = out.read_text()
    assert text in result.output
    ring = Keyring.open(inv, Passphrase(PASSPHRASE, "alice"))
    hub = ids.device_id(ring.get("ours-les-bains", "drive-sync-identity"))
    relay = ids.device_id(ring.get("_syndicat", "drive-relay-identity"))
    disco = ids.device_id(ring.get("_syndicat", "drive-discovery-identity"))
    address = inventory.host("srv-ours-1").address
    assert hub in text
    assert f"relay://{address}:22067/?id={relay}" in text
    assert f"https://{address}:8443/?id={disco}" in text
    # Again: nothing to change, the same document.
    again = run(
        "sync", "enroll", inv, "ours-les-bains", "marie.dupont", DEVICE, "--name", "Portable de Marie"
    )
    assert again.exit_code == 0, again.output
    assert commune_file(inv).read_text() == after
    assert text in again.output


def test_folders_offered_are_those_the_agent_writes(inv: Path) -> None:
    result = run("sync", "enroll", inv, "ours-les-bains", "karim.benali", OTHER, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["device_id"] == OTHER and data["agent"] == "karim.benali"
    # Karim is of the État civil service: its folder and his own; not the council's (the
    # secrétariat writes it), nor anyone else's.
    assert [f["id"] for f in data["folders"]] == ["services-etat-civil", "agents-karim.benali"]
    assert data["relay"].startswith("relay://") and "?id=" in data["relay"]
    assert data["discovery"].startswith("https://") and "?id=" in data["discovery"]
    marie = enroll.offered_folders(load(inv).commune("ours-les-bains"), "marie.dupont")
    assert [f.id for f in marie] == [
        "services-secretariat-de-mairie",
        "conseil-municipal",
        "agents-marie.dupont",
    ]


@pytest.mark.parametrize(
    ("commune", "agent", "device", "field", "message"),
    [
        ("nowhere", "marie.dupont", DEVICE, "COMMUNE", "no commune nowhere"),
        ("ours-les-bains", "nobody", DEVICE, "agents", "nobody is nobody of commune ours-les-bains"),
        ("ours-les-bains", "marie.dupont", "NOT-AN-ID", "DEVICE_ID", "is not a Syncthing device ID"),
        ("ours-les-bains", "marie.dupont", ("C" if DEVICE[0] != "C" else "D") + DEVICE[1:], "DEVICE_ID",
         "a character is mistyped"),
    ],
)  # fmt: skip
def test_bad_input_changes_nothing(
    inv: Path, commune: str, agent: str, device: str, field: str, message: str
) -> None:
    before = {p.name: p.read_bytes() for p in (inv / "communes").iterdir()}
    keyring = (inv / "keyring" / "keyring.json").read_bytes()
    result = run("sync", "enroll", inv, commune, agent, device)
    assert result.exit_code == 2, result.output
    assert field in result.output and message in result.output, result.output
    assert {p.name: p.read_bytes() for p in (inv / "communes").iterdir()} == before
    assert (inv / "keyring" / "keyring.json").read_bytes() == keyring


def test_a_device_enrols_for_one_person_only(inv: Path) -> None:
    assert run("sync", "enroll", inv, "ours-les-bains", "marie.dupont", DEVICE).exit_code == 0
    before = commune_file(inv).read_text()
    result = run("sync", "enroll", inv, "ours-les-bains", "karim.benali", DEVICE)
    assert result.exit_code == 2 and "already enrolled for marie.dupont" in result.output, result.output
    assert commune_file(inv).read_text() == before


def test_french(inv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    result = run("sync", "enroll", inv, "ours-les-bains", "marie.dupont", DEVICE)
    assert result.exit_code == 0, result.output
    assert "Synchronisation de l'appareil de Marie Dupont" in result.output
    assert "Dossiers que le hub proposera (3)" in result.output
    bad = run("sync", "enroll", inv, "ours-les-bains", "marie.dupont", "XYZ")
    assert bad.exit_code == 2 and "n'est pas un identifiant d'appareil Syncthing" in bad.output


def test_every_message_has_both_languages() -> None:
    catalogue = yaml.safe_load((REPO / "cli" / "bastide" / "data" / "locale" / "sync.yml").read_text())
    assert all(set(texts) == {"en", "fr"} for texts in catalogue.values())
