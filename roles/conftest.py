"""Shared fixtures for the roles' testinfra checks (``roles/<role>/tests/test_<role>.py``).

``bastide verify`` runs these modules with testinfra's ansible backend against the inventory it
rendered, so each check can read the same variables the roles converged from.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture()
def hostvars(host: Any) -> dict[str, Any]:
    """The rendered inventory variables of the host under test (``bastide_*`` and connection vars)."""
    return host.ansible.get_variables()


@pytest.fixture()
def communes(hostvars: dict[str, Any]) -> list[dict[str, Any]]:
    """The communes this host serves, as rendered for Ansible."""
    return list(hostvars.get("bastide_communes", []))


@pytest.fixture()
def in_container(host: Any) -> bool:
    """True inside systemd-nspawn (the lab): kernel-level controls are not applicable there."""
    result = host.run("systemd-detect-virt --container")
    return result.rc == 0 and result.stdout.strip() not in ("", "none")
