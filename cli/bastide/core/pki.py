"""The syndicat's internal certification authority (``tls.mode: internal``).

bastide creates the CA and keeps it: the private key lives only in the keyring (scope
``_syndicat``, name ``internal-ca-key``), never as a plaintext file; the certificate (public)
is written next to the inventory, ``<inventory>/pki/ca.pem``, from where the renderer passes it
to Ansible as ``bastide_internal_ca_pem``. Hosts generate their own keys and CSRs; the pki role
signs them on the controller with this key (community.crypto, provider ``ownca``).

Choices, after ANSSI's RGS annex B1 and guide on TLS: ECDSA on P-384 with SHA-384 for the CA;
a name constraint limits the CA to the syndicat's commune domains (and their subdomains), so the
key cannot be used to impersonate anyone else even if a host trusts the CA; path length 0 (no
intermediate). The certificate is valid ten years and re-issued with the same key (same subject
and key identifier, so host certificates keep chaining) when it nears expiry or when a commune
with a new domain joins.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bastide.errors import BastideError
from bastide.i18n import Messages

_ = Messages("pki")

CA_SCOPE = "_syndicat"
CA_KEY_NAME = "internal-ca-key"
CA_KEY_KIND = "ca-key"
CA_CERT_RELPATH = Path("pki") / "ca.pem"
CA_VALIDITY_DAYS = 3650
CA_RENEW_BEFORE_DAYS = 365
# RFC 6761 reserves .invalid: a CA for a syndicat without communes can sign nothing real.
_NO_DOMAIN = "invalid"


class SecretStore(Protocol):
    """What the CA needs from the keyring (``bastide.core.keys.keyring.Keyring``)."""

    def has(self, scope: str, name: str) -> bool: ...

    def get(self, scope: str, name: str) -> bytes: ...

    def put(self, scope: str, name: str, value: bytes, kind: str = "opaque") -> None: ...


@dataclass(frozen=True)
class CaStatus:
    """What ``ensure_ca`` found and did."""

    path: Path
    key_created: bool
    certificate_issued: bool
    not_after: datetime
    domains: tuple[str, ...]


def ca_certificate_path(inventory_root: Path | str) -> Path:
    return Path(inventory_root) / CA_CERT_RELPATH


def ca_domains(inventory: Any) -> list[str]:
    """The DNS subtrees the CA may certify: every commune's domain and the identity's names
    (portal, directory), sorted, without duplicates."""
    domains = {str(c.domain).lower().rstrip(".") for c in inventory.communes}
    identity = getattr(inventory, "identity", None)
    if identity is not None:
        domains |= {identity.portal, identity.directory}
    return sorted(domains)


def new_ca_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def key_to_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def key_from_pem(pem: bytes) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise BastideError(_("key.unreadable", scope=CA_SCOPE, name=CA_KEY_NAME)) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in ("secp256r1", "secp384r1"):
        raise BastideError(_("key.wrong_type", scope=CA_SCOPE, name=CA_KEY_NAME))
    return key


def ca_subject(syndicat_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, syndicat_name[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{syndicat_name[:40]} - AC interne bastide"),
        ]
    )


def build_ca_certificate(
    key: ec.EllipticCurvePrivateKey,
    *,
    syndicat_name: str,
    domains: Sequence[str],
    valid_days: int = CA_VALIDITY_DAYS,
    now: datetime | None = None,
) -> x509.Certificate:
    """A self-signed CA certificate for ``key``, constrained to ``domains`` and their subdomains."""
    now = now or datetime.now(UTC)
    subject = ca_subject(syndicat_name)
    permitted = [x509.DNSName(d) for d in (domains or [_NO_DOMAIN])]
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(key, hashes.SHA384())
    )


def permitted_domains(certificate: x509.Certificate) -> set[str] | None:
    """The DNS subtrees a CA certificate is limited to, or None when it has no name constraint."""
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None
    return {
        str(name.value).lower()
        for name in constraints.permitted_subtrees or []
        if isinstance(name, x509.DNSName)
    }


def _same_key(certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return certificate.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def needs_reissue(
    certificate: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    *,
    syndicat_name: str,
    domains: Iterable[str],
    renew_before_days: int = CA_RENEW_BEFORE_DAYS,
    now: datetime | None = None,
) -> bool:
    """Whether the CA certificate on disk no longer fits the key, the syndicat or its communes."""
    now = now or datetime.now(UTC)
    if not _same_key(certificate, key) or certificate.subject != ca_subject(syndicat_name):
        return True
    if certificate.not_valid_after_utc - now < timedelta(days=renew_before_days):
        return True
    wanted = set(domains) or {_NO_DOMAIN}
    return permitted_domains(certificate) != wanted


def _write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ca-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_ca_certificate(inventory_root: Path | str) -> x509.Certificate | None:
    path = ca_certificate_path(inventory_root)
    if not path.exists():
        return None
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError:
        raise BastideError(_("cert.unreadable", path=path)) from None


def ensure_ca(
    inventory: Any,
    keyring: SecretStore,
    *,
    renew_before_days: int = CA_RENEW_BEFORE_DAYS,
    now: datetime | None = None,
) -> CaStatus:
    """Make sure the internal CA exists and fits the inventory: create its key in the keyring if
    it has none, and (re)issue ``<inventory>/pki/ca.pem`` when it is missing, made for another
    key, near expiry, or not covering every commune's domain. Idempotent."""
    root = Path(inventory.root)
    domains = ca_domains(inventory)
    syndicat_name = str(inventory.syndicat.name)
    key_created = False
    if keyring.has(CA_SCOPE, CA_KEY_NAME):
        key = key_from_pem(keyring.get(CA_SCOPE, CA_KEY_NAME))
    else:
        key = new_ca_key()
        keyring.put(CA_SCOPE, CA_KEY_NAME, key_to_pem(key), kind=CA_KEY_KIND)
        key_created = True
    path = ca_certificate_path(root)
    current = load_ca_certificate(root)
    if current is not None and not needs_reissue(
        current,
        key,
        syndicat_name=syndicat_name,
        domains=domains,
        renew_before_days=renew_before_days,
        now=now,
    ):
        return CaStatus(path, key_created, False, current.not_valid_after_utc, tuple(domains))
    certificate = build_ca_certificate(key, syndicat_name=syndicat_name, domains=domains, now=now)
    _write_public(path, certificate.public_bytes(serialization.Encoding.PEM))
    return CaStatus(path, key_created, True, certificate.not_valid_after_utc, tuple(domains))
