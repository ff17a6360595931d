"""Syncthing device IDs, computed the way Syncthing 1.19 computes them (lib/protocol/deviceid.go,
lib/protocol/luhn.go at v1.19.2): the SHA-256 of the certificate's DER bytes, in base32 without
padding (52 characters), each of its four 13-character groups followed by a check character
(Syncthing's own base-32 variant of Luhn's algorithm), shown in eight groups of seven joined by
dashes. ``tests/unit/test_sync_ids.py`` checks it against the ``syncthing`` binary itself
(``syncthing --home DIR --device-id``).
"""

from __future__ import annotations

import base64
import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# The canonical form: 8 groups of 7 characters of the base32 alphabet, upper case.
DEVICE_ID = re.compile(r"^[A-Z2-7]{7}(-[A-Z2-7]{7}){7}$")


class InvalidDeviceId(ValueError):
    """Not a Syncthing device ID; ``reason`` is ``syntax`` or ``check`` (a mistyped character)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def luhn32(group: str) -> str:
    """Syncthing's check character of ``group`` (13 base32 characters). Not the textbook Luhn
    mod 32 (Syncthing's factor starts at 1 and the sum folds each addend), kept as it is for
    compatibility: lib/protocol/luhn.go."""
    factor, total = 1, 0
    for char in group:
        addend = factor * ALPHABET.index(char)
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def from_digest(digest: bytes) -> str:
    """The device ID of a 32-byte SHA-256 digest."""
    if len(digest) != 32:
        raise ValueError("a device ID is made of 32 bytes")
    plain = base64.b32encode(digest).decode("ascii").rstrip("=")
    checked = "".join(plain[i : i + 13] + luhn32(plain[i : i + 13]) for i in range(0, 52, 13))
    return "-".join(checked[i : i + 7] for i in range(0, 56, 7))


def device_id(cert_pem: str | bytes) -> str:
    """The device ID of the first certificate in ``cert_pem`` (a PEM text, which may also hold
    the private key, as the keyring's ``x509-identity`` values do)."""
    data = cert_pem.encode("ascii") if isinstance(cert_pem, str) else cert_pem
    certificate = x509.load_pem_x509_certificate(_first_certificate(data))
    der = certificate.public_bytes(serialization.Encoding.DER)
    return from_digest(hashlib.sha256(der).digest())


def _first_certificate(pem: bytes) -> bytes:
    begin = pem.find(b"-----BEGIN CERTIFICATE-----")
    end_marker = b"-----END CERTIFICATE-----"
    end = pem.find(end_marker, begin)
    if begin < 0 or end < 0:
        raise ValueError("no PEM certificate in the value")
    return pem[begin : end + len(end_marker)]


def normalise(text: str) -> str:
    """``text`` as a canonical device ID (upper case, dashes), or :class:`InvalidDeviceId`.

    Accepts what Syncthing accepts from a person (lib/protocol/deviceid.go, UnmarshalText): lower
    case, spaces or dashes anywhere, and 0, 1, 8 typed for O, I, B. The old 52-character form
    without check characters is refused: every client since 2014 shows the checked form."""
    raw = text.strip().upper().replace("-", "").replace(" ", "")
    raw = raw.replace("0", "O").replace("1", "I").replace("8", "B")
    if len(raw) != 56 or any(char not in ALPHABET for char in raw):
        raise InvalidDeviceId("syntax")
    for i in range(4):
        group = raw[i * 14 : i * 14 + 13]
        if raw[i * 14 + 13] != luhn32(group):
            raise InvalidDeviceId("check")
    return "-".join(raw[i : i + 7] for i in range(0, 56, 7))
