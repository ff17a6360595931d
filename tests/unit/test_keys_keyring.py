"""The keyring: envelope encryption, integrity of the whole file, operators, rotation."""

from __future__ import annotations

import copy
import json
import stat
from pathlib import Path
from types import SimpleNamespace

import pyrage
import pytest
from cryptography.exceptions import InvalidTag

from bastide.core.keys import (
    AgeOperator,
    Identity,
    IntegrityError,
    KdfParams,
    Keyring,
    KeyringError,
    Passphrase,
    PassphraseOperator,
    SecretSpec,
    UnknownSecret,
    UnlockError,
    keyring_path,
    required_secrets,
)
from bastide.core.keys.operators import associated_data, open_sealed, unb64

# Small Argon2id parameters keep the byte-by-byte tamper loops fast; production uses RFC 9106's.
FAST = {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_kib": 8}
PASSPHRASE = "correct horse battery staple"


def fast_kdf() -> KdfParams:
    return KdfParams(FAST["name"], FAST["iterations"], FAST["lanes"], FAST["memory_kib"])


def age_identity() -> tuple[str, str]:
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


SPECS = [
    SecretSpec("ours-les-bains", "postgresql-whoami"),
    SecretSpec("ours-les-bains", "app-whoami", "app-secret"),
    SecretSpec("anse-aux-ours", "postgresql-whoami"),
]


@pytest.fixture
def keyring(tmp_path: Path) -> tuple[Keyring, str]:
    """A keyring with a passphrase operator (alice) and an age operator (bob), and secrets."""
    secret_key, public = age_identity()
    ring = Keyring.create(tmp_path, PassphraseOperator("alice", PASSPHRASE, fast_kdf()))
    ring.add_operator(AgeOperator("bob", public))
    ring.ensure(SPECS)
    ring.put("_syndicat", "internal-ca-key", b"-----BEGIN PRIVATE KEY-----\nMC4C\n", kind="key")
    return ring, secret_key


def values(ring: Keyring) -> dict[tuple[str, str], bytes]:
    return {(info.scope, info.name): ring.get(info.scope, info.name) for info in ring.secrets()}


def test_round_trip_with_each_operator(keyring: tuple[Keyring, str], tmp_path: Path) -> None:
    ring, bob = keyring
    expected = values(ring)
    assert len(expected) == 4
    by_alice = Keyring.open(tmp_path, Passphrase(PASSPHRASE))
    by_bob = Keyring.open(tmp_path, Identity(bob))
    assert by_alice.opened_by == "alice" and by_bob.opened_by == "bob"
    assert values(by_alice) == expected == values(by_bob)
    assert ring.get("_syndicat", "internal-ca-key").startswith(b"-----BEGIN")


def test_wrong_passphrase_fails_cleanly(keyring: tuple[Keyring, str], tmp_path: Path) -> None:
    with pytest.raises(UnlockError) as caught:
        Keyring.open(tmp_path, Passphrase("not the passphrase at all"))
    assert caught.value.exit_code == 2
    problem = caught.value.problems[0]
    assert problem.file == str(keyring_path(tmp_path))
    assert "does not open the keyring" in problem.message
    assert "not the passphrase" not in str(caught.value)
    with pytest.raises(UnlockError):
        Keyring.open(tmp_path, Identity(age_identity()[0]))  # an identity that is no operator


def test_files_are_private(keyring: tuple[Keyring, str], tmp_path: Path) -> None:
    path = keyring_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_no_value_in_the_file(keyring: tuple[Keyring, str], tmp_path: Path) -> None:
    ring, _bob = keyring
    content = keyring_path(tmp_path).read_bytes()
    for value in values(ring).values():
        assert value not in content


@pytest.mark.parametrize("unlock", ["passphrase", "identity"])
def test_tampering_with_any_byte_is_detected(
    keyring: tuple[Keyring, str], tmp_path: Path, unlock: str
) -> None:
    ring, bob = keyring
    path = keyring_path(tmp_path)
    original = path.read_bytes()
    unlocker = Passphrase(PASSPHRASE) if unlock == "passphrase" else Identity(bob)
    undetected = []
    for position in range(len(original)):
        for flip in (0x01, 0x20):
            altered = bytearray(original)
            altered[position] ^= flip
            path.write_bytes(bytes(altered))
            try:
                Keyring.open(tmp_path, unlocker)
            except KeyringError:
                continue
            undetected.append((position, flip))
    for altered in (original[:-1], original + b"\n", original.replace(b"\n", b"\r\n", 1), b""):
        path.write_bytes(altered)
        with pytest.raises(KeyringError):
            Keyring.open(tmp_path, unlocker)
    assert undetected == []
    path.write_bytes(original)
    assert values(Keyring.open(tmp_path, unlocker)) == values(ring)


def test_rolling_back_or_swapping_one_entry_is_detected(keyring: tuple[Keyring, str], tmp_path: Path) -> None:
    ring, _bob = keyring
    path = keyring_path(tmp_path)
    old = json.loads(path.read_bytes())
    ring.rotate("ours-les-bains", ["postgresql-whoami"])
    new = json.loads(path.read_bytes())

    def check(doc: dict) -> None:
        path.write_bytes((json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=True) + "\n").encode())
        with pytest.raises(IntegrityError):
            Keyring.open(tmp_path, Passphrase(PASSPHRASE))

    rolled_back = copy.deepcopy(new)
    scope = "ours-les-bains"
    rolled_back["scopes"][scope]["secrets"]["postgresql-whoami"] = old["scopes"][scope]["secrets"][
        "postgresql-whoami"
    ]
    check(rolled_back)
    swapped = copy.deepcopy(new)
    secrets = swapped["scopes"][scope]["secrets"]
    secrets["postgresql-whoami"]["value"], secrets["app-whoami"]["value"] = (
        secrets["app-whoami"]["value"],
        secrets["postgresql-whoami"]["value"],
    )
    check(swapped)
    relabelled = copy.deepcopy(new)
    relabelled["scopes"][scope]["secrets"]["app-whoami"]["rotations"] = 7
    check(relabelled)


