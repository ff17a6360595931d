"""Inventories for validation tests: a copy of the demo in a temporary directory, a file of it
changed as YAML data, the problems its loading reports."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bastide.core.inventory import load
from bastide.errors import InputError, Problem

DEMO = Path(__file__).resolve().parents[1] / "inventories" / "demo"


def copy_demo(tmp_path: Path) -> Path:
    root = tmp_path / "inv"
    shutil.copytree(DEMO, root)
    return root


def edit(path: Path, change: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def problems(root: Path) -> list[Problem]:
    with pytest.raises(InputError) as raised:
        load(root)
    return raised.value.problems
