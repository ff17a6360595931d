"""The booking's checks (bastide verify): each commune's application runs sandboxed from the
wheel bastide built, behind a socket only nginx may open; its calendar writes and reminders run
every five minutes, and the retention job that erases citizens' personal data is scheduled; its
secrets are root's only, and the application answers its own check."""

from __future__ import annotations

import json
from typing import Any

import pytest

CONFIG_DIR = "/etc/bastide-rdv"


def _bookings(communes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [c for c in communes if "rdv" in c["services"]]
    if not found:
        pytest.skip("no commune of this host runs the booking")
    return found


def _shown(host: Any, unit: str, *properties: str) -> dict[str, str]:
    flags = " ".join(f"-p {p}" for p in properties)
    return dict(
        line.split("=", 1) for line in host.check_output(f"systemctl show {flags} {unit}").splitlines()
    )


def test_each_booking_runs_sandboxed(host: Any, communes: list[dict[str, Any]]) -> None:
    for commune in _bookings(communes):
        shown = _shown(
            host, f"bastide-rdv@{commune['slug']}.service",
            "ActiveState", "DynamicUser", "ProtectSystem", "ProtectHome", "PrivateTmp", "NoNewPrivileges",
            "CapabilityBoundingSet", "IPAddressDeny",
        )  # fmt: skip
        assert shown["ActiveState"] == "active", (commune["slug"], shown)
        assert shown["DynamicUser"] == "yes" and shown["ProtectSystem"] == "strict", shown
        assert shown["ProtectHome"] == "yes" and shown["PrivateTmp"] == "yes", shown
        assert shown["NoNewPrivileges"] == "yes" and shown["CapabilityBoundingSet"] == "", shown
        assert shown["IPAddressDeny"] not in ("", "[]"), (
            f"{commune['slug']}: the booking may reach the network"
        )


def test_only_nginx_may_open_the_socket(host: Any, communes: list[dict[str, Any]]) -> None:
    for commune in _bookings(communes):
        socket = host.file(f"/run/bastide-rdv/{commune['slug']}/http.sock")
        assert socket.is_socket, commune["slug"]
        assert (socket.user, socket.group, socket.mode) == ("root", "www-data", 0o660), commune["slug"]


def test_the_jobs_and_the_retention_are_scheduled(host: Any, communes: list[dict[str, Any]]) -> None:
    for commune in _bookings(communes):
        for timer in ("bastide-rdv-jobs", "bastide-rdv-retention"):
            shown = _shown(host, f"{timer}@{commune['slug']}.timer", "ActiveState", "UnitFileState")
            assert shown == {"ActiveState": "active", "UnitFileState": "enabled"}, (
                timer,
                commune["slug"],
                shown,
            )
        jobs = _shown(host, f"bastide-rdv-jobs@{commune['slug']}.service", "Result")
        assert jobs["Result"] == "success", (
            f"{commune['slug']}: the last calendar/reminder run failed: {jobs}"
        )


def test_the_secrets_are_roots_and_the_configuration_has_none(
    host: Any, communes: list[dict[str, Any]]
) -> None:
    with host.sudo():
        for commune in _bookings(communes):
            secrets = host.file(f"{CONFIG_DIR}/{commune['slug']}")
            assert (secrets.user, secrets.mode) == ("root", 0o700), commune["slug"]
            for name in ("secret-key", "db-password", "header-secret"):
                secret = host.file(f"{CONFIG_DIR}/{commune['slug']}/{name}")
                assert (secret.user, secret.mode) == ("root", 0o600), (commune["slug"], name)
                assert (
                    secret.content_string.strip()
                    not in host.file(f"{CONFIG_DIR}/{commune['slug']}.json").content_string
                )
            config = json.loads(host.file(f"{CONFIG_DIR}/{commune['slug']}.json").content_string)
            assert config["commune"]["slug"] == commune["slug"]


def test_the_application_answers_its_own_check(host: Any, communes: list[dict[str, Any]]) -> None:
    with host.sudo():
        for commune in _bookings(communes):
            result = host.run(f"bastide-rdv-manage {commune['slug']} rdv_check")
            assert result.rc == 0, f"{commune['slug']}: {result.stdout}{result.stderr}"
