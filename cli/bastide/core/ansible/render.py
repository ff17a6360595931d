"""Turn a validated bastide inventory into what Ansible needs: hosts, groups and variables.

The variable names are the contract documented in docs/architecture.md ("What Ansible
receives"); role defaults derive from them. Nothing secret is rendered here: secrets reach the
roles at run time through the ``bastide_secret`` lookup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bastide.core.identity import directory
from bastide.core.inventory import Inventory, catalogue
from bastide.core.inventory.formats import slugify
from bastide.core.tls import policy as tls_policy

ADMIN_GROUP = "bastide-admins"
# The hosts that run a service's syndicat-wide part (its contract's syndicat_part).
SYNDICAT_PARTS_GROUP = "syndicat_parts"


def group_name(prefix: str, name: str) -> str:
    """Ansible group names must be identifiers: ``commune_ours_les_bains``."""
    return f"{prefix}_{name.replace('-', '_').replace('.', '_')}"


def _resolve(inventory: Inventory, path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else (inventory.root / candidate).resolve()


# The name the syndicat's own CA is installed under in the hosts' trust store (internal mode).
INTERNAL_CA_NAME = "syndicat-internal-ca"


def _extra_cas(inventory: Inventory) -> list[dict[str, str]]:
    cas = []
    for entry in inventory.settings.extra_trusted_cas:
        path = _resolve(inventory, str(entry))
        cas.append({"name": path.stem, "pem": path.read_text(encoding="ascii")})
    ca = inventory.root / "pki" / "ca.pem"
    if inventory.settings.tls.mode == "internal" and ca.exists():
        # The hosts talk to each other over HTTPS with the syndicat's certificates (the SSO
        # handlers to the portal): they trust its CA like any other.
        cas.append({"name": INTERNAL_CA_NAME, "pem": ca.read_text(encoding="ascii")})
    return cas


def _service_needs(service: str) -> list[str]:
    return list(catalogue.services()[service].needs)


def _commune_vars(commune: Any) -> dict[str, Any]:
    return {
        "slug": commune.slug,
        "name": commune.name,
        "insee": commune.insee,
        "domain": commune.domain,
        "services": list(commune.services),
        "backup_target": commune.backup_target,
        # The agents' service_slug names their service's group in the directory (service-<slug>).
        "agents": [
            {
                "name": a.name,
                "email": a.email,
                "login": a.login,
                "service": a.service,
                "service_slug": slugify(a.service) if a.service else "",
                "disabled": a.disabled,
            }
            for a in commune.agents
        ],
        "elus": [
            {"name": e.name, "email": e.email, "login": e.login, "mandate": e.mandate, "disabled": e.disabled}
            for e in commune.elus
        ],
        "second_factor": commune.second_factor,
        "sites": [{"service": s.service, "fqdn": s.fqdn} for s in commune.sites()],
        # Each service's section of the commune's file, with its contract's defaults.
        "settings": {name: commune.service_settings(name) for name in commune.services},
    }


def _backup_vars(inventory: Inventory, commune: Any) -> dict[str, Any]:
    """Where the commune's backups go: its own bucket on its target (docs/backups.md)."""
    target = inventory.backup_target(commune.backup_target)
    bucket = target.commune_bucket(commune.slug, commune.backup_generation)
    return {
        "target": target.name,
        "endpoint": target.endpoint,
        "region": target.region,
        "bucket": bucket,
        "repository": f"s3:{target.endpoint.rstrip('/')}/{bucket}",
        "retention_days": target.retention_days,
        "lock_mode": target.lock_mode,
    }


def _directory_backups(inventory: Inventory, variables: dict[str, Any]) -> None:
    """The identity host backs up every commune's branch of the directory into the commune's
    own repository: beside the services of the communes it serves (``backup_extra``), and for
    the others as communes it backs up only (``bastide_backup_only``)."""
    assert inventory.identity is not None
    base = inventory.identity.base_dn
    for entry in variables["bastide_communes"]:
        entry["backup_extra"] = [directory.backup_service(base, entry["slug"])]
    served = {entry["slug"] for entry in variables["bastide_communes"]}
    variables["bastide_backup_only"] = [
        {
            "slug": commune.slug,
            "services": [],
            "backup": _backup_vars(inventory, commune),
            "backup_extra": [directory.backup_service(base, commune.slug)],
        }
        for commune in inventory.communes
        if commune.slug not in served
    ]


def _syndicat_parts(inventory: Inventory) -> list[dict[str, Any]]:
    """The parts services run once for the syndicat (their contract's ``syndicat_part``), for
    the services some commune runs: the role, and the host the service's settings name."""
    services = catalogue.services()
    running = {name for commune in inventory.communes for name in commune.services}
    parts = []
    for name in sorted(running):
        part = services[name].contract.get("syndicat_part") if name in services else None
        if part:
            host = inventory.service_settings.get(name, {}).get(part["host_setting"])
            parts.append({"service": name, "role": part["role"], "host": host, "ports": list(part["ports"])})
    return parts


