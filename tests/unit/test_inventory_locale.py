"""The inventory's messages: every key used exists in both languages with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import yaml

import bastide

PACKAGE = Path(bastide.__file__).resolve().parent
LOCALE = yaml.safe_load((PACKAGE / "data" / "locale" / "inventory.yml").read_text(encoding="utf-8"))
SOURCES = [*sorted((PACKAGE / "core" / "inventory").glob("*.py")), PACKAGE / "commands" / "inventory.py"]


def _fields(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_placeholders() -> None:
    for key, texts in LOCALE.items():
        assert set(texts) == {"en", "fr"}, key
        assert _fields(texts["en"]) == _fields(texts["fr"]), key


def test_every_key_used_exists() -> None:
    used: set[str] = set()
    with_fix: set[str] = set()
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'\b_\(\s*"([a-z0-9_.]+)"', text))
        with_fix |= set(re.findall(r'Invalid\(\s*"([a-z0-9_.]+)"', text))
        with_fix |= set(re.findall(r'"([a-z_]+\.duplicate_[a-z_]+|admin\.duplicate)"', text))
    assert used, "the pattern found no message key"
    missing = sorted(key for key in used | with_fix | {f"{k}.fix" for k in with_fix} if key not in LOCALE)
    assert missing == []
