"""``pip install .`` gives a ``bastide`` that finds its roles, playbooks and templates
wherever it was installed, not only in a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("bastide-*.whl")
    return built


def test_wheel_carries_the_ansible_content_and_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "bastide/_content/playbooks/site.yml" in names
    assert "bastide/_content/templates/ansible.cfg.j2" in names
    assert "bastide/_content/playbooks/tls-renew.yml" in names
    assert "bastide/_content/templates/systemd/bastide-tls-renew.timer.j2" in names
    assert any(n.startswith("bastide/_content/roles/base/tasks/") for n in names)
    assert "bastide/data/providers.yml" in names
    # The service catalogue is the roles' contracts (meta/bastide.yml), no data file any more,
    # and the tests' own service (tests/roles/whoami) is not bastide's to ship.
    assert "bastide/data/services.yml" not in names
    assert not any("whoami" in n for n in names)
    assert "bastide/ansible_plugins/callback/bastide_events.py" in names
    assert not any("__pycache__" in n for n in names)


def test_installed_bastide_uses_its_packaged_content(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    probe = subprocess.run(
        [sys.executable, "-c", "from bastide.paths import content_dir; print(content_dir())"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(probe.stdout.strip()).is_relative_to(target)
    run = {"env": env, "cwd": tmp_path, "capture_output": True, "text": True}
    help_text = subprocess.run([sys.executable, "-m", "bastide", "--help"], check=True, **run).stdout
    for command in ("init", "validate", "plan", "deploy", "verify", "commune", "keys", "lab"):
        assert command in help_text
    demo = REPO / "inventories" / "demo"
    validated = subprocess.run([sys.executable, "-m", "bastide", "validate", str(demo)], check=False, **run)
    assert validated.returncode == 0, validated.stderr
