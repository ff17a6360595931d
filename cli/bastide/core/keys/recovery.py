"""Recovery shares: the keyring survives the loss of every administrator.

``split`` draws a random 256-bit recovery secret, registers it as the ``recovery`` operator
(so recovery does not depend on the current operators or their passphrases), and splits it
with SLIP-39 (``shamir-mnemonic``, SatoshiLabs' reference implementation of Shamir's secret
sharing over GF(256)) into word lists. Each share is printed on its own sheet, labelled with
its holder, the syndicat, its number and the threshold; every line of words carries a short
checksum so that a mistyped word is located when the share is typed back, and SLIP-39's own
checksum guards the whole share. A new split replaces the previous recovery operator: older
shares stop working.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import shamir_mnemonic

from bastide.core.keys.errors import KeyringError
from bastide.core.keys.keyring import RECOVERY_OPERATOR, Keyring
from bastide.core.keys.operators import RecoveryOperator, RecoverySecret
from bastide.errors import InputError, Problem
from bastide.i18n import Messages

_ = Messages("keys")

WORDS_PER_LINE = 5
MAX_SHARES = 16  # SLIP-39's limit
_LINE = re.compile(r"^\s*(\d{1,2}):\s+([A-Za-z ]+?)\s+\[([0-9a-f]{4})\]\s*$")


@dataclass(frozen=True)
class Share:
    index: int
    holder: str
    text: str

    def filename(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.holder.lower()).strip("-") or "holder"
        return f"share-{self.index}-{slug}.txt"


def line_checksum(number: int, words: list[str]) -> str:
    return hashlib.sha256(f"{number}:{' '.join(words)}".encode()).hexdigest()[:4]


def _render(
    *,
    index: int,
    count: int,
    threshold: int,
    holder: str,
    syndicat: str,
    keyring: Keyring,
    set_id: str,
    mnemonic: str,
) -> str:
    words = mnemonic.split()
    lines = [
        "BASTIDE — RECOVERY SHARE / PART DE RÉCUPÉRATION",
        "=" * 60,
        f"Syndicat:           {syndicat}",
        f"Holder / Détenteur: {holder}",
        f"Share / Part:       {index} of/sur {count} — any {threshold} recover the keyring"
        f" / {threshold} parts suffisent",
        f"Recovery set / Jeu: {set_id}",
        f"Keyring / Trousseau: {keyring.keyring_id[:16]}",
        f"Date:               {datetime.now(UTC):%Y-%m-%d}",
        "",
        f"Words / Mots ({len(words)}):",
    ]
    for start in range(0, len(words), WORDS_PER_LINE):
        number = start // WORDS_PER_LINE + 1
        chunk = words[start : start + WORDS_PER_LINE]
        lines.append(f"{number:2d}: {' '.join(chunk):<52} [{line_checksum(number, chunk)}]")
    lines += ["", *_("share.instructions").splitlines(), ""]
    return "\n".join(lines)


def split(keyring: Keyring, *, shares: int, threshold: int, holders: list[str], syndicat: str) -> list[Share]:
    """Create a new recovery operator and its shares (replacing any previous recovery set)."""
    problems = []
    if not 2 <= threshold <= shares <= MAX_SHARES:
        problems.append(
            Problem(
                "--shares/--threshold",
                "threshold",
                _("split.bad_counts", shares=shares, threshold=threshold, maximum=MAX_SHARES),
                _("split.bad_counts_fix", maximum=MAX_SHARES),
            )
        )
    if len(holders) > shares:
        problems.append(
            Problem(
                "--label",
                "label",
                _("split.too_many_labels", labels=len(holders), shares=shares),
                _("split.too_many_labels_fix"),
            )
        )
    if problems:
        raise InputError(problems)
    secret = secrets.token_bytes(32)
    mnemonics = shamir_mnemonic.generate_mnemonics(1, [(threshold, shares)], secret)[0]
    keyring.add_operator(RecoveryOperator(RECOVERY_OPERATOR, secret), replace=True)
    set_id = hashlib.sha256(mnemonics[0].split()[0].encode() + keyring.keyring_id.encode()).hexdigest()[:8]
    result = []
    for index, mnemonic in enumerate(mnemonics, start=1):
        holder = holders[index - 1] if index <= len(holders) else _("share.holder_default", index=index)
        text = _render(
            index=index,
            count=shares,
            threshold=threshold,
            holder=holder,
            syndicat=syndicat,
            keyring=keyring,
            set_id=set_id,
            mnemonic=mnemonic,
        )
        result.append(Share(index, holder, text))
    return result


def read_share(path: Path) -> str:
    """The mnemonic in a share file, every line's checksum verified."""
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise KeyringError(
            path, "share", _("join.unreadable", reason=error.__class__.__name__), _("join.unreadable_fix")
        ) from None
    words: list[str] = []
    expected = 1
    for line_number, line in enumerate(content.splitlines(), start=1):
        match = _LINE.match(line)
        if not match:
            continue
        number, chunk, checksum = int(match.group(1)), match.group(2).lower().split(), match.group(3)
        if number != expected:
            raise InputError(
                Problem(
                    str(path),
                    f"line {number}",
                    _("join.line_order", expected=expected),
                    _("join.line_fix"),
                    line_number,
                )
            )
        if line_checksum(number, chunk) != checksum:
            raise InputError(
                Problem(str(path), f"line {number}", _("join.line_checksum"), _("join.line_fix"), line_number)
            )
        words += chunk
        expected += 1
    if not words:
        raise KeyringError(path, "share", _("join.no_words"), _("join.line_fix"))
    return " ".join(words)


def recover(paths: list[Path]) -> RecoverySecret:
    """Combine share files into the recovery secret; a clear error when they do not suffice."""
    distinct: dict[tuple[int, int], str] = {}
    threshold = 0
    for path in paths:
        mnemonic = read_share(path)
        try:
            share = shamir_mnemonic.Share.from_mnemonic(mnemonic)
        except shamir_mnemonic.MnemonicError as error:
            raise InputError(
                Problem(str(path), "share", _("join.failed", reason=error), _("join.line_fix"))
            ) from None
        distinct.setdefault((share.identifier, share.index), mnemonic)
        threshold = max(threshold, share.member_threshold)
    # SLIP-39 wants exactly the threshold number of shares; more than enough is not an error.
    mnemonics = list(distinct.values())
    if len(mnemonics) > threshold:
        mnemonics = mnemonics[:threshold]
    try:
        return RecoverySecret(shamir_mnemonic.combine_mnemonics(mnemonics))
    except shamir_mnemonic.MnemonicError as error:
        raise InputError(
            Problem(
                ", ".join(str(p) for p in paths),
                "shares",
                _("join.failed", reason=error),
                _("join.failed_fix"),
            )
        ) from None