def test_kdf_parameters_are_bounded(keyring: tuple[Keyring, str], tmp_path: Path) -> None:
    path = keyring_path(tmp_path)
    doc = json.loads(path.read_bytes())
    doc["operators"]["alice"]["kdf"]["memory_kib"] = 2**40  # would exhaust memory if honoured
    path.write_bytes((json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=True) + "\n").encode())
    with pytest.raises(IntegrityError):
        Keyring.open(tmp_path, Passphrase(PASSPHRASE))


def test_a_secret_does_not_decrypt_under_another_commune_or_name(keyring: tuple[Keyring, str]) -> None:
    ring, _bob = keyring
    scopes = ring._doc["scopes"]
    moved = scopes["ours-les-bains"]["secrets"]["postgresql-whoami"]["value"]
    # The same name in another commune: different data key and associated data.
    scopes["anse-aux-ours"]["secrets"]["postgresql-whoami"]["value"] = moved
    with pytest.raises(IntegrityError):
        ring.get("anse-aux-ours", "postgresql-whoami")
    # Another name in the same commune: same data key, the associated data differs.
    scopes["ours-les-bains"]["secrets"]["redis-whoami"] = dict(
        scopes["ours-les-bains"]["secrets"]["app-whoami"]
    )
    scopes["ours-les-bains"]["secrets"]["redis-whoami"]["value"] = moved
    with pytest.raises(IntegrityError):
        ring.get("ours-les-bains", "redis-whoami")
    assert ring.get("ours-les-bains", "postgresql-whoami")  # still fine in its own place
    # A whole commune (data key and secrets) renamed to another commune's slug.
    scopes["saint-aubin"] = copy.deepcopy(scopes["ours-les-bains"])
    with pytest.raises(IntegrityError):
        ring.get("saint-aubin", "postgresql-whoami")
    # The primitive itself: the right key with another scope in the associated data.
    data_key = ring._data_key("ours-les-bains")
    with pytest.raises(InvalidTag):
        open_sealed(
            data_key, moved, associated_data("secret", ring.keyring_id, "anse-aux-ours", "postgresql-whoami")
        )


