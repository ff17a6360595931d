"""French and English messages.

Each concern keeps its messages in ``data/locale/<domain>.yml`` as ``key: {en: ..., fr: ...}``,
so a translator sees both languages side by side. ``LANG``/``LC_ALL``/``LC_MESSAGES`` starting
with ``fr`` selects French; anything else gives English.
"""

from __future__ import annotations

import os
from functools import cache

import yaml

from bastide.paths import package_data_dir

LANGUAGES = ("en", "fr")


def language() -> str:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var)
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


@cache
def _catalog(domain: str) -> dict[str, dict[str, str]]:
    path = package_data_dir() / "locale" / f"{domain}.yml"
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    for key, texts in data.items():
        missing = [lang for lang in LANGUAGES if lang not in texts]
        if missing:
            raise RuntimeError(f"{path}: message {key!r} lacks {', '.join(missing)}")
    return data


def t(domain: str, key: str, **params: object) -> str:
    """The message ``key`` of ``domain`` in the user's language, formatted with ``params``."""
    texts = _catalog(domain)[key]
    return texts[language()].format(**params)


class Messages:
    """Bound to one domain: ``_ = Messages("lab")`` then ``_("up.done", hosts=3)``."""

    def __init__(self, domain: str) -> None:
        self.domain = domain

    def __call__(self, key: str, **params: object) -> str:
        return t(self.domain, key, **params)
