"""Enrolling an agent's device in its commune's Syncthing hub.

The device is one entry of the commune's ``drive.devices`` list (``{agent, id, name}``), added
to the commune's file in place (comments and layout kept, ruamel.yaml's round trip, as
``bastide agent disable`` does), kept only if the whole inventory stays valid. What the device
needs is computed on the controller alone: the hub's device ID and the syndicat's servers' IDs
are the digests of certificates the keyring holds (kind ``x509-identity``), the folders it will
be offered are the drive role's own layout (``roles/drive/filter_plugins/drive.py``) applied to
the commune as Ansible receives it: the folders its agent may write.
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bastide.core.inventory import writer
from bastide.core.inventory.model import Commune, Inventory, Person
from bastide.core.sync import ids
from bastide.errors import EnvironmentProblem, InputError, Problem
from bastide.i18n import Messages

_ = Messages("sync")

SERVICE = "drive"
SYNDICAT_SCOPE = "_syndicat"
HUB_IDENTITY = "drive-sync-identity"
DISCOVERY_IDENTITY = "drive-discovery-identity"
RELAY_IDENTITY = "drive-relay-identity"
# The servers' ports (role drive_relay's defaults, and the drive contract's syndicat_part).
DISCOVERY_PORT = 8443
RELAY_PORT = 22067
NAME_MAX = 64


class SecretSource(Protocol):
    """Where identities are read from: an opened keyring (``Keyring.get``)."""

    def get(self, scope: str, name: str) -> bytes: ...


@dataclass(frozen=True)
class FolderOffer:
    id: str
    label: str


@dataclass(frozen=True)
class Enrollment:
    """What an agent's device needs to sync with its commune's hub."""

    commune: str
    commune_name: str
    agent: str
    agent_name: str
    device_id: str
    device_name: str
    hub_id: str
    hub_name: str
    discovery: str
    relay: str
    folders: list[FolderOffer] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------ look-ups


def _commune(inventory: Inventory, slug: str) -> Commune:
    try:
        commune = inventory.commune(slug)
    except KeyError:
        raise InputError(
            Problem(str(inventory.root), "COMMUNE", _("commune.unknown", slug=slug),
                    _("commune.unknown.fix", inventory=inventory.root))
        ) from None  # fmt: skip
    if SERVICE not in commune.services:
        raise InputError(
            Problem(
                str(commune.source), "services", _("commune.no_drive", slug=slug), _("commune.no_drive.fix")
            )
        )
    return commune


def find_agent(inventory: Inventory, slug: str, login: str) -> tuple[Commune, Person]:
    """The commune and the person (an agent or an elected official) ``login`` names; bad input
    otherwise. Disabled people cannot enrol a device."""
    commune = _commune(inventory, slug)
    person = next((p for p in [*commune.agents, *commune.elus] if p.login == login), None)
    if person is None:
        raise InputError(
            Problem(str(commune.source), "agents", _("agent.unknown", login=login, slug=slug),
                    _("agent.unknown.fix", slug=slug))
        )  # fmt: skip
    if person.disabled:
        raise InputError(
            Problem(str(commune.source), "agents", _("agent.disabled", login=login), _("agent.disabled.fix"))
        )
    return commune, person


def _device(text: str, where: str) -> str:
    try:
        return ids.normalise(text)
    except ids.InvalidDeviceId as error:
        raise InputError(
            Problem(where, "DEVICE_ID", _(f"device.{error.reason}", device=text), _("device.fix"))
        ) from None


def _sync_address(inventory: Inventory) -> str:
    settings = inventory.service_settings.get(SERVICE) or {}
    host_name = settings.get("sync_host")
    if not host_name:
        raise InputError(
            Problem(str(inventory.root / "syndicat.yml"), "drive.sync_host", _("sync_host.missing"),
                    _("sync_host.missing.fix"))
        )  # fmt: skip
    address = inventory.host(host_name).address
    return f"[{address}]" if ":" in address else address


@cache
def _drive_layout(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("bastide_drive_layout", path)
    if spec is None or spec.loader is None:
        raise EnvironmentProblem(_("layout.missing", path=path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def layout() -> ModuleType:
    """The drive role's layout (its filter plugin): the same folders as the role deploys."""
    from bastide.core import contract

    services = contract.services()
    if SERVICE not in services:
        raise EnvironmentProblem(_("layout.no_service"))
    path = services[SERVICE].path / "filter_plugins" / "drive.py"
    if not path.is_file():
        raise EnvironmentProblem(_("layout.missing", path=path))
    return _drive_layout(path)


def offered_folders(commune: Commune, login: str) -> list[FolderOffer]:
    """The folders a device of ``login`` is offered: those ``login`` may write."""
    from bastide.core.ansible.render import _commune_vars

    rendered = _commune_vars(commune)
    return [
        FolderOffer(folder["id"], folder["label"])
        for folder in layout().drive_folders(rendered)
        if login in folder["writers"]
    ]


