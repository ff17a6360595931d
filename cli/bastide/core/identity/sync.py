"""Bring the directory alone to the inventory, at once (``playbooks/directory.yml``): for a
change of people that must not wait for the next deploy, such as disabling someone who left."""

from __future__ import annotations

from typing import Any

from bastide.core.ansible import unlock_and_prepare
from bastide.core.ansible.events import RunSummary
from bastide.core.ansible.runner import EventHandler, run_playbook
from bastide.core.inventory import Inventory

PLAYBOOK = "directory.yml"


def sync(
    inventory: Inventory, *, keyring: Any | None = None, on_event: EventHandler | None = None
) -> RunSummary:
    from bastide.core import keys

    assert inventory.identity is not None
    keyring = unlock_and_prepare(inventory, keyring)
    return run_playbook(
        inventory,
        kind="directory",
        playbook=PLAYBOOK,
        limit_hosts=[inventory.identity.host],
        secrets=keys.serve(keyring),
        on_event=on_event,
    )
