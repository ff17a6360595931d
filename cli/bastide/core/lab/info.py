"""What a running lab offers (``LabInfo``) and where its state lives on the controller.

``<state>/lab/<id>/lab.json`` records the lab as ``lab up`` left it; ``LabInfo.load`` reads it
back for ``lab status``, ``lab ssh``, the test fixtures and the deploy code. The S3 secret key
is not in lab.json: it sits in ``s3/secret_key`` (mode 0600) and is read on demand.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bastide import paths

INFO_FILE = "lab.json"


def lab_dir(lab_id: int, state_dir: Path | None = None) -> Path:
    return (state_dir or paths.state_dir()) / "lab" / str(lab_id)


@dataclass(frozen=True)
class S3Info:
    endpoint: str
    access_key: str
    secret_key_file: str
    region: str = "lab-local"

    @property
    def secret_key(self) -> str:
        return Path(self.secret_key_file).read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class AcmeInfo:
    directory: str
    server_ca_pem: str  # CA of the ACME server's own TLS certificate
    issuer_root_pem: str  # pebble's issuing root (new at every start of pebble)
    dns_server: str


@dataclass(frozen=True)
class SmtpInfo:
    host: str
    port: int
    maildir: str


@dataclass(frozen=True)
class LabInfo:
    lab_id: int
    hosts: list[tuple[str, str]]  # (name, address)
    gateway: str
    gateway_name: str
    ssh_key: str
    ssh_public_key: str
    known_hosts: str
    ssh_user: str
    proxy_url: str
    s3: S3Info | None
    acme: AcmeInfo | None
    smtp: SmtpInfo | None
    extra_cas: list[str] = field(default_factory=list)  # controller CAs given to the hosts
    inventory: str | None = None
    inventory_hosts: dict[str, str] = field(default_factory=dict)  # inventory host → lab host
    state_dir: str = ""

    def address(self, name: str) -> str:
        for host_name, address in self.hosts:
            if host_name == name:
                return address
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hosts"] = [{"name": name, "address": address} for name, address in self.hosts]
        return data

    def save(self) -> Path:
        target = Path(self.state_dir) / INFO_FILE
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.as_dict(), indent=2) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(target)
        return target

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabInfo:
        return cls(
            lab_id=int(data["lab_id"]),
            hosts=[(h["name"], h["address"]) for h in data["hosts"]],
            gateway=data["gateway"],
            gateway_name=data["gateway_name"],
            ssh_key=data["ssh_key"],
            ssh_public_key=data["ssh_public_key"],
            known_hosts=data["known_hosts"],
            ssh_user=data.get("ssh_user", "root"),
            proxy_url=data["proxy_url"],
            s3=S3Info(**data["s3"]) if data.get("s3") else None,
            acme=AcmeInfo(**data["acme"]) if data.get("acme") else None,
            smtp=SmtpInfo(**data["smtp"]) if data.get("smtp") else None,
            extra_cas=list(data.get("extra_cas", [])),
            inventory=data.get("inventory"),
            inventory_hosts=dict(data.get("inventory_hosts") or {}),
            state_dir=data.get("state_dir", ""),
        )

    @classmethod
    def load(cls, lab_id: int, state_dir: Path | None = None) -> LabInfo | None:
        path = lab_dir(lab_id, state_dir) / INFO_FILE
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None
