"""New secret values, from the operating system's CSPRNG (``secrets``); never typed by a person.

Values use letters and digits only, so that they can be written unquoted into any
configuration format (connection URIs, environment files, YAML, INI) without escaping; the one
exceptions are the ``rsa-key`` kind, a private key in PEM (PKCS#8) for signing (the SSO portal's
OpenID Connect tokens), and the ``x509-identity`` kind, an EC P-384 private key (PKCS#8) followed by
a self-signed certificate, both PEM: the identity of a peer known by its certificate's digest
(Syncthing's device IDs), made on the controller so that the controller knows it.
"""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits

# kind -> length in characters (62 symbols: about 5.95 bits each)
GENERATED_KINDS: dict[str, int] = {
    "password": 32,  # ~190 bits: database roles, Redis, service accounts
    "app-secret": 64,  # ~380 bits: application signing/encryption secrets (Django, Rails...)
}


# RSA keys: 3072 bits, ANSSI's recommendation for keys used beyond 2030 (RGS B1).
RSA_KEY_BITS = 3072


# An x509 identity's certificate: the name Syncthing gives its own, and 20 years as it does (the
# identity is the key's digest, not the certificate's dates).
IDENTITY_COMMON_NAME = "syncthing"
IDENTITY_DAYS = 20 * 365


def _x509_identity() -> bytes:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, IDENTITY_COMMON_NAME)])
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=IDENTITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(IDENTITY_COMMON_NAME)]), critical=False)
        .sign(key, hashes.SHA384())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem_key + cert.public_bytes(serialization.Encoding.PEM)


def generate(kind: str) -> bytes:
    """A fresh random value for a generated secret of ``kind``."""
    if kind == "x509-identity":
        return _x509_identity()
    if kind == "rsa-key":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    try:
        length = GENERATED_KINDS[kind]
    except KeyError:
        raise ValueError(f"bastide does not generate secrets of kind {kind!r}") from None
    return "".join(secrets.choice(_ALPHABET) for _ in range(length)).encode("ascii")