def enrollment(
    inventory: Inventory, secrets: SecretSource, slug: str, login: str, device: str, name: str | None = None
) -> Enrollment:
    """What the device ``device`` of ``login`` needs (the inventory is not changed)."""
    commune, person = find_agent(inventory, slug, login)
    device_id = _device(device, str(commune.source))
    host = _sync_address(inventory)
    enrolled = next(
        (d for d in commune.service_settings(SERVICE).get("devices") or [] if d.get("id") == device_id), {}
    )
    hub_id = ids.device_id(secrets.get(commune.slug, HUB_IDENTITY))
    discovery_id = ids.device_id(secrets.get(SYNDICAT_SCOPE, DISCOVERY_IDENTITY))
    relay_id = ids.device_id(secrets.get(SYNDICAT_SCOPE, RELAY_IDENTITY))
    return Enrollment(
        commune=commune.slug,
        commune_name=commune.name,
        agent=person.login,
        agent_name=person.name,
        device_id=device_id,
        device_name=name or enrolled.get("name") or person.name,
        hub_id=hub_id,
        hub_name=_("hub.name", commune=commune.name),
        discovery=f"https://{host}:{DISCOVERY_PORT}/?id={discovery_id}",
        relay=f"relay://{host}:{RELAY_PORT}/?id={relay_id}",
        folders=offered_folders(commune, person.login),
    )


# ---------------------------------------------------------------------------- the file


def check_device(inventory: Inventory, slug: str, login: str, device: str, name: str | None) -> str:
    """Bad input stops here, before anything is written or the keyring is opened: the device ID
    (normalised), the commune, the person, the name, and a device already enrolled for someone
    else."""
    commune, _person = find_agent(inventory, slug, login)
    device_id = _device(device, str(commune.source))
    if name is not None and not 1 <= len(name.strip()) <= NAME_MAX:
        raise InputError(
            Problem(str(commune.source), "--name", _("name.invalid", max=NAME_MAX), _("name.fix"))
        )
    for entry in commune.service_settings(SERVICE).get("devices") or []:
        if entry.get("id") == device_id and entry.get("agent") != login:
            raise InputError(
                Problem(str(commune.source), f"{SERVICE}.devices",
                        _("device.taken", device=device_id, agent=entry.get("agent")), _("device.taken.fix"))
            )  # fmt: skip
    return device_id


def add_device(root: Path, slug: str, login: str, device_id: str, name: str | None) -> tuple[Path, bool]:
    """Add ``{agent, id, name}`` to ``drive.devices`` of the commune's file, comments and layout
    kept; (the file, whether it changed). An entry for the same agent and device is updated in
    place (its name). The change is kept only if the whole inventory stays valid."""
    path = writer.commune_path(root, slug)
    edit = writer.CommuneEdit(root, slug)
    data = edit.data
    section = data.get(SERVICE)
    if section is None:
        section = CommentedMap()
        data[SERVICE] = section
    devices = section.get("devices")
    if devices is None:
        devices = CommentedSeq()
        section["devices"] = devices
    entry = next((d for d in devices if isinstance(d, dict) and d.get("id") == device_id), None)
    if entry is not None:
        if name is None or entry.get("name") == name:
            return path, False
        entry["name"] = name
    else:
        item = CommentedMap([("agent", login), ("id", device_id)])
        if name is not None:
            item["name"] = name
        # One entry per line, as the documentation writes them.
        item.fa.set_flow_style()
        devices.append(item)
    edit.save()
    return path, True


# ------------------------------------------------------------------------------ document


def document(found: Enrollment) -> str:
    """The enrollment as a text for the agent's device, in the user's language."""
    lines = [
        _("doc.title", agent=found.agent_name, commune=found.commune_name),
        "",
        _("doc.device", name=found.device_name, device=found.device_id),
        "",
        _("doc.settings"),
        f"  {_('doc.listen')}: {found.relay}",
        f"  {_('doc.discovery')}: {found.discovery}",
        f"  {_('doc.local')}",
        f"  {_('doc.nat')}",
        f"  {_('doc.relays')}",
        f"  {_('doc.reporting')}",
        "",
        _("doc.hub"),
        f"  {_('doc.hub_id')}: {found.hub_id}",
        f"  {_('doc.hub_name')}: {found.hub_name}",
        f"  {_('doc.hub_addresses')}: dynamic",
        f"  {_('doc.hub_accept')}",
        "",
        _("doc.folders", count=len(found.folders)),
        *(f"  {folder.label} ({folder.id})" for folder in found.folders),
        "",
        _("doc.deploy"),
    ]
    return "\n".join(lines) + "\n"
