"""`bastide keys` end to end through the CLI: clean failures, and never a value in the output."""

from __future__ import annotations

import json
import re
import shutil
import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from bastide.commands import main
from bastide.core.keys import Identity, Keyring, Passphrase
from bastide.paths import package_data_dir

REPO = Path(__file__).resolve().parents[2]
# The demo with the tests' service on every commune, so that there are service secrets.
SYNDICAT = REPO / "tests" / "fixtures" / "syndicat"
PASSPHRASE = "quatre mots sans rapport"


class Cli:
    """Runs `bastide` in-process and keeps every output, to check that no value ever shows."""

    def __init__(self, tmp_path: Path) -> None:
        self.runner = CliRunner()
        self.outputs: list[str] = []
        self.passphrase_file = tmp_path / "passphrase"
        self.passphrase_file.write_text(PASSPHRASE + "\n")
        self.passphrase_file.chmod(0o600)
        self.env = {
            "BASTIDE_PASSPHRASE_FILE": str(self.passphrase_file),
            "BASTIDE_IDENTITY": "",
            "BASTIDE_OPERATOR": "",
            "LANG": "C.UTF-8",
            "LC_ALL": "",
            "LC_MESSAGES": "",
            "LANGUAGE": "",
            "COLUMNS": "200",
        }

    def __call__(self, *args: str, expect: int = 0, **env: str) -> Result:
        result = self.runner.invoke(
            main, [str(a) for a in args], env={**self.env, **env}, catch_exceptions=False
        )
        text = result.output + (result.stderr if result.stderr_bytes is not None else "")
        self.outputs.append(text)
        assert result.exit_code == expect, text
        assert "Traceback" not in text
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    target = tmp_path / "syndicat"
    shutil.copytree(SYNDICAT, target, ignore=shutil.ignore_patterns("keyring"))
    return target


def all_values(inventory: Path) -> list[str]:
    ring = Keyring.open(inventory, Passphrase(PASSPHRASE))
    return [ring.get(info.scope, info.name).decode() for info in ring.secrets()]


def test_lifecycle_without_a_value_in_any_output(cli: Cli, inventory: Path, tmp_path: Path) -> None:
    cli("keys", "init", inventory, "--operator", "alice")
    assert stat.S_IMODE((inventory / "keyring" / "keyring.json").stat().st_mode) == 0o600
    cli("keys", "init", inventory, expect=2)  # never twice
    status = cli("keys", "status", inventory, "--json")
    assert len(json.loads(status.stdout)["missing"]) > 0
    generated = cli("keys", "generate", inventory)
    assert "ours-les-bains/postgresql-whoami" in generated.output
    data = json.loads(cli("keys", "status", inventory, "--json").stdout)
    assert data["missing"] == []
    names = {(s["scope"], s["name"]) for secrets in data["scopes"].values() for s in secrets}
    assert ("ours-les-bains", "postgresql-whoami") in names
    text = cli("keys", "status", inventory).output
    assert "postgresql-whoami" in text and "alice (passphrase)" in text

    before = all_values(inventory)
    rotated = cli("keys", "rotate", inventory, "ours-les-bains", "postgresql-whoami", "--no-deploy")
    assert "bastide deploy" in rotated.output and "--limit ours-les-bains" in rotated.output
    after = all_values(inventory)
    assert len(set(before) ^ set(after)) == 2  # exactly one value changed
    # A commune away from the identity host: the directory holds its reader's password.
    away = cli("keys", "rotate", inventory, "anse-aux-ours", "directory-reader", "--no-deploy")
    assert "--limit anse-aux-ours,srv-ours-1" in away.output
    cli("keys", "rotate", inventory, "atlantis", "--no-deploy", expect=2)
    cli("keys", "rotate", inventory, "ours-les-bains", "ldap-whoami", "--no-deploy", expect=2)
    cli("keys", "rotate", inventory, "anse-aux-ours", "--no-deploy")

    second = tmp_path / "bob.passphrase"
    second.write_text("la deuxième phrase de passe\n")
    cli("keys", "operator", "add", inventory, "bob", "--passphrase-file", second)
    listed = json.loads(cli("keys", "operator", "list", inventory, "--json").stdout)
    assert {o["name"] for o in listed} == {"alice", "bob"}
    cli("keys", "rotate-operator", inventory)
    cli("keys", "status", inventory, BASTIDE_PASSPHRASE_FILE=str(second))
    cli("keys", "operator", "remove", inventory, "bob")
    cli("keys", "status", inventory, BASTIDE_PASSPHRASE_FILE=str(second), expect=2)
    cli("keys", "operator", "remove", inventory, "alice", expect=2)  # the last one

    values = all_values(inventory)
    # Per commune: backup-repository, app-, postgresql- and redis-whoami, directory-reader,
    # sso-header and oidc-whoami (whoami speaks OpenID Connect), app-drive and the drive's
    # drive-sync-identity; for the syndicat: directory-portal, sso-key, oidc-signing-key and
    # the drive's drive-discovery-identity and drive-relay-identity.
    assert len(values) == 4 * 9 + 5
    for output in cli.outputs:
        for value in values + before:
            assert value not in output
        assert PASSPHRASE not in output


