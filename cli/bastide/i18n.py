"""French and English messages.

Each concern keeps its messages in ``data/locale/<domain>.yml`` as ``key: {en: ..., fr: ...}``,
so a translator sees both languages side by side. ``LC_ALL``/``LC_MESSAGES``/``LANG``/``LANGUAGE``
starting with ``fr`` selects French; anything else gives English. ``click.yml`` holds French for
click's own texts, installed by :func:`translate_click`.
"""

from __future__ import annotations

import gettext
import importlib
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
    return t_in(language(), domain, key, **params)


def t_in(lang: str, domain: str, key: str, **params: object) -> str:
    """The message in ``lang`` whatever the user's (texts handed to others: a sheet, a mail)."""
    return _catalog(domain)[key][lang].format(**params)


class Messages:
    """Bound to one domain: ``_ = Messages("lab")`` then ``_("up.done", hosts=3)``."""

    def __init__(self, domain: str) -> None:
        self.domain = domain

    def __call__(self, key: str, **params: object) -> str:
        return t(self.domain, key, **params)


# ---- click's own strings ("Usage:", "Options", "Show this message and exit.", "Missing argument"…)
#
# click marks its texts for translation, each module calling a module-global ``_`` bound to
# ``gettext.gettext`` (and ``ngettext`` for plurals), but ships no translations: under French
# locales gettext finds no catalogue and click prints English. Rather than compiling and installing
# a .mo file for gettext's global domain, we rebind those module globals to functions that look the
# msgid up in ``data/locale/click.yml`` (keyed by click's exact English text) and answer in the
# user's language at call time; an unknown msgid comes back unchanged, as gettext does.

CLICK_MODULES = (
    "core",
    "decorators",
    "exceptions",
    "formatting",
    "parser",
    "types",
    "termui",
    "utils",
    "shell_completion",
    "_termui_impl",
)


def click_gettext(message: str) -> str:
    """``gettext`` for click: the French text of click's msgid ``message`` under a French locale."""
    if language() == "fr":
        texts = _catalog("click").get(message)
        if texts is not None:
            return texts["fr"]
    return message


def click_ngettext(singular: str, plural: str, count: int) -> str:
    """``ngettext`` for click; French uses the singular for 0 and 1, English only for 1."""
    if language() == "fr":
        return click_gettext(singular if count <= 1 else plural)
    return singular if count == 1 else plural


def translate_click() -> None:
    """Make click's own texts follow the user's language (idempotent).

    Call it before any click command or option is built: a few of click's texts are read once,
    when built (the ``--version`` option's help, ``click.Path``'s FILE/DIRECTORY metavars).
    """
    for name in CLICK_MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # a module another click version does not have
            continue
        if getattr(module, "_", None) in (gettext.gettext, click_gettext):
            module._ = click_gettext
        if getattr(module, "ngettext", None) in (gettext.ngettext, click_ngettext):
            module.ngettext = click_ngettext