def test_unknown_secret(keyring: tuple[Keyring, str]) -> None:
    ring, _bob = keyring
    with pytest.raises(UnknownSecret):
        ring.get("ours-les-bains", "ldap-whoami")
    with pytest.raises(UnknownSecret):
        ring.get("nowhere", "postgresql-whoami")


def test_removing_an_operator_keeps_the_others_and_locks_it_out(
    keyring: tuple[Keyring, str], tmp_path: Path
) -> None:
    ring, bob = keyring
    before = values(ring)
    path = keyring_path(tmp_path)
    old_doc = json.loads(path.read_bytes())
    ciphertexts = {
        (scope, name): entry["value"]
        for scope, content in old_doc["scopes"].items()
        for name, entry in content["secrets"].items()
    }
    ring.remove_operator("bob")
    with pytest.raises(UnlockError):
        Keyring.open(tmp_path, Identity(bob))
    by_alice = Keyring.open(tmp_path, Passphrase(PASSPHRASE))
    assert values(by_alice) == before
    assert [o.name for o in by_alice.operators()] == ["alice"]
    new_doc = json.loads(path.read_bytes())
    # Re-wrapped, not re-encrypted: every secret's ciphertext is unchanged ...
    assert {
        (scope, name): entry["value"]
        for scope, content in new_doc["scopes"].items()
        for name, entry in content["secrets"].items()
    } == ciphertexts
    # ... but the keyring key changed: bob's copy of his old wrapping opens nothing in the new file.
    old_master = pyrage.decrypt(
        unb64(old_doc["operators"]["bob"]["wrapped_key"]), [pyrage.x25519.Identity.from_str(bob)]
    )
    data_key = new_doc["scopes"]["ours-les-bains"]["data_key"]
    with pytest.raises(InvalidTag):
        open_sealed(old_master, data_key, associated_data("data-key", ring.keyring_id, "ours-les-bains"))


def test_operator_rules(keyring: tuple[Keyring, str]) -> None:
    ring, _bob = keyring
    with pytest.raises(KeyringError, match="already exists"):
        ring.add_operator(AgeOperator("bob", age_identity()[1]))
    with pytest.raises(KeyringError, match="no operator"):
        ring.remove_operator("carol")
    ring.remove_operator("bob")
    with pytest.raises(KeyringError, match="last operator"):
        ring.remove_operator("alice")
    with pytest.raises(KeyringError):
        ring.add_operator(AgeOperator("bad name!", age_identity()[1]))


def test_rotating_the_keyring_key_rewraps_everything(keyring: tuple[Keyring, str], tmp_path: Path) -> None:
    ring, bob = keyring
    before = values(ring)
    old = json.loads(keyring_path(tmp_path).read_bytes())
    ring.rotate_keyring_key()
    new = json.loads(keyring_path(tmp_path).read_bytes())
    for name in ("alice", "bob"):
        assert new["operators"][name]["wrapped_key"] != old["operators"][name]["wrapped_key"]
    for scope in old["scopes"]:
        assert new["scopes"][scope]["data_key"] != old["scopes"][scope]["data_key"]
        assert new["scopes"][scope]["secrets"] == old["scopes"][scope]["secrets"]
    assert values(Keyring.open(tmp_path, Passphrase(PASSPHRASE))) == before
    assert values(Keyring.open(tmp_path, Identity(bob))) == before


def test_rotate_one_secret(keyring: tuple[Keyring, str], tmp_path: Path) -> None:
    ring, _bob = keyring
    before = values(ring)
    assert ring.rotate("ours-les-bains", ["postgresql-whoami"]) == ["postgresql-whoami"]
    after = values(Keyring.open(tmp_path, Passphrase(PASSPHRASE)))
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {("ours-les-bains", "postgresql-whoami")}
    info = {i.name: i for i in ring.secrets("ours-les-bains")}
    assert info["postgresql-whoami"].rotations == 1 and info["postgresql-whoami"].rotated is not None
    assert info["app-whoami"].rotations == 0 and info["app-whoami"].rotated is None


