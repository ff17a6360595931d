"""Test configuration shared by unit and integration tests.

Integration tests (marker ``lab``) get real Debian 12 hosts from the lab fixtures, which bring
the lab up once per session and tear it down at the end.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

# The test-only service (tests/roles/whoami) plugs in through its contract alone, as any
# service outside bastide would: its roles directory is on BASTIDE_ROLES_PATH for the whole run
# (the bastide commands the tests start inherit it).
TEST_ROLES = TESTS / "roles"
os.environ["BASTIDE_ROLES_PATH"] = os.pathsep.join(
    [
        str(TEST_ROLES),
        *(
            p
            for p in os.environ.get("BASTIDE_ROLES_PATH", "").split(os.pathsep)
            if p and p != str(TEST_ROLES)
        ),
    ]
)

pytest_plugins = ["lab_fixtures"]

# The lab tests share one lab per session, and some leave it changed: the lab's own tests
# restart it (fresh, unhardened hosts), the compliance scan needs a host nobody has hardened
# yet, the deploy tests harden the hosts (after which root may no longer log in over SSH), the
# internal CA's tests switch the syndicat's TLS mode, and the rotation test changes a commune's
# secrets. Their order is therefore part of the suite, stated here rather
# than left to file names.
LAB_MODULE_ORDER = [
    "test_lab.py",
    "test_lab_recovery.py",
    "test_compliance_scan.py",
    "test_deploy.py",
    "test_identity.py",
    "test_sso.py",
    "test_drive.py",
    "test_drive_sync.py",
    "test_calendars.py",
    "test_rdv.py",
    "test_backup.py",
    # A host replaced by a fresh one, deployed and restored: before the internal CA's module,
    # which leaves the inventory in internal mode with one host re-deployed (the fresh host's
    # sign-on handler would then not trust the portal's certificate).
    "test_disaster_recovery.py",
    "test_internal_ca.py",
    "test_keys_rotation.py",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> tuple[int, int]:
        name = item.path.name
        if item.path.parent.name != "integration":
            return (0, 0)  # unit tests first: they fail fast
        if name not in LAB_MODULE_ORDER:
            raise pytest.UsageError(f"{item.path}: add this module to LAB_MODULE_ORDER in tests/conftest.py")
        return (1, LAB_MODULE_ORDER.index(name))

    items.sort(key=rank)  # stable: the order inside a module is kept
