"""The lab's inventory: an inventory (the demo by default) with its hosts moved onto the lab.

Same syndicat and communes; host ``i`` of the source becomes lab host ``i`` (its address, provider
``lab``, region ``lab-local``); settings point at the lab's services (SMTP sink, pebble, proxy,
lab SSH key, trusted CAs copied next to the inventory) and ``lab: true`` marks the result.
Backup targets point at the lab's S3 endpoint. The keyring of an earlier lab inventory at the
same place is kept (its secrets stay valid for the same syndicat).
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bastide import paths
from bastide.core.lab.info import LabInfo
from bastide.errors import InputError, Problem
from bastide.i18n import Messages

_ = Messages("lab")

PROVIDER = "lab"
REGION = "lab-local"
CA_DIR = "cas"
HEADER = (
    "# Written by `bastide lab up` from {source}: the same syndicat, its hosts on lab {lab}.\n"
    "# Rewritten at every `lab up`; change the source inventory instead.\n"
)


@dataclass(frozen=True)
class SourceInventory:
    root: Path
    syndicat: dict[str, Any]
    communes: dict[str, dict[str, Any]]  # file name → content

    @property
    def host_names(self) -> list[str]:
        return [str(host["name"]) for host in self.syndicat.get("hosts") or []]

    def domains(self, lab_host_names: list[str]) -> dict[str, str]:
        """Commune domain → the lab host that will serve it (for the lab DNS)."""
        mapping = dict(zip(self.host_names, lab_host_names, strict=False))
        domains = {
            str(commune["domain"]): mapping[commune["host"]]
            for commune in self.communes.values()
            if commune.get("domain") and commune.get("host") in mapping
        }
        identity = self.syndicat.get("identity") or {}
        if identity.get("host") in mapping and identity.get("portal"):
            # The portal's and the directory's names (the directory answers at ldap.<parent>).
            parent = str(identity["portal"]).split(".", 1)[-1]
            for name in (str(identity["portal"]), f"ldap.{parent}"):
                domains[name] = mapping[identity["host"]]
        return domains


def default_source(cwd: Path | None = None) -> Path | None:
    """``inventories/demo`` in the working directory, else the one shipped with bastide."""
    candidates = [(cwd or Path.cwd()) / "inventories" / "demo"]
    with contextlib.suppress(RuntimeError):
        candidates.append(paths.content_dir() / "inventories" / "demo")
    return next((path for path in candidates if (path / "syndicat.yml").is_file()), None)


def read_source(root: Path) -> SourceInventory:
    """Read (and validate, when the inventory model is available) the source inventory."""
    syndicat_file = root / "syndicat.yml"
    if not syndicat_file.is_file():
        raise InputError(
            Problem(
                file=str(syndicat_file),
                field="(file)",
                message=_("inventory.no_source"),
                fix=_("inventory.no_source_fix"),
            )
        )
    from bastide.core.inventory import load

    load(root)  # every problem of the source, reported before anything starts
    syndicat = yaml.safe_load(syndicat_file.read_text(encoding="utf-8")) or {}
    communes = {
        path.name: yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for path in sorted((root / "communes").glob("*.yml"))
    }
    return SourceInventory(root=root, syndicat=syndicat, communes=communes)


def check_fits(source: SourceInventory, hosts: int) -> None:
    needed = len(source.host_names)
    if hosts < needed:
        raise InputError(
            Problem(
                file=str(source.root / "syndicat.yml"),
                field="hosts",
                message=_("inventory.too_few_hosts", needed=needed, hosts=hosts),
                fix=_("inventory.too_few_hosts_fix", needed=needed),
            )
        )


def lab_syndicat(source: SourceInventory, info: LabInfo, ca_names: list[str]) -> dict[str, Any]:
    data = yaml.safe_load(yaml.safe_dump(source.syndicat))  # deep copy
    residency = data.setdefault("residency", {})
    for key, value in (("providers", PROVIDER), ("regions", REGION)):
        values = list(residency.get(key) or [])
        if value not in values:
            values.append(value)
        residency[key] = values
    for source_host, (_name, address) in zip(data.get("hosts") or [], info.hosts, strict=False):
        source_host.update(address=address, provider=PROVIDER, region=REGION)
    settings = data.setdefault("settings", {})
    ssh = settings.setdefault("ssh", {})
    ssh["private_key_file"] = info.ssh_key
    for admin in settings.get("admins") or []:
        if admin.get("name") == ssh.get("user"):
            admin["ssh_keys"] = [info.ssh_public_key]
    if info.smtp:
        settings["smtp_relay"] = {"host": info.gateway_name, "port": info.smtp.port}
    if info.acme:
        tls = settings.setdefault("tls", {})
        tls["mode"] = "acme"
        tls["acme_directory"] = info.acme.directory
    settings["extra_trusted_cas"] = [f"{CA_DIR}/{name}" for name in ca_names]
    settings["http_proxy"] = info.proxy_url
    # This machine administers the lab: it is in the administration networks, as the DSI's
    # own machine is (never banned by the hosts' fail2ban while its tests try wrong passwords).
    networks = list(settings.get("admin_networks") or [])
    if f"{info.gateway}/32" not in networks:
        networks.append(f"{info.gateway}/32")
    settings["admin_networks"] = networks
    if info.s3:
        for target in data.get("backup_targets") or []:
            target.update(endpoint=info.s3.endpoint, provider=PROVIDER, region=REGION)
    data["lab"] = True
    return data


def lab_cas(info: LabInfo) -> dict[str, Path]:
    """The CA files lab hosts must trust, by the name they get in the inventory."""
    cas = {Path(path).stem + ".pem": Path(path) for path in info.extra_cas}
    if info.acme:
        cas["lab-acme-server-ca.pem"] = Path(info.acme.server_ca_pem)
        cas["lab-acme-issuer-root.pem"] = Path(info.acme.issuer_root_pem)
    return cas


def write(source: SourceInventory, info: LabInfo, out: Path) -> Path:
    check_fits(source, len(info.hosts))
    out.mkdir(parents=True, exist_ok=True)
    cas = lab_cas(info)
    ca_dir = out / CA_DIR
    if ca_dir.exists():
        shutil.rmtree(ca_dir)
    ca_dir.mkdir()
    for name, path in cas.items():
        shutil.copyfile(path, ca_dir / name)
    communes_dir = out / "communes"
    if communes_dir.exists():
        shutil.rmtree(communes_dir)
    communes_dir.mkdir()
    for name, commune in source.communes.items():
        (communes_dir / name).write_text(_dump(commune), encoding="utf-8")
    # The lab knows its hosts' keys (they are new at every `lab up`): pin them for the runs,
    # rather than let an earlier lab's keys make SSH refuse the new hosts.
    if Path(info.known_hosts).is_file():
        shutil.copyfile(info.known_hosts, out / "known_hosts")
    data = lab_syndicat(source, info, sorted(cas))
    header = HEADER.format(source=source.root, lab=info.lab_id)
    (out / "syndicat.yml").write_text(header + _dump(data), encoding="utf-8")
    return out


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def write_and_record(source: SourceInventory, info: LabInfo, out: Path) -> LabInfo:
    """Write the lab inventory and record it (and the host mapping) in the lab's info."""
    written = write(source, info, out.resolve())
    mapping = dict(zip(source.host_names, (name for name, _address in info.hosts), strict=False))
    updated = dataclasses.replace(info, inventory=str(written), inventory_hosts=mapping)
    updated.save()
    return updated
