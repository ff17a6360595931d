"""The test service's own checks: each instance is sandboxed as its unit says and keeps its
data in its own state directory."""

from __future__ import annotations

from typing import Any


def _communes(communes: list[dict[str, Any]]) -> list[str]:
    return [c["slug"] for c in communes if "whoami" in c["services"]]


def test_instances_are_sandboxed(host: Any, communes: list[dict[str, Any]]) -> None:
    for slug in _communes(communes):
        shown = dict(
            line.split("=", 1)
            for line in host.check_output(
                "systemctl show -p DynamicUser -p ProtectSystem -p PrivateTmp -p PrivateNetwork "
                f"bastide-whoami@{slug}"
            ).splitlines()
        )
        assert shown == {
            "DynamicUser": "yes",
            "ProtectSystem": "strict",
            "PrivateTmp": "yes",
            "PrivateNetwork": "yes",
        }


def test_each_instance_has_its_state_directory(host: Any, communes: list[dict[str, Any]]) -> None:
    with host.sudo():
        for slug in _communes(communes):
            assert host.file(f"/var/lib/bastide-whoami/{slug}").is_directory
