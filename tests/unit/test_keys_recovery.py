"""Recovery shares: any 3 of 5 recover the keyring, 2 do not; typos are located."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from shamir_mnemonic import shamir

from bastide.core.keys import (
    KdfParams,
    Keyring,
    KeyringError,
    Passphrase,
    PassphraseOperator,
    SecretSpec,
    UnlockError,
)
from bastide.core.keys import recovery as recovery_module
from bastide.core.keys.keyring import RECOVERY_OPERATOR
from bastide.core.keys.recovery import line_checksum, recover, split
from bastide.errors import InputError

# Small Argon2id parameters keep the tests fast; production uses RFC 9106's defaults.
PASSPHRASE = "correct horse battery staple"


def fast_kdf() -> KdfParams:
    return KdfParams("argon2id", iterations=1, lanes=1, memory_kib=8)


def values(ring: Keyring) -> dict[tuple[str, str], bytes]:
    return {(info.scope, info.name): ring.get(info.scope, info.name) for info in ring.secrets()}


LABELS = ["Maire", "Première adjointe", "DGS", "Président du syndicat", "Notaire"]
SYNDICAT = "Syndicat numérique de la Vallée de l'Ours"


@pytest.fixture
def ring(tmp_path: Path) -> Keyring:
    ring = Keyring.create(tmp_path / "inventory", PassphraseOperator("alice", PASSPHRASE, fast_kdf()))
    ring.ensure(
        [
            SecretSpec("ours-les-bains", "postgresql-whoami"),
            SecretSpec("anse-aux-ours", "app-whoami", "app-secret"),
        ]
    )
    return ring


def write_shares(ring: Keyring, directory: Path, **options: object) -> list[Path]:
    sheets = split(
        ring,
        shares=options.get("shares", 5),  # type: ignore[arg-type]
        threshold=options.get("threshold", 3),  # type: ignore[arg-type]
        holders=options.get("holders", LABELS),  # type: ignore[arg-type]
        syndicat=SYNDICAT,
    )
    directory.mkdir(exist_ok=True)
    paths = []
    for sheet in sheets:
        path = directory / sheet.filename()
        path.write_text(sheet.text, encoding="utf-8")
        paths.append(path)
    return paths


def test_share_sheets_are_labelled(ring: Keyring, tmp_path: Path) -> None:
    paths = write_shares(ring, tmp_path / "shares")
    assert [p.name for p in paths] == [
        "share-1-maire.txt",
        "share-2-premi-re-adjointe.txt",
        "share-3-dgs.txt",
        "share-4-pr-sident-du-syndicat.txt",
        "share-5-notaire.txt",
    ]
    text = paths[1].read_text(encoding="utf-8")
    assert "Première adjointe" in text and SYNDICAT in text
    assert "2 of/sur 5" in text and "any 3 recover" in text
    word_lines = [line for line in text.splitlines() if line[:3].strip().rstrip(":").isdigit()]
    assert len(word_lines) == 7  # 33 SLIP-39 words, five a line
    for line in word_lines:
        number, rest = line.split(":", 1)
        words, checksum = rest.rsplit("[", 1)
        assert line_checksum(int(number), words.split()) == checksum.rstrip("]")
    assert {o.name: o.kind for o in ring.operators()}[RECOVERY_OPERATOR] == "recovery"


def test_every_three_of_five_recovers_and_every_two_fails(ring: Keyring, tmp_path: Path) -> None:
    inventory = ring.path.parent.parent
    expected = values(ring)
    paths = write_shares(ring, tmp_path / "shares")
    for size in (3, 4, 5):
        for chosen in itertools.combinations(paths, size):
            opened = Keyring.open(inventory, recover(list(chosen)))
            assert opened.opened_by == RECOVERY_OPERATOR
            assert values(opened) == expected
    for chosen in itertools.combinations(paths, 2):
        with pytest.raises(InputError) as caught:
            recover(list(chosen))
        assert "do not recover" in caught.value.problems[0].message
    with pytest.raises(InputError):
        recover([paths[0], paths[0], paths[1]])  # the same share twice is not three shares


def test_the_field_is_gf256(ring: Keyring) -> None:
    """Exhaustive check of the GF(2^8) arithmetic the shares are computed in (AES polynomial
    0x11B): the library's log/exp tables agree with carry-less multiplication for all pairs."""

    def multiply(a: int, b: int) -> int:
        product = 0
        while b:
            if b & 1:
                product ^= a
            a <<= 1
            if a & 0x100:
                a ^= 0x11B
            b >>= 1
        return product

    exp, log = shamir.EXP_TABLE, shamir.LOG_TABLE
    assert sorted(exp[:255]) == list(range(1, 256))  # a generator: every non-zero element once
    for a in range(1, 256):
        for b in range(1, 256):
            assert exp[(log[a] + log[b]) % 255] == multiply(a, b)


