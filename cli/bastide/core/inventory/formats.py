"""Syntax checks for the values an inventory holds (SIREN, INSEE code, domain, SSH key...).

Each check returns the value (normalised where that is harmless, e.g. a domain in lowercase) or
raises :class:`Invalid`, which carries the message key in ``data/locale/inventory.yml``: the
message is ``<key>`` and the fix ``<key>.fix``, both formatted with the same parameters.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import struct
import unicodedata
from urllib.parse import urlsplit

from bastide.i18n import Messages

_ = Messages("inventory")


class Invalid(ValueError):
    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(key)

    @property
    def message(self) -> str:
        return _(self.key, **self.params)

    @property
    def fix(self) -> str:
        return _(f"{self.key}.fix", **self.params)


_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_TLD = re.compile(r"^[a-z]{2,63}$|^xn--[a-z0-9-]{1,59}$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_LOGIN = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_INSEE = re.compile(r"^(?:(\d{2})|(2[AB]))(\d{3})$")

# Departments with an INSEE code of the form DD + 3 digits; Corsica is 2A/2B since 1976, so a
# code starting with 20 is a typo, and 96 was never used.
_OVERSEAS = {"971", "972", "973", "974", "975", "976", "977", "978", "986", "987", "988"}

SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
_RSA_MIN_BITS = 2048


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def siren(value: str) -> str:
    compact = value.replace(" ", "")
    if not re.fullmatch(r"\d{9}", compact):
        raise Invalid("siren.format", value=value)
    if not luhn_ok(compact):
        raise Invalid("siren.luhn", value=value)
    return compact


def insee(value: str) -> str:
    code = value.upper()
    match = _INSEE.match(code)
    if not match:
        raise Invalid("insee.format", value=value)
    department, _corsica, number = match.groups()
    if department is not None:
        if department == "00":
            raise Invalid("insee.department00", value=value)
        if department == "20":
            raise Invalid("insee.corsica", value=value)
        if department == "96":
            raise Invalid("insee.department", value=value, department=department)
        if department in ("97", "98"):
            if department + number[0] not in _OVERSEAS:
                raise Invalid("insee.department", value=value, department=department + number[0])
            if number[1:] == "00":
                raise Invalid("insee.number", value=value)
            return code
    if number == "000":
        raise Invalid("insee.number", value=value)
    return code


def slug(value: str) -> str:
    if not _SLUG.match(value) or len(value) > 63:
        raise Invalid("slug.format", value=value, suggestion=slugify(value) or "ma-commune")
    return value


# Letters NFKD does not decompose but French names use (Œuilly, Lætitia).
_LIGATURES = {"Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae", "ß": "ss"}


def slugify(name: str) -> str:
    """A slug from a commune's name: accents stripped, lowercase, words joined by hyphens."""
    for ligature, letters in _LIGATURES.items():
        name = name.replace(ligature, letters)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    words = re.split(r"[^a-z0-9]+", ascii_name.lower())
    return "-".join(word for word in words if word)[:63].strip("-")


def hostname(value: str, *, min_labels: int = 1) -> str:
    """A DNS name: lowercase letters, digits and hyphens in dot-separated labels."""
    name = value.lower().rstrip(".")
    labels = name.split(".")
    if (
        not name
        or len(name) > 253
        or len(labels) < min_labels
        or not all(_LABEL.match(label) for label in labels)
        or (len(labels) > 1 and not _TLD.match(labels[-1]))
    ):
        raise Invalid("domain.format" if min_labels > 1 else "hostname.format", value=value)
    return name


def domain(value: str) -> str:
    return hostname(value, min_labels=2)


