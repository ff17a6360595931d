"""The commune drive's checks (bastide verify): each commune's copyparty runs sandboxed as its
own user from the pinned virtual environment, its store is that user's alone, and nothing of it
listens but its socket."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location(
    "bastide_drive_filters", Path(__file__).resolve().parents[1] / "filter_plugins" / "drive.py"
)
assert _spec is not None and _spec.loader is not None
layout = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layout)

ROOT = "/var/lib/bastide-drive"
VERSION = "1.20.26"


def _drives(communes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [c for c in communes if "drive" in c["services"]]
    if not found:
        pytest.skip("no commune of this host runs the drive")
    return found


def _shown(host: Any, unit: str, *properties: str) -> dict[str, str]:
    flags = " ".join(f"-p {p}" for p in properties)
    shown = host.check_output(f"systemctl show {flags} {unit}")
    return dict(line.split("=", 1) for line in shown.splitlines())


def test_each_drive_runs_sandboxed_as_its_communes_user(host: Any, communes: list[dict[str, Any]]) -> None:
    for commune in _drives(communes):
        shown = _shown(
            host, f"bastide-drive@{commune['slug']}.service",
            "User", "ActiveState", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateNetwork",
            "NoNewPrivileges", "RestrictAddressFamilies", "CapabilityBoundingSet",
        )  # fmt: skip
        assert shown == {
            "User": layout.drive_user(commune["slug"]),
            "ActiveState": "active",
            "ProtectSystem": "strict",
            "ProtectHome": "yes",
            "PrivateTmp": "yes",
            "PrivateNetwork": "yes",
            "NoNewPrivileges": "yes",
            "RestrictAddressFamilies": "AF_UNIX",
            "CapabilityBoundingSet": "",
        }, commune["slug"]


def test_each_store_is_private_to_its_communes_user(host: Any, communes: list[dict[str, Any]]) -> None:
    with host.sudo():
        for commune in _drives(communes):
            user = layout.drive_user(commune["slug"])
            for path in ("", "/files", "/state"):
                store = host.file(f"{ROOT}/{commune['slug']}{path}")
                assert store.is_directory, store.path
                assert (store.user, store.group, store.mode) == (user, user, 0o700), store.path
            for folder in layout.drive_folders(commune):
                assert host.file(f"{ROOT}/{commune['slug']}/files/{folder['path']}").user == user


def test_each_drive_writes_only_its_own_directories(host: Any, communes: list[dict[str, Any]]) -> None:
    # ProtectSystem=strict makes everything read-only but the unit's own state, logs and
    # runtime directories: other communes' stores included.
    for commune in _drives(communes):
        slug = commune["slug"]
        unit = f"bastide-drive@{slug}.service"
        shown = _shown(host, unit, "StateDirectory", "LogsDirectory", "ReadWritePaths")
        assert shown == {
            "StateDirectory": f"bastide-drive/{slug}",
            "LogsDirectory": f"bastide-drive/{slug}",
            "ReadWritePaths": "",
        }


def test_copyparty_is_the_pinned_release(host: Any, communes: list[dict[str, Any]]) -> None:
    _drives(communes)
    shown = host.check_output("/opt/bastide-drive/venv/bin/python -m pip show copyparty")
    assert f"Version: {VERSION}" in shown.splitlines()


def test_only_the_web_and_webdav_are_served(host: Any, communes: list[dict[str, Any]]) -> None:
    # No FTP, SFTP, TFTP, SMB or zeroconf: the drives have no network namespace of their own
    # to listen in, and their configuration asks for none of them.
    with host.sudo():
        for commune in _drives(communes):
            config = host.file(f"/etc/bastide-drive/{commune['slug']}.conf").content_string
            options = {
                line.strip().split(":", 1)[0]
                for line in config.splitlines()
                if line.strip() and not line.strip().startswith("#")
            }
            assert "http-only" in options
            assert not options & {"ftp", "ftps", "sftp", "tftp", "smb", "smbw", "z", "zm", "zs", "zsv"}