def test_rotate_a_whole_commune_replaces_its_data_key(keyring: tuple[Keyring, str], tmp_path: Path) -> None:
    ring, _bob = keyring
    ring.put("ours-les-bains", "s3-secret-key", b"from the provider", kind="credential")
    before = values(ring)
    old_data_key = ring._doc["scopes"]["ours-les-bains"]["data_key"]
    rotated = ring.rotate("ours-les-bains")
    assert rotated == ["app-whoami", "postgresql-whoami"]  # the provider's credential is not ours to renew
    assert ring._doc["scopes"]["ours-les-bains"]["data_key"] != old_data_key
    after = values(Keyring.open(tmp_path, Passphrase(PASSPHRASE)))
    assert after[("ours-les-bains", "s3-secret-key")] == b"from the provider"
    assert after[("anse-aux-ours", "postgresql-whoami")] == before[("anse-aux-ours", "postgresql-whoami")]
    assert after[("ours-les-bains", "app-whoami")] != before[("ours-les-bains", "app-whoami")]


def test_rotate_refuses_what_bastide_did_not_generate(keyring: tuple[Keyring, str]) -> None:
    ring, _bob = keyring
    with pytest.raises(KeyringError, match="not generated"):
        ring.rotate("_syndicat", ["internal-ca-key"])
    with pytest.raises(UnknownSecret):
        ring.rotate("ours-les-bains", ["nope"])
    with pytest.raises(KeyringError):
        ring.rotate("nowhere")


def test_ensure_creates_only_what_is_missing(keyring: tuple[Keyring, str]) -> None:
    ring, _bob = keyring
    before = values(ring)
    extra = SecretSpec("ours-les-bains", "redis-whoami")
    assert ring.ensure([*SPECS, extra]) == [extra]
    assert ring.ensure([*SPECS, extra]) == []
    assert {k: v for k, v in values(ring).items() if k in before} == before
    password = ring.get("ours-les-bains", "redis-whoami")
    assert len(password) == 32 and password.isalnum()
    assert len(ring.get("ours-les-bains", "app-whoami")) == 64
    assert len(set(values(ring).values())) == len(values(ring))


def test_ensure_without_persist_leaves_the_file_alone(keyring: tuple[Keyring, str], tmp_path: Path) -> None:
    """What ``bastide plan`` does: the run gets the missing secrets, the keyring on disk does not."""
    ring, bob = keyring
    on_disk = keyring_path(tmp_path).read_bytes()
    extra = SecretSpec("ours-les-bains", "redis-whoami")
    assert ring.ensure([extra], persist=False) == [extra]
    assert ring.has("ours-les-bains", "redis-whoami")
    assert keyring_path(tmp_path).read_bytes() == on_disk
    assert not Keyring.open(tmp_path, Identity(bob)).has("ours-les-bains", "redis-whoami")


def test_put_and_names(keyring: tuple[Keyring, str]) -> None:
    ring, _bob = keyring
    with pytest.raises(KeyringError):
        ring.put("Ours Les Bains", "x", b"v")
    with pytest.raises(KeyringError):
        ring.put("ours-les-bains", "../x", b"v")
    with pytest.raises(TypeError):
        ring.put("ours-les-bains", "x", "text")  # type: ignore[arg-type]


def test_concurrent_change_is_refused(keyring: tuple[Keyring, str], tmp_path: Path) -> None:
    _ring, _bob = keyring
    first = Keyring.open(tmp_path, Passphrase(PASSPHRASE))
    second = Keyring.open(tmp_path, Passphrase(PASSPHRASE))
    first.rotate("ours-les-bains", ["app-whoami"])
    with pytest.raises(KeyringError, match="changed on disk"):
        second.rotate("anse-aux-ours", ["postgresql-whoami"])


def test_create_refuses_an_existing_keyring(keyring: tuple[Keyring, str], tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="already has a keyring"):
        Keyring.create(tmp_path, PassphraseOperator("eve", PASSPHRASE, fast_kdf()))


def test_scrypt_operator(tmp_path: Path) -> None:
    ring = Keyring.create(
        tmp_path, PassphraseOperator("alice", PASSPHRASE, KdfParams("scrypt", scrypt_n=2**10))
    )
    ring.ensure(SPECS)
    assert values(Keyring.open(tmp_path, Passphrase(PASSPHRASE))) == values(ring)
    with pytest.raises(UnlockError):
        Keyring.open(tmp_path, Passphrase("wrong passphrase here"))


