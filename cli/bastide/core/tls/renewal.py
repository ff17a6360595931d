"""``bastide tls renew``: re-issue the internal CA's certificates that are due, between deploys.

Only the controller holds the CA key, so only it can renew; this is the narrow run it makes for
that: the pki role alone on the hosts that serve communes (``playbooks/tls-renew.yml``), which
re-signs the certificates within the renewal window (every one with ``force``) and reloads
nginx. Nothing else on the hosts is touched, and of the keyring only the CA key is read. A
commune added to the inventory but not deployed yet gets its certificate issued here already
(the role works from the inventory); its sites are served once a deploy configures nginx. In
ACME mode the hosts renew by themselves (certbot.timer) and there is nothing to run.
"""

from __future__ import annotations

from typing import Any

from bastide.core import pki
from bastide.core.ansible import RunSummary, resolve_limit, secret_agent
from bastide.core.ansible.runner import EventHandler, run_playbook
from bastide.core.inventory import Inventory

PLAYBOOK = "tls-renew.yml"
# The task of the pki role whose changes are the certificates actually re-issued.
INSTALL_TASK = "Install the certificates"


def needs_controller(inventory: Inventory) -> bool:
    """Whether this syndicat's certificates are renewed by the controller (internal CA)."""
    return inventory.settings.tls.mode == "internal"


def renew(
    inventory: Inventory,
    *,
    keyring: Any | None = None,
    limit: str | None = None,
    force: bool = False,
    on_event: EventHandler | None = None,
) -> RunSummary:
    """Run the renewal on the hosts (or the host of ``limit``); returns the run's summary."""
    from bastide.core import keys

    limit_hosts = resolve_limit(inventory, limit)
    if keyring is None:
        keyring = keys.open_keyring(inventory.root)
    # A commune with a new domain may have joined since the last deploy: the CA certificate
    # must cover it before anything is signed (same key, so current certificates still chain).
    pki.ensure_ca(inventory, keyring)
    return run_playbook(
        inventory,
        kind="tls-renew",
        playbook=PLAYBOOK,
        limit_hosts=limit_hosts,
        secrets=secret_agent(keyring),
        on_event=on_event,
        extra_vars={"pki_internal_force_renew": True} if force else None,
    )


def renewed(summary: RunSummary) -> list[tuple[str, str]]:
    """(host, certificate name) of each certificate the run re-issued."""
    # Ansible names a role's tasks "<role> : <task>"; a loop reports each item, then the task as
    # a whole (no item), which is not one more certificate.
    return [
        (c.host, c.item)
        for c in summary.changes
        if c.item and c.role == "pki" and c.task.rsplit(" : ", 1)[-1] == INSTALL_TASK
    ]
