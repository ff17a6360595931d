"""The value checks: SIREN, INSEE code, slug, domain, email, SSH keys, ports, URLs."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from bastide.core.inventory import formats
from bastide.core.inventory.formats import Invalid


def _key(private: object) -> str:
    public = private.public_key()  # type: ignore[attr-defined]
    return public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _fails(check, value, key: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as raised:
        check(value)
    assert raised.value.key == key
    assert raised.value.message and raised.value.fix


@pytest.mark.parametrize("value", ["200070019", "552100554", "732829320", "200 070 019"])
def test_siren_ok(value: str) -> None:
    assert formats.siren(value) == value.replace(" ", "")


def test_siren_bad() -> None:
    _fails(formats.siren, "200070018", "siren.luhn")
    _fails(formats.siren, "20007001", "siren.format")
    _fails(formats.siren, "20007001A", "siren.format")


@pytest.mark.parametrize(
    "value", ["38123", "01001", "2A004", "2B033", "2a004", "97101", "97611", "95690", "97801"]
)
def test_insee_ok(value: str) -> None:
    assert formats.insee(value) == value.upper()


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("3812", "insee.format"),
        ("381234", "insee.format"),
        ("2C004", "insee.format"),
        ("38 12", "insee.format"),
        ("20004", "insee.corsica"),
        ("00123", "insee.department00"),
        ("96123", "insee.department"),
        ("97935", "insee.department"),
        ("98123", "insee.department"),
        ("38000", "insee.number"),
    ],
)
def test_insee_bad(value: str, key: str) -> None:
    _fails(formats.insee, value, key)


def test_slug_and_slugify() -> None:
    assert formats.slug("ours-les-bains") == "ours-les-bains"
    for bad in ("Ours", "ours--bains", "-ours", "ours_bains", "ours-", "é"):
        _fails(formats.slug, bad, "slug.format")
    assert formats.slugify("Saint-Étienne-d'Ours") == "saint-etienne-d-ours"
    assert formats.slugify("L'Île-d'Ourson") == "l-ile-d-ourson"
    assert formats.slugify("Œuilly") == "oeuilly"
    assert formats.slugify("  Çà et là  ") == "ca-et-la"


def test_domain_and_email() -> None:
    assert formats.domain("Ours-Les-Bains.FR") == "ours-les-bains.fr"
    for bad in ("ours", "https://ours.fr", "ours.fr/path", "-ours.fr", "ours..fr", "ours.f", "ours_bains.fr"):
        _fails(formats.domain, bad, "domain.format")
    assert formats.email("marie.dupont@ours.fr") == "marie.dupont@ours.fr"
    for bad in ("marie", "@ours.fr", "marie@", "marie@ours", "ma rie@ours.fr", "marie..d@ours.fr"):
        _fails(formats.email, bad, "email.format")


def test_address() -> None:
    assert formats.address("192.0.2.10") == "192.0.2.10"
    assert formats.address("2001:db8::1") == "2001:db8::1"
    assert formats.address("srv.example.fr") == "srv.example.fr"
    _fails(formats.address, "192.0.2.300", "address.format")
    _fails(formats.address, "srv ours", "address.format")


def test_ports_urls_buckets_users() -> None:
    assert formats.port(1) == 1 and formats.port(65535) == 65535
    _fails(formats.port, 0, "port.range")
    _fails(formats.port, 65536, "port.range")
    assert formats.url("http://10.77.0.1:7480") == "http://10.77.0.1:7480"
    _fails(formats.url, "s3.example.fr", "url.format")
    _fails(formats.url, "ftp://s3.example.fr", "url.format")
    _fails(formats.url, "https://s3.example.fr:99999", "url.format")
    assert formats.optional_url("") == ""
    assert formats.bucket("vallee-ours.sauvegardes") == "vallee-ours.sauvegardes"
    for bad in ("ab", "Vallee", "vallee_ours", "-vallee", "192.168.1.1", "a..b"):
        _fails(formats.bucket, bad, "bucket.format")
    assert formats.username("dsi-alice") == "dsi-alice"
    for bad in ("Alice", "1alice", "alice smith", "a" * 33):
        _fails(formats.username, bad, "username.format")


@pytest.mark.parametrize(
    "private",
    [
        ed25519.Ed25519PrivateKey.generate(),
        ec.generate_private_key(ec.SECP256R1()),
        rsa.generate_private_key(65537, 3072),
    ],
    ids=["ed25519", "ecdsa", "rsa3072"],
)
def test_ssh_keys_ok(private: object) -> None:
    line = _key(private) + " alice@dsi"
    assert formats.ssh_public_key(line) == line


def test_ssh_keys_bad() -> None:
    good = _key(ed25519.Ed25519PrivateKey.generate())
    blob = good.split()[1]
    _fails(formats.ssh_public_key, "ssh-ed25519", "ssh_key.format")
    _fails(formats.ssh_public_key, f"ssh-dss {blob}", "ssh_key.dsa")
    _fails(formats.ssh_public_key, f"ssh-foo {blob}", "ssh_key.type")
    _fails(formats.ssh_public_key, "ssh-ed25519 not*base64", "ssh_key.base64")
    _fails(formats.ssh_public_key, f"ssh-ed25519 {blob[:20]}", "ssh_key.base64")
    _fails(formats.ssh_public_key, f"ssh-rsa {blob}", "ssh_key.mismatch")
    short = _key(rsa.generate_private_key(65537, 1024))
    _fails(formats.ssh_public_key, short, "ssh_key.rsa_size")
    # Embedded type right but the key material is garbage.
    junk = base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519" + b"\x00\x00\x00\x05abcde").decode()
    _fails(formats.ssh_public_key, f"ssh-ed25519 {junk}", "ssh_key.base64")
