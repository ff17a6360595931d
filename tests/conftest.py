"""Test configuration shared by unit and integration tests.

Integration tests (marker ``lab``) get real Debian 12 hosts from the lab fixtures, which bring
the lab up once per session and tear it down at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

pytest_plugins = ["lab_fixtures"]