def global_vars(inventory: Inventory) -> dict[str, Any]:
    settings = inventory.settings
    tls: dict[str, Any] = {
        "mode": settings.tls.mode,
        "renew_before_days": tls_policy.RENEW_BEFORE_DAYS,
        "alarm_before_days": tls_policy.ALARM_BEFORE_DAYS,
    }
    if settings.tls.mode == "acme":
        tls.update(acme_directory=settings.tls.acme_directory, acme_email=settings.tls.acme_email)
    variables: dict[str, Any] = {
        "bastide_syndicat": {
            "name": inventory.syndicat.name,
            "siren": inventory.syndicat.siren,
            "contact_email": inventory.syndicat.contact_email,
        },
        "bastide_admins": [{"name": a.name, "ssh_keys": list(a.ssh_keys)} for a in settings.admins],
        "bastide_admin_group": ADMIN_GROUP,
        "bastide_time_servers": list(settings.time_servers),
        "bastide_smtp_relay": {"host": settings.smtp_relay.host, "port": settings.smtp_relay.port},
        "bastide_tls": tls,
        "bastide_hardening_level": settings.hardening_level,
        "bastide_extra_cas": _extra_cas(inventory),
        "bastide_http_proxy": settings.http_proxy or "",
        "bastide_admin_networks": list(settings.admin_networks),
        "bastide_services": {name: svc.as_dict() for name, svc in catalogue.services().items()},
        "bastide_lab": inventory.lab,
        "bastide_hosts": [{"name": h.name, "address": h.address} for h in inventory.hosts],
        # Every commune site of the syndicat: the portal must know them all (where it may send
        # people back to, which commune's people may enter), not only its host's.
        "bastide_sites": [
            {
                "fqdn": site.fqdn,
                "service": site.service,
                "commune": commune.slug,
                "commune_name": commune.name,
                "host": commune.host,
                "second_factor": commune.second_factor,
            }
            for commune in inventory.communes
            for site in commune.sites()
        ],
        "bastide_second_factor_communes": [
            c.slug for c in inventory.communes if c.second_factor == "required"
        ],
        # The services' sections of syndicat.yml, with their defaults.
        "bastide_service_settings": dict(inventory.service_settings),
        "bastide_syndicat_parts": _syndicat_parts(inventory),
    }
    identity = inventory.identity
    if identity is not None:
        variables["bastide_identity"] = {
            "host": identity.host,
            "portal": identity.portal,
            "directory": identity.directory,
            "base_dn": identity.base_dn,
            "totp_self_enrolment": identity.totp_self_enrolment,
        }
    if settings.tls.mode == "internal":
        ca = inventory.root / "pki" / "ca.pem"
        variables["bastide_internal_ca_pem"] = ca.read_text(encoding="ascii") if ca.exists() else ""
    return variables


def connection_vars(inventory: Inventory, host: Any, user: str) -> dict[str, Any]:
    ssh = inventory.settings.ssh
    variables: dict[str, Any] = {"ansible_host": host.address, "ansible_user": user, "ansible_port": ssh.port}
    if ssh.private_key_file:
        variables["ansible_ssh_private_key_file"] = str(_resolve(inventory, str(ssh.private_key_file)))
    if user != "root":
        variables["ansible_become"] = True
    return variables


def render(inventory: Inventory, users: dict[str, str] | None = None) -> dict[str, Any]:
    """The Ansible inventory (YAML-ready dict). ``users`` overrides the SSH user per host
    (the bootstrap user for hosts where the admin account does not exist yet)."""
    users = users or {}
    hosts: dict[str, Any] = {}
    groups: dict[str, set[str]] = {}

    def add(group: str, host_name: str) -> None:
        groups.setdefault(group, set()).add(host_name)

    for host in inventory.hosts:
        communes = inventory.communes_on(host.name)
        user = users.get(host.name, inventory.settings.ssh.user)
        hosts[host.name] = {
            **connection_vars(inventory, host, user),
            "bastide_host": {
                "name": host.name,
                "provider": host.provider,
                "region": host.region,
                "services": list(host.services),
            },
            "bastide_communes": [
                {**_commune_vars(c), "backup": _backup_vars(inventory, c)} for c in communes
            ],
        }
        if inventory.identity is not None and inventory.identity.host == host.name:
            add("identity", host.name)
            hosts[host.name]["bastide_directory"] = directory.content(inventory)
            _directory_backups(inventory, hosts[host.name])
        if communes:
            add("frontend", host.name)
        for commune in communes:
            add(group_name("commune", commune.slug), host.name)
            for service in commune.services:
                add(group_name("service", service), host.name)
                for need in _service_needs(service):
                    add(group_name("backend", need), host.name)

    variables = global_vars(inventory)
    for part in variables["bastide_syndicat_parts"]:
        if part["host"] in hosts:
            add(SYNDICAT_PARTS_GROUP, part["host"])

    return {
        "all": {
            "vars": variables,
            "hosts": hosts,
            "children": {
                name: {"hosts": {h: {} for h in sorted(members)}} for name, members in sorted(groups.items())
            },
        }
    }


def hosts_for_limit(inventory: Inventory, limit: str) -> list[str]:
    """``--limit`` takes commune slugs or host names, separated by commas; a commune limits the
    run to its host. Nothing when any of them is neither."""
    names = {h.name for h in inventory.hosts}
    found: list[str] = []
    for part in (p.strip() for p in limit.split(",")):
        commune = next((c for c in inventory.communes if c.slug == part), None)
        host = part if part in names else commune.host if commune is not None else None
        if host is None:
            return []
        found.append(host)
    return list(dict.fromkeys(found))


def host_variables(rendered: dict[str, Any], host_name: str) -> dict[str, Any]:
    """What Ansible's ``hostvars[host_name]`` holds for a rendered inventory (its groups carry no
    variables of their own): the global variables, the host's, and the magic names the checks use."""
    everything = rendered["all"]
    groups = {name: sorted(group["hosts"]) for name, group in everything["children"].items()}
    return {
        **everything["vars"],
        **everything["hosts"][host_name],
        "inventory_hostname": host_name,
        "group_names": sorted(name for name, members in groups.items() if host_name in members),
        "groups": {"all": sorted(everything["hosts"]), **groups},
    }
