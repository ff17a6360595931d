"""What each commune site actually serves, seen from the administration host as a browser sees it.

``bastide tls status`` connects to every site's host on port 443 with the site's name (SNI),
reads the certificate nginx presents, and judges it against the renewal policy: a monitoring
probe for both modes that needs no keyring and changes nothing. In internal mode the certificate
must also be signed by the syndicat's CA (``<inventory>/pki/ca.pem``).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from bastide.core import pki
from bastide.core.identity import directory
from bastide.core.inventory import Inventory
from bastide.core.tls import policy

HTTPS_PORT = 443

# From best to worst: a run is as bad as its worst site.
OK = "ok"
DUE = "due"  # within the renewal window: the next renewal run replaces it, nothing to do
OVERDUE = "overdue"  # within the alarm window: renewals have been failing for days
EXPIRED = "expired"
WRONG_NAME = "wrong-name"
UNTRUSTED = "untrusted"  # internal mode: not signed by the syndicat's CA
UNREACHABLE = "unreachable"
STATES = (OK, DUE, OVERDUE, EXPIRED, WRONG_NAME, UNTRUSTED, UNREACHABLE)
HEALTHY = (OK, DUE)


@dataclass(frozen=True)
class Site:
    host: str
    address: str
    commune: str
    service: str
    fqdn: str


@dataclass(frozen=True)
class Served:
    """One site's certificate as served, and the verdict on it."""

    site: Site
    state: str
    not_after: datetime | None = None
    days_left: float | None = None
    serial: str | None = None
    issuer: str | None = None
    detail: str = ""

    @property
    def healthy(self) -> bool:
        return self.state in HEALTHY

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self.site)
        data.update(
            state=self.state,
            healthy=self.healthy,
            not_after=self.not_after.isoformat() if self.not_after else None,
            days_left=round(self.days_left, 1) if self.days_left is not None else None,
            serial=self.serial,
            issuer=self.issuer,
            detail=self.detail,
        )
        return data


def sites(inventory: Inventory, limit_hosts: Iterable[str] | None = None) -> list[Site]:
    wanted = set(limit_hosts) if limit_hosts else None
    found = []
    for commune in inventory.communes:
        if wanted is not None and commune.host not in wanted:
            continue
        address = inventory.host(commune.host).address
        for site in commune.sites():
            found.append(Site(commune.host, address, commune.slug, site.service, site.fqdn))
    identity = inventory.identity
    if identity is not None and (wanted is None or identity.host in wanted):
        # The SSO portal: every login goes through it (its certificate also covers the directory).
        address = inventory.host(identity.host).address
        # Its row's "commune" is the syndicat.
        found.append(Site(identity.host, address, directory.SYNDICAT_SCOPE, "portal", identity.portal))
    return found


def fetch(address: str, fqdn: str, *, port: int = HTTPS_PORT, timeout: float = 10.0) -> x509.Certificate:
    """The leaf certificate the server at ``address`` presents for ``fqdn``. Not validated here:
    the point is to see and judge whatever is served, expired or not."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection((address, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=fqdn) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError(f"{address} presented no certificate for {fqdn}")
    return x509.load_der_x509_certificate(der)


def _names(certificate: x509.Certificate) -> list[str]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in san.get_values_for_type(x509.DNSName)]


def covers(certificate: x509.Certificate, fqdn: str) -> bool:
    """Whether the certificate's DNS names include ``fqdn`` (exactly, or by a one-label wildcard)."""
    fqdn = fqdn.lower().rstrip(".")
    for name in _names(certificate):
        if name == fqdn:
            return True
        if name.startswith("*.") and "." in fqdn and fqdn.split(".", 1)[1] == name[2:]:
            return True
    return False


def signed_by(certificate: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def judge(
    site: Site,
    certificate: x509.Certificate,
    *,
    ca: x509.Certificate | None = None,
    now: datetime | None = None,
) -> Served:
    now = now or datetime.now(UTC)
    not_after = certificate.not_valid_after_utc
    left = (not_after - now) / timedelta(days=1)
    if left <= 0:
        state = EXPIRED
    elif not covers(certificate, site.fqdn):
        state = WRONG_NAME
    elif ca is not None and not signed_by(certificate, ca):
        state = UNTRUSTED
    elif left < policy.ALARM_BEFORE_DAYS:
        state = OVERDUE
    elif left < policy.RENEW_BEFORE_DAYS:
        state = DUE
    else:
        state = OK
    return Served(
        site,
        state,
        not_after=not_after,
        days_left=left,
        serial=format(certificate.serial_number, "x"),
        issuer=certificate.issuer.rfc4514_string(),
    )


def survey(
    inventory: Inventory,
    limit_hosts: Iterable[str] | None = None,
    *,
    port: int = HTTPS_PORT,
    now: datetime | None = None,
) -> list[Served]:
    """Every site's served certificate, judged; sites are probed in parallel."""
    ca = None
    no_ca = ""
    if inventory.settings.tls.mode == "internal":
        ca = pki.load_ca_certificate(inventory.root)
        if ca is None:
            path = pki.ca_certificate_path(inventory.root)
            no_ca = f"no CA certificate at {path} (bastide deploy creates it)"

    def probe(site: Site) -> Served:
        try:
            certificate = fetch(site.address, site.fqdn, port=port)
        except (OSError, ValueError) as error:
            return Served(site, UNREACHABLE, detail=f"{error.__class__.__name__}: {error}")
        verdict = judge(site, certificate, ca=ca, now=now)
        # Nothing to check the signature against: not trusted is the honest verdict.
        return replace(verdict, state=UNTRUSTED, detail=no_ca) if no_ca else verdict

    targets = sites(inventory, limit_hosts)
    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(targets))) as pool:
        return list(pool.map(probe, targets))
