"""Runs on the identity host alone: the directory brought to the inventory at once
(``playbooks/directory.yml``), for a change of people that must not wait for the next deploy
such as disabling someone who left; and the narrow runs of the identity commands."""

from __future__ import annotations

from typing import Any

from bastide.core.ansible import unlock_and_prepare
from bastide.core.ansible.events import RunSummary
from bastide.core.ansible.runner import EventHandler, run_playbook
from bastide.core.inventory import Inventory

PLAYBOOK = "directory.yml"


def run_on_identity_host(
    inventory: Inventory,
    kind: str,
    playbook: str,
    keyring: Any,
    *,
    on_event: EventHandler | None = None,
    extra_vars: dict[str, Any] | None = None,
) -> RunSummary:
    """``playbook`` on the identity host only, the keyring's secrets served to it."""
    from bastide.core import keys

    assert inventory.identity is not None
    return run_playbook(
        inventory,
        kind=kind,
        playbook=playbook,
        limit_hosts=[inventory.identity.host],
        secrets=keys.serve(keyring),
        on_event=on_event,
        extra_vars=extra_vars,
    )


def sync(
    inventory: Inventory, *, keyring: Any | None = None, on_event: EventHandler | None = None
) -> RunSummary:
    return run_on_identity_host(
        inventory, "directory", PLAYBOOK, unlock_and_prepare(inventory, keyring), on_event=on_event
    )
