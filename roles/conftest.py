"""Shared fixtures for the roles' testinfra checks (``roles/<role>/tests/test_<role>.py``).

``bastide verify`` runs these modules with testinfra's ansible backend against the inventory it
rendered, so each check can read the same variables the roles converged from.
"""

from __future__ import annotations

from collections.abc import Callable
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


@pytest.fixture()
def assert_loopback_only(host: Any) -> Callable[[int, str], None]:
    """``assert_loopback_only(port, name)``: the service listens on ``port`` over TCP, and only
    on the loopback addresses (a backend serves the host's own services, nobody outside)."""

    def check(port: int, name: str) -> None:
        listening = [s for s in host.socket.get_listening_sockets() if s.endswith(f":{port}")]
        assert listening, f"{name} listens on no TCP socket"
        for socket in listening:
            address = socket.split("://", 1)[1].rsplit(":", 1)[0]
            assert address in ("127.0.0.1", "::1"), f"{name} listens on {socket}"

    return check