def test_status_has_no_values(keyring: tuple[Keyring, str]) -> None:
    ring, _bob = keyring
    text = json.dumps(ring.status())
    assert set(ring.status()["scopes"]) == {"_syndicat", "anse-aux-ours", "ours-les-bains"}
    for value in values(ring).values():
        assert value.decode() not in text
    assert "age_days" in text and "last_rotated" in text


def test_required_secrets() -> None:
    inventory = SimpleNamespace(
        communes=[
            SimpleNamespace(slug="ours-les-bains", services=["whoami", "agenda"]),
            SimpleNamespace(slug="anse-aux-ours", services=["wiki"]),
        ]
    )
    # Given explicitly, the needs may name any service, declared by a contract or not.
    needs = {"whoami": ["postgresql", "redis"], "agenda": ["postgresql"], "wiki": []}
    specs = required_secrets(inventory, needs)
    assert {(s.scope, s.name, s.kind) for s in specs} == {
        ("ours-les-bains", "backup-repository", "password"),
        ("ours-les-bains", "app-whoami", "app-secret"),
        ("ours-les-bains", "postgresql-whoami", "password"),
        ("ours-les-bains", "redis-whoami", "password"),
        ("ours-les-bains", "app-agenda", "app-secret"),
        ("ours-les-bains", "postgresql-agenda", "password"),
        ("anse-aux-ours", "backup-repository", "password"),
        ("anse-aux-ours", "app-wiki", "app-secret"),
    }
    assert specs == sorted(specs)
    # By default the needs come from the services' contracts: whoami's (tests/roles/whoami)
    # needs postgresql and redis; a service no contract declares needs no backend.
    default = required_secrets(inventory)
    assert {(s.scope, s.name) for s in default if s.scope == "ours-les-bains"} == {
        ("ours-les-bains", "backup-repository"),
        ("ours-les-bains", "app-whoami"),
        ("ours-les-bains", "postgresql-whoami"),
        ("ours-les-bains", "redis-whoami"),
        ("ours-les-bains", "app-agenda"),
    }


def test_required_secrets_of_an_inventory_with_identity() -> None:
    """With an identity section: the directory's accounts, the SSO key and each commune's header."""
    from bastide.core.inventory import load

    syndicat = Path(__file__).resolve().parents[1] / "fixtures" / "syndicat"
    specs = required_secrets(load(syndicat))
    assert {(s.name, s.kind) for s in specs if s.scope == "_syndicat"} == {
        ("directory-portal", "password"),
        ("sso-key", "app-secret"),
        ("oidc-signing-key", "rsa-key"),
        # Declared by the drive's contract (secrets, scope syndicat): once, whatever the communes.
        ("drive-discovery-identity", "x509-identity"),
        ("drive-relay-identity", "x509-identity"),
    }
    assert {(s.name, s.kind) for s in specs if s.scope == "ortu-di-l-orsu"} == {
        ("backup-repository", "password"),
        ("app-whoami", "app-secret"),
        ("postgresql-whoami", "password"),
        ("redis-whoami", "password"),
        ("directory-reader", "password"),
        ("sso-header", "app-secret"),
        ("oidc-whoami", "app-secret"),
        ("app-drive", "app-secret"),
        # Declared by the drive's contract (scope commune).
        ("drive-sync-identity", "x509-identity"),
    }
    assert {s.scope for s in specs} == {
        "_syndicat", "anse-aux-ours", "ortu-di-l-orsu", "ours-les-bains", "saint-aubin-des-combes"
    }  # fmt: skip
    assert len(specs) == 5 + 4 * 9


def test_an_rsa_key_secret_is_a_fresh_3072_bit_private_key() -> None:
    """The SSO portal signs OpenID Connect tokens with it; each one is new."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from bastide.core.keys.generate import generate

    first, second = generate("rsa-key"), generate("rsa-key")
    assert first != second and first.startswith(b"-----BEGIN PRIVATE KEY-----")
    key = serialization.load_pem_private_key(first, password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 3072