def test_two_shares_are_consistent_with_any_secret(ring: Keyring, tmp_path: Path) -> None:
    """At the Shamir layer, with threshold 3, two shares plus *any* candidate secret define a
    valid polynomial: for every value of a secret byte there is one sharing that produced
    exactly these two shares. (SLIP-39 adds a 4-byte digest share on top, which lets a guess of
    the whole 256-bit secret be checked, not found.)"""
    paths = write_shares(ring, tmp_path / "shares")
    first, second = (shamir.Share.from_mnemonic(recovery_module.read_share(p)) for p in paths[:2])
    points = [shamir.RawShare(first.index, first.value), shamir.RawShare(second.index, second.value)]
    length = len(first.value)
    third_x = 7  # a share index nobody holds
    seen = set()
    for candidate in range(256):
        secret = bytes([candidate]) * length
        polynomial = [*points, shamir.RawShare(shamir.SECRET_INDEX, secret)]
        # The polynomial through the two real shares and the candidate secret passes back
        # through both shares and yields a well-defined third share: nothing rules it out.
        for point in points:
            assert shamir._interpolate(polynomial, point.x) == point.data
        seen.add(shamir._interpolate(polynomial, third_x))
    assert len(seen) == 256  # each candidate secret corresponds to a different unseen share


def test_a_typo_is_located(ring: Keyring, tmp_path: Path) -> None:
    paths = write_shares(ring, tmp_path / "shares")
    lines = paths[0].read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(" 3:"))
    words = lines[index].split()
    words[2] = "academic" if words[2] != "academic" else "acid"
    lines[index] = " ".join(words)
    paths[0].write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        recover(paths[:3])
    problem = caught.value.problems[0]
    assert problem.file == str(paths[0]) and problem.line == index + 1 and problem.field == "line 3"
    assert "mistyped" in problem.message


def test_shares_typed_back_in_capitals_work(ring: Keyring, tmp_path: Path) -> None:
    paths = write_shares(ring, tmp_path / "shares")
    typed = tmp_path / "typed.txt"
    typed.write_text(
        "\n".join(
            line.split("[")[0].upper() + "[" + line.split("[")[1] if "[" in line else ""
            for line in paths[4].read_text().splitlines()
        )
    )
    assert (
        Keyring.open(ring.path.parent.parent, recover([paths[0], paths[2], typed])).opened_by
        == RECOVERY_OPERATOR
    )


def test_recovery_without_any_operator_credential(ring: Keyring, tmp_path: Path) -> None:
    """Every administrator is gone: the shares alone let a new one in."""
    inventory = ring.path.parent.parent
    expected = values(ring)
    paths = write_shares(ring, tmp_path / "shares")
    ring.rotate_keyring_key()  # recovery survives later re-wrapping
    opened = Keyring.open(inventory, recover([paths[4], paths[1], paths[3]]))
    opened.add_operator(PassphraseOperator("carol", "a brand new passphrase", fast_kdf()))
    opened.remove_operator("alice")
    carol = Keyring.open(inventory, Passphrase("a brand new passphrase"))
    assert values(carol) == expected
    with pytest.raises(UnlockError):
        Keyring.open(inventory, Passphrase(PASSPHRASE))


def test_a_new_split_invalidates_older_shares(ring: Keyring, tmp_path: Path) -> None:
    inventory = ring.path.parent.parent
    old = write_shares(ring, tmp_path / "old")
    new = write_shares(ring, tmp_path / "new")
    assert Keyring.open(inventory, recover(new[:3])).opened_by == RECOVERY_OPERATOR
    with pytest.raises(UnlockError):
        Keyring.open(inventory, recover(old[:3]))


def test_bad_counts(ring: Keyring) -> None:
    for shares, threshold in ((5, 1), (2, 3), (17, 3)):
        with pytest.raises(InputError):
            split(ring, shares=shares, threshold=threshold, holders=[], syndicat=SYNDICAT)
    with pytest.raises(InputError):
        split(ring, shares=2, threshold=2, holders=["a", "b", "c"], syndicat=SYNDICAT)
    assert RECOVERY_OPERATOR not in {o.name for o in ring.operators()}


def test_empty_share_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("nothing here\n")
    with pytest.raises(KeyringError, match="no line of words"):
        recover([empty])