def test_wrong_passphrase_fails_cleanly(cli: Cli, inventory: Path, tmp_path: Path) -> None:
    cli("keys", "init", inventory, "--operator", "alice")
    wrong = tmp_path / "wrong"
    wrong.write_text("not the right passphrase\n")
    result = cli("keys", "status", inventory, BASTIDE_PASSPHRASE_FILE=str(wrong), expect=2)
    assert "does not open the keyring" in result.output
    assert "keyring/keyring.json" in result.output
    result = cli(
        "keys", "status", inventory, BASTIDE_PASSPHRASE_FILE=str(wrong), expect=2, LANG="fr_FR.UTF-8"
    )
    assert "n'ouvre pas le trousseau" in result.output
    result = cli("keys", "status", inventory, BASTIDE_PASSPHRASE_FILE="", expect=2)
    assert "BASTIDE_PASSPHRASE_FILE" in result.output
    result = cli("keys", "status", inventory, BASTIDE_PASSPHRASE_FILE=str(tmp_path / "absent"), expect=2)
    assert "cannot read" in result.output
    assert "not the right passphrase" not in "".join(cli.outputs)


def test_tampered_keyring_through_the_cli(cli: Cli, inventory: Path) -> None:
    cli("keys", "init", inventory, "--operator", "alice")
    cli("keys", "generate", inventory)
    path = inventory / "keyring" / "keyring.json"
    content = path.read_text()
    path.write_text(content.replace('"rotations": 0', '"rotations": 1', 1))
    result = cli("keys", "status", inventory, expect=2)
    assert "integrity check" in result.output


def test_short_passphrase_and_no_inventory(cli: Cli, inventory: Path, tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("court\n")
    result = cli("keys", "init", inventory, "--passphrase-file", short, expect=2)
    assert "too short" in result.output
    assert not (inventory / "keyring" / "keyring.json").exists()
    cli("keys", "init", tmp_path / "nowhere", expect=2)
    cli("keys", "status", inventory, expect=2)  # no keyring yet


def test_age_identity_operator(cli: Cli, inventory: Path, tmp_path: Path) -> None:
    identity = tmp_path / "ids" / "alice.txt"
    result = cli("keys", "init", inventory, "--operator", "alice", "--identity", identity)
    assert stat.S_IMODE(identity.stat().st_mode) == 0o600
    assert "age1" in result.output + result.stderr
    secret_line = next(
        line for line in identity.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-1")
    )
    cli("keys", "generate", inventory, BASTIDE_IDENTITY=str(identity))
    ring = Keyring.open(inventory, Identity(identity.read_text()))
    assert ring.opened_by == "alice"
    # a second administrator joins with only their public key
    other = tmp_path / "ids" / "bob.txt"
    cli("keys", "operator", "add", inventory, "bob", "--identity", other, BASTIDE_IDENTITY=str(identity))
    public = next(line.split()[-1] for line in other.read_text().splitlines() if "public key" in line)
    cli(
        "keys",
        "operator",
        "add",
        inventory,
        "bob2",
        "--recipient",
        public,
        BASTIDE_IDENTITY=str(identity),
        expect=0,
    )
    cli(
        "keys",
        "operator",
        "add",
        inventory,
        "eve",
        "--recipient",
        "age1nope",
        BASTIDE_IDENTITY=str(identity),
        expect=2,
    )
    cli("keys", "status", inventory, BASTIDE_IDENTITY=str(other))
    bad = tmp_path / "bad-identity"
    bad.write_text("AGE-SECRET-KEY-1NOTAKEY\n")
    cli("keys", "status", inventory, BASTIDE_IDENTITY=str(bad), expect=2)
    for output in cli.outputs:
        assert secret_line not in output


def test_recovery_split_and_join(cli: Cli, inventory: Path, tmp_path: Path) -> None:
    cli("keys", "init", inventory, "--operator", "alice")
    cli("keys", "generate", inventory)
    before = sorted(all_values(inventory))
    out = tmp_path / "shares"
    labels = ["Maire", "Adjointe", "DGS", "Président", "Trésorier"]
    args = [x for label in labels for x in ("--label", label)]
    cli("keys", "recovery", "split", inventory, "--shares", "5", "--threshold", "3", *args, "--out", out)
    files = sorted(out.iterdir())
    assert len(files) == 5 and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert "Syndicat numérique" in files[0].read_text()
    cli("keys", "recovery", "split", inventory, "--out", out, expect=2)  # never over old sheets
    new = tmp_path / "carol.passphrase"
    new.write_text("carol a retrouvé les clés\n")
    cli("keys", "recovery", "join", inventory, files[0], files[3], expect=2)
    cli(
        "keys", "recovery", "join", inventory, files[0], files[2], files[4],
        "--operator", "carol", "--passphrase-file", new, BASTIDE_PASSPHRASE_FILE="",
    )  # fmt: skip
    ring = Keyring.open(inventory, Passphrase("carol a retrouvé les clés"))
    assert sorted(ring.get(i.scope, i.name).decode() for i in ring.secrets()) == before
    share_words = [line for f in files for line in f.read_text().splitlines() if line.startswith(" 1:")]
    for output in cli.outputs:
        for line in share_words:
            assert line.split("[")[0].split(":", 1)[1].strip() not in output


def test_every_message_exists_in_both_languages() -> None:
    catalog = yaml.safe_load((package_data_dir() / "locale" / "keys.yml").read_text(encoding="utf-8"))
    sources = [
        *(REPO / "cli" / "bastide" / "core" / "keys").glob("*.py"),
        REPO / "cli/bastide/commands/keys.py",
    ]
    used = set()
    for source in sources:
        used |= set(re.findall(r'\b_\(\s*f?"([a-z_.]+)"', source.read_text()))
    used |= {
        f"cli.column.{c}" for c in ("scope", "secret", "kind", "age", "created", "last_rotated", "rotations")
    }
    used.discard("cli.column.")
    assert used - set(catalog) == set()
    for key, texts in catalog.items():
        fields = [set(re.findall(r"\{(\w+)", texts[lang])) for lang in ("en", "fr")]
        assert fields[0] == fields[1], key
