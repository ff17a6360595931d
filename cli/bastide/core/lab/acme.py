"""pebble, the ACME test CA (Debian's ``pebble``), on the gateway.

Two CAs are involved and both are published in the lab info:

- the CA of pebble's own TLS certificate (``server-ca.pem``): made here with ``cryptography``,
  kept for the lab's lifetime, and installed in every lab host so ACME clients there trust the
  directory URL ``https://<gateway>:14000/dir``;
- pebble's issuing root (``issuer-root.pem``): pebble makes a new one at every start; it is
  fetched from pebble's management interface once pebble is up.

pebble resolves the names it validates through the lab DNS, and validates HTTP-01 on port 80
of the lab host the name points at.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bastide.core.lab import procs
from bastide.core.lab.plan import LabPlan

NAME = "pebble"
PORT = 14000
MANAGEMENT_PORT = 15000


def directory_url(lab: LabPlan) -> str:
    return f"https://{lab.gateway}:{PORT}/dir"


def work_dir(lab_dir: Path) -> Path:
    return lab_dir / "acme"


def server_ca_path(lab_dir: Path) -> Path:
    return work_dir(lab_dir) / "server-ca.pem"


def issuer_root_path(lab_dir: Path) -> Path:
    return work_dir(lab_dir) / "issuer-root.pem"


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bastide lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def ensure_server_ca(lab: LabPlan, lab_dir: Path) -> Path:
    """The lab's CA for pebble's TLS certificate (kept across runs so hosts keep trusting it)."""
    work = work_dir(lab_dir)
    work.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = server_ca_path(lab_dir), work / "server-ca.key"
    if cert_path.is_file() and key_path.is_file():
        return cert_path
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = _name(f"bastide lab {lab.lab_id} ACME server CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _pem_key(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path


def issue_server_certificate(lab: LabPlan, lab_dir: Path) -> tuple[Path, Path]:
    """pebble's TLS certificate, valid for the gateway's address and name."""
    work = work_dir(lab_dir)
    ca_cert = x509.load_pem_x509_certificate(server_ca_path(lab_dir).read_bytes())
    ca_key = serialization.load_pem_private_key((work / "server-ca.key").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(lab.gateway_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(lab.gateway_name), x509.IPAddress(ipaddress.ip_address(lab.gateway))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = work / "server.pem", work / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_private(key_path, _pem_key(key))
    return cert_path, key_path


def _write_private(path: Path, data: bytes) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def render_config(lab: LabPlan, cert: Path, key: Path) -> dict[str, object]:
    return {
        "pebble": {
            "listenAddress": f"{lab.gateway}:{PORT}",
            "managementListenAddress": f"{lab.gateway}:{MANAGEMENT_PORT}",
            "certificate": str(cert),
            "privateKey": str(key),
            "httpPort": 80,
            "tlsPort": 443,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }


def start(lab: LabPlan, lab_dir: Path) -> None:
    stop(lab_dir)
    ensure_server_ca(lab, lab_dir)
    cert, key = issue_server_certificate(lab, lab_dir)
    config = work_dir(lab_dir) / "pebble.json"
    config.write_text(json.dumps(render_config(lab, cert, key), indent=2), encoding="utf-8")
    issuer_root_path(lab_dir).unlink(missing_ok=True)
    env = dict(os.environ)
    # No artificial validation delay, no random nonce rejection: tests want speed and
    # determinism; the ACME protocol paths exercised stay the real ones.
    env.update({"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"})
    argv = ["pebble", "-config", str(config), "-dnsserver", f"{lab.gateway}:53"]
    procs.start_daemon(NAME, argv, lab_dir / "pids", lab_dir / "logs", env=env)


def _context(lab_dir: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server_ca_path(lab_dir)))


def _opener(lab_dir: Path) -> urllib.request.OpenerDirector:
    # The lab is reached directly, whatever proxy the controller's environment names.
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=_context(lab_dir))
    )


def ready(lab: LabPlan, lab_dir: Path) -> bool:
    try:
        with _opener(lab_dir).open(directory_url(lab), timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def fetch_issuer_root(lab: LabPlan, lab_dir: Path) -> Path:
    url = f"https://{lab.gateway}:{MANAGEMENT_PORT}/roots/0"
    with _opener(lab_dir).open(url, timeout=5) as answer:
        pem = answer.read()
    target = issuer_root_path(lab_dir)
    target.write_bytes(pem)
    return target


def stop(lab_dir: Path) -> None:
    procs.stop_daemon(NAME, lab_dir / "pids", timeout=5)
