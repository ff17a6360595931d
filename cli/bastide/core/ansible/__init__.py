"""Converging hosts with Ansible: ``converge`` (deploy) and ``plan`` (check + diff, no change)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from bastide.core.ansible.events import Change, Failure, HostStats, RunSummary
from bastide.core.ansible.render import hosts_for_limit
from bastide.core.ansible.runner import EventHandler, run_playbook
from bastide.core.inventory import Inventory
from bastide.errors import InputError, Problem

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
                message=f"'{limit}' is neither a host nor a commune of this inventory",
                fix=f"use one of: {known}",
            )
        )
    return hosts


@contextlib.contextmanager
def secret_agent(
    inventory: Inventory, keyring: Any | None, *, persist: bool = True
) -> Iterator[dict[str, str]]:
    """Unlock the keyring (unless given), create the secrets the inventory needs (kept only in
    memory when ``persist`` is false), and serve them to the roles for the duration of the run."""
    from bastide.core import keys

    if keyring is None:
        keyring = keys.open_keyring(inventory.root)
    keyring.ensure(keys.required_secrets(inventory), persist=persist)
    with keys.serve(keyring) as env:
        yield env


def converge(
    inventory: Inventory,
    *,
    keyring: Any | None = None,
    limit: str | None = None,
    on_event: EventHandler | None = None,
) -> RunSummary:
    """Bring the hosts (or the host of ``limit``) to the inventory; returns the run's summary."""
    return run_playbook(
        inventory,
        kind="deploy",
        limit_hosts=resolve_limit(inventory, limit),
        secrets=secret_agent(inventory, keyring),
        on_event=on_event,
    )


def plan(
    inventory: Inventory,
    *,
    keyring: Any | None = None,
    limit: str | None = None,
    on_event: EventHandler | None = None,
) -> RunSummary:
    """What ``converge`` would change, from Ansible's check and diff mode; changes nothing."""
    return run_playbook(
        inventory,
        kind="plan",
        limit_hosts=resolve_limit(inventory, limit),
        check=True,
        diff=True,
        secrets=secret_agent(inventory, keyring, persist=False),
        on_event=on_event,
    )
