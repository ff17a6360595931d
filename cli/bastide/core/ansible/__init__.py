"""Converging hosts with Ansible: ``converge`` (deploy) and ``plan`` (check + diff, no change)."""

from __future__ import annotations

import contextlib
from typing import Any

from bastide.core.ansible.events import Change, Failure, HostStats, RunSummary
from bastide.core.ansible.render import hosts_for_limit
from bastide.core.ansible.runner import EventHandler, run_playbook
from bastide.core.inventory import Inventory
from bastide.errors import InputError, Problem
from bastide.i18n import Messages

_ = Messages("deploy")

__all__ = ["Change", "Failure", "HostStats", "RunSummary", "converge", "plan", "resolve_limit"]


def resolve_limit(inventory: Inventory, limit: str | None) -> list[str] | None:
    if not limit:
        return None
    hosts = hosts_for_limit(inventory, limit)
    if not hosts:
        known = ", ".join(sorted([h.name for h in inventory.hosts] + [c.slug for c in inventory.communes]))
        raise InputError(
            Problem(
                file="--limit",
                field="limit",
                message=f"'{limit}' is not a host nor a commune of this inventory, nor a list of them",
                fix=f"use one of: {known}",
            )
        )
    return hosts


def unlock_and_prepare(inventory: Inventory, keyring: Any | None, *, persist: bool = True) -> Any:
    """Unlock the keyring (unless given) and create what the run needs before anything is
    rendered: the inventory's generated secrets (kept only in memory when ``persist`` is false,
    as for ``plan``) and, in internal TLS mode, the syndicat's CA (key in the keyring,
    certificate beside the inventory, where the renderer reads it)."""
    from bastide.core import keys, pki

    if keyring is None:
        keyring = keys.open_keyring(inventory.root)
    keyring.ensure(keys.required_secrets(inventory), persist=persist)
    if persist and inventory.settings.tls.mode == "internal":
        pki.ensure_ca(inventory, keyring)
    return keyring


def secret_agent(keyring: Any) -> contextlib.AbstractContextManager[dict[str, str]]:
    """Serve the keyring's secrets to the roles for the duration of a run."""
    from bastide.core import keys

    return keys.serve(keyring)


def converge(
    inventory: Inventory,
    *,
    keyring: Any | None = None,
    limit: str | None = None,
    service: str | None = None,
    on_event: EventHandler | None = None,
) -> RunSummary:
    """Bring the hosts (or the host of ``limit``) to the inventory; returns the run's summary.
    With ``service``, only that service (its syndicat-wide part and its role), on the hosts of
    the communes that run it."""
    limit_hosts = resolve_limit(inventory, limit)
    if service is not None:
        limit_hosts = service_hosts(inventory, service, limit_hosts)
    keyring = unlock_and_prepare(inventory, keyring)
    return run_playbook(
        inventory,
        kind="deploy",
        playbook="service.yml" if service else "site.yml",
        limit_hosts=limit_hosts,
        secrets=secret_agent(keyring),
        on_event=on_event,
        extra_vars={"bastide_only_service": service} if service else None,
    )


def service_hosts(inventory: Inventory, service: str, limit_hosts: list[str] | None) -> list[str]:
    """The hosts a converge of ``service`` alone touches: those of the communes that run it and
    the host of its syndicat-wide part (within ``limit_hosts``)."""
    from bastide.core.inventory import catalogue

    known = catalogue.services()
    running = [c for c in inventory.communes if service in c.services]
    if service not in known or not running:
        runs = sorted({name for c in inventory.communes for name in c.services})
        raise InputError(
            Problem(
                file="--service",
                field="service",
                message=_("service.not_run", service=service),
                fix=_("service.not_run.fix", known=", ".join(runs) or "-"),
            )
        )
    hosts = {c.host for c in running}
    part = known[service].contract.get("syndicat_part")
    if part:
        hosts.add(inventory.service_settings.get(service, {}).get(part["host_setting"]))
    chosen = [h.name for h in inventory.hosts if h.name in hosts]
    return [h for h in chosen if limit_hosts is None or h in limit_hosts] or chosen


def plan(
    inventory: Inventory,
    *,
    keyring: Any | None = None,
    limit: str | None = None,
    on_event: EventHandler | None = None,
) -> RunSummary:
    """What ``converge`` would change, from Ansible's check and diff mode; changes nothing."""
    limit_hosts = resolve_limit(inventory, limit)
    keyring = unlock_and_prepare(inventory, keyring, persist=False)
    return run_playbook(
        inventory,
        kind="plan",
        limit_hosts=limit_hosts,
        check=True,
        diff=True,
        secrets=secret_agent(keyring),
        on_event=on_event,
    )
