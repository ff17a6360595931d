"""New secret values, from the operating system's CSPRNG (``secrets``); never typed by a person.

Values use letters and digits only, so that they can be written unquoted into any
configuration format (connection URIs, environment files, YAML, INI) without escaping; the one
exception is the ``rsa-key`` kind, a private key in PEM (PKCS#8) for signing (the SSO portal's
OpenID Connect tokens).
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


def generate(kind: str) -> bytes:
    """A fresh random value for a generated secret of ``kind``."""
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