def address(value: str) -> str:
    """An IP address or a host name the controller can resolve."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    try:
        return hostname(value)
    except Invalid:
        raise Invalid("address.format", value=value) from None


# Broader than this, a "trusted network" is most of the Internet: the firewall would drop nothing.
_NARROWEST_TRUSTED_PREFIX = {4: 8, 6: 32}


def network(value: str) -> str:
    """An IP network in CIDR notation (a bare address means that address alone)."""
    try:
        parsed = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise Invalid("network.format", value=value) from None
    try:
        ipaddress.ip_network(value)
    except ValueError:
        raise Invalid("network.host_bits", value=value, network=str(parsed)) from None
    if parsed.prefixlen < _NARROWEST_TRUSTED_PREFIX[parsed.version]:
        raise Invalid("network.too_broad", value=value, prefix=_NARROWEST_TRUSTED_PREFIX[parsed.version])
    return str(parsed)


def email(value: str) -> str:
    local, at, rest = value.rpartition("@")
    if not at or not local or len(local) > 64 or not _EMAIL_LOCAL.match(local):
        raise Invalid("email.format", value=value)
    try:
        return f"{local}@{domain(rest)}"
    except Invalid:
        raise Invalid("email.format", value=value) from None


def username(value: str) -> str:
    if not _USER.match(value):
        raise Invalid("username.format", value=value)
    return value


def login(value: str) -> str:
    """A person's login in the directory (uid): lowercase letters, digits, ``.``, ``_``, ``-``."""
    if not _LOGIN.match(value):
        raise Invalid("login.format", value=value)
    return value


def host_name(value: str) -> str:
    if not _LABEL.match(value):
        raise Invalid("host_name.format", value=value)
    return value


def bucket(value: str) -> str:
    if not _BUCKET.match(value) or ".." in value or _is_ip(value):
        raise Invalid("bucket.format", value=value)
    return value


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def url(value: str, *, schemes: tuple[str, ...] = ("https", "http")) -> str:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise Invalid("url.format", value=value, schemes="/".join(schemes)) from None
    if parts.scheme not in schemes or not parts.hostname or (port is not None and not 0 < port < 65536):
        raise Invalid("url.format", value=value, schemes="/".join(schemes))
    try:
        address(parts.hostname)
    except Invalid:
        raise Invalid("url.format", value=value, schemes="/".join(schemes)) from None
    return value


def optional_url(value: str) -> str:
    return value if value == "" else url(value)


def port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise Invalid("port.range", value=value)
    return value


def nonblank(value: str) -> str:
    if not value.strip():
        raise Invalid("text.blank")
    return value.strip()


def choice(value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise Invalid("choice", value=value, choices=", ".join(choices))
    return value


def ssh_public_key(value: str) -> str:
    """An OpenSSH public key line: ``type base64 [comment]``, the blob naming the same type."""
    fields = value.split()
    if len(fields) < 2:
        raise Invalid("ssh_key.format", value=_shorten(value))
    key_type, blob_text = fields[0], fields[1]
    if key_type == "ssh-dss":
        raise Invalid("ssh_key.dsa")
    if key_type not in SSH_KEY_TYPES:
        raise Invalid("ssh_key.type", type=key_type, types=", ".join(SSH_KEY_TYPES))
    try:
        blob = base64.b64decode(blob_text, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("ssh_key.base64", type=key_type) from None
    if len(blob) < 4:
        raise Invalid("ssh_key.base64", type=key_type)
    (length,) = struct.unpack(">I", blob[:4])
    embedded = blob[4 : 4 + length].decode("ascii", "replace")
    if embedded != key_type:
        raise Invalid("ssh_key.mismatch", type=key_type, embedded=_shorten(embedded, 40))
    if not key_type.startswith("sk-"):
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.hazmat.primitives.serialization import load_ssh_public_key

        try:
            key = load_ssh_public_key(f"{key_type} {blob_text}".encode())
        except (ValueError, TypeError):
            raise Invalid("ssh_key.base64", type=key_type) from None
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < _RSA_MIN_BITS:
            raise Invalid("ssh_key.rsa_size", bits=key.key_size, minimum=_RSA_MIN_BITS)
    return " ".join(fields)


def _shorten(text: str, width: int = 30) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
