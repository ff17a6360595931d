"""The wheel of bastide's booking application, built on the administration machine from
bastide's own sources (apps/rdv), once per content: the hosts install that wheel, never a
source checkout.

``lookup('rdv_wheel', source)`` returns the wheel's path. Its directory is named after a digest
of the sources, so a second deploy of the same sources builds nothing and installs nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from bastide.paths import state_dir

SKIPPED = {".venv", "tests", "__pycache__", "build", "dist", "node_modules", ".pytest_cache", "scripts"}


def _files(source: Path) -> list[Path]:
    return sorted(
        p for p in source.rglob("*")
        if p.is_file() and not any(part in SKIPPED or part.endswith(".egg-info")
                                   for part in p.relative_to(source).parts)
    )


def digest(source: Path) -> str:
    sha = hashlib.sha256()
    for path in _files(source):
        sha.update(path.relative_to(source).as_posix().encode() + b"\0")
        sha.update(path.read_bytes() + b"\0")
    return sha.hexdigest()[:16]


def build(source: Path) -> Path:
    out = state_dir() / "wheels" / f"rdv-{digest(source)}"
    built = sorted(out.glob("*.whl"))
    if built:
        return built[0]
    with tempfile.TemporaryDirectory() as work:
        # A copy, so that the build leaves nothing in the sources (build/, *.egg-info).
        copy = Path(work) / "src"
        shutil.copytree(source, copy, ignore=lambda _d, names: [n for n in names if n in SKIPPED
                                                                 or n.endswith(".egg-info")])
        staging = Path(work) / "out"
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
             "--wheel-dir", str(staging), str(copy)],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise AnsibleError(f"building the wheel of {source} failed:\n{result.stdout}\n{result.stderr}")
        out.mkdir(parents=True, exist_ok=True)
        for wheel in staging.glob("*.whl"):
            shutil.move(str(wheel), out / wheel.name)
    built = sorted(out.glob("*.whl"))
    if not built:
        raise AnsibleError(f"building the wheel of {source} made no wheel")
    return built[0]


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: Any = None, **kwargs: Any) -> list[str]:
        return [str(build(Path(term).resolve())) for term in terms]
