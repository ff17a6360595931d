"""The ``x509-identity`` kind of generated secret: an EC P-384 private key (PKCS#8 PEM) followed by
a self-signed certificate (PEM) for it, CN ``syncthing`` (the drive's sync servers and hubs are
known by their certificate's digest, so the controller makes them and knows their device IDs)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bastide.core.keys import KdfParams, Keyring, Passphrase, PassphraseOperator, SecretSpec
from bastide.core.keys.generate import generate

PASSPHRASE = "correct horse battery staple"


def split(value: bytes) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, bytes, bytes]:
    """The key and the certificate of an identity, and their PEM blocks."""
    text = value.decode("ascii")
    assert text.startswith("-----BEGIN PRIVATE KEY-----\n")  # PKCS#8, unencrypted
    key_pem, rest = text.split("-----END PRIVATE KEY-----\n", 1)
    key_pem += "-----END PRIVATE KEY-----\n"
    assert rest.startswith("-----BEGIN CERTIFICATE-----\n") and rest.endswith("-----END CERTIFICATE-----\n")
    assert rest.count("-----BEGIN CERTIFICATE-----") == 1
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    cert = x509.load_pem_x509_certificate(rest.encode())
    return key, cert, key_pem.encode(), rest.encode()


@pytest.fixture(scope="module")
def identity() -> bytes:
    return generate("x509-identity")


def test_the_key_is_ec_p384(identity: bytes) -> None:
    key, _cert, _key_pem, _cert_pem = split(identity)
    assert isinstance(key.curve, ec.SECP384R1) and key.key_size == 384


def test_the_certificate_is_self_signed_for_syncthing(identity: bytes) -> None:
    _key, cert, _key_pem, _cert_pem = split(identity)
    [cn] = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert cn.value == "syncthing"
    assert cert.issuer == cert.subject
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    # Signed by its own key (raises if not).
    cert.verify_directly_issued_by(cert)
    public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA384)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_the_key_matches_the_certificate(identity: bytes) -> None:
    key, cert, _key_pem, _cert_pem = split(identity)
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert key.public_key().public_bytes(*raw) == cert.public_key().public_bytes(*raw)


def test_the_certificate_is_valid_now_and_for_years(identity: bytes) -> None:
    _key, cert, _key_pem, _cert_pem = split(identity)
    now = datetime.datetime.now(datetime.UTC)
    assert cert.not_valid_before_utc <= now < cert.not_valid_after_utc
    assert cert.not_valid_after_utc - now > datetime.timedelta(days=10 * 365)


def test_each_identity_is_new(identity: bytes) -> None:
    other = generate("x509-identity")
    assert other != identity
    first, second = split(identity), split(other)
    assert first[1].serial_number != second[1].serial_number
    assert first[2] != second[2]


def test_the_keyring_generates_and_keeps_an_identity(tmp_path: Path) -> None:
    """`bastide keys generate` (Keyring.ensure) stores the kind, and the value reads back whole."""
    fast = KdfParams("argon2id", 1, 1, 8)
    ring = Keyring.create(tmp_path, PassphraseOperator("alice", PASSPHRASE, fast))
    spec = SecretSpec("_syndicat", "drive-relay-identity", "x509-identity")
    assert ring.ensure([spec]) == [spec]
    reopened = Keyring.open(tmp_path, Passphrase(PASSPHRASE))
    value = reopened.get("_syndicat", "drive-relay-identity")
    key, cert, _key_pem, _cert_pem = split(value)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    [info] = [i for i in reopened.secrets() if i.name == "drive-relay-identity"]
    assert info.kind == "x509-identity"
    # A rotation makes a new identity of the same kind.
    reopened.rotate("_syndicat", ["drive-relay-identity"])
    assert reopened.get("_syndicat", "drive-relay-identity") != value
    split(reopened.get("_syndicat", "drive-relay-identity"))
