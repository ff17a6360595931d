"""Every help screen and usage error of `bastide`, in French and in English.

One subprocess per language imports the CLI under that locale (help texts are read when the
commands are built), walks the whole command tree and renders each command's ``--help`` and a few
usage errors; the tests then check that every help text comes from the French catalogue, differs
from its English text and shows on the French help screen, and that click's own texts are French.
"""

from __future__ import annotations

import ast
import json
import os
import re
import string
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

import bastide
from bastide.i18n import CLICK_MODULES

LOCALE = Path(bastide.__file__).resolve().parent / "data" / "locale"

DUMP = r"""
import json

import click
from click.testing import CliRunner

from bastide.commands import main

ERRORS = {
    "missing_argument": ["keys", "init"],
    "no_such_command": ["keys", "rotat"],
    "option_needs_value": ["lab", "up", "--hosts"],
    "out_of_range": ["lab", "up", "--hosts", "99"],
    "extra_arguments": ["lab", "down", "x", "y"],
    "no_such_option": ["tls", "renew", "--forse"],
}


def walk(command, path, parent):
    ctx = click.Context(command, info_name=path[-1] if path else "bastide", parent=parent)
    yield path, command, ctx
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from walk(command.commands[name], [*path, name], ctx)


runner = CliRunner()
commands = []
for path, command, ctx in walk(main, [], None):
    result = runner.invoke(main, [*path, "--help"], prog_name="bastide")
    commands.append(
        {
            "path": " ".join(path),
            "group": isinstance(command, click.Group),
            "help": command.help,
            "params": [
                {"name": param.name, "kind": param.param_type_name, "help": getattr(param, "help", None)}
                for param in command.get_params(ctx)
            ],
            "exit_code": result.exit_code,
            "rendered": result.output,
        }
    )
errors = {}
for name, args in ERRORS.items():
    result = runner.invoke(main, args, prog_name="bastide")
    errors[name] = {"exit_code": result.exit_code, "stderr": result.stderr}
print(json.dumps({"commands": commands, "errors": errors}))
"""

# Words of English that French help never contains (option names and metavars are removed first).
ENGLISH_WORDS = re.compile(
    r"\b(the|and|with|this|that|from|of|for|is|are|your|which|when|only|every|without|Show|Run)\b"
)


@cache
def dump(lang: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANGUAGE")}
    env.update(LANG=lang, COLUMNS="80")
    done = subprocess.run(
        [sys.executable, "-c", DUMP], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def french() -> dict[str, Any]:
    return dump("fr_FR.UTF-8")


def english() -> dict[str, Any]:
    return dump("C.UTF-8")


@cache
def catalogues() -> dict[str, dict[str, dict[str, str]]]:
    return {
        path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) or {} for path in LOCALE.glob("*.yml")
    }


def texts(lang: str) -> set[str]:
    return {entry[lang] for catalogue in catalogues().values() for entry in catalogue.values()}


def squeezed(text: str) -> str:
    """Without any whitespace: help screens are wrapped (even inside hyphenated words)."""
    return re.sub(r"\s+", "", text)


def help_strings(command: dict[str, Any]) -> dict[str, str]:
    """The command's own help and its parameters', keyed by where they are."""
    found = {"": command["help"]} if command["help"] else {}
    for param in command["params"]:
        if param["help"]:
            found[f"{param['kind']} {param['name']}"] = param["help"]
    return found


def by_path(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {command["path"]: command for command in data["commands"]}


def test_the_walk_covers_the_whole_tree() -> None:
    paths = set(by_path(french()))
    assert paths == set(by_path(english()))
    # Every level: the top group, groups, subgroups and their commands.
    assert {"", "keys", "keys operator", "keys operator add", "tls timer install", "lab ssh"} <= paths
    assert {"plan", "deploy", "verify", "compliance", "commune add", "keys recovery join"} <= paths
    assert len(paths) >= 30


def test_every_help_text_is_french() -> None:
    fr_texts, en_texts = texts("fr"), texts("en")
    en_commands = by_path(english())
    problems = []
    for path, command in by_path(french()).items():
        where = f"bastide {path}".strip()
        if not command["help"]:
            problems.append(f"{where}: no help text")
        en_helps = help_strings(en_commands[path])
        rendered = squeezed(command["rendered"])
        for key, text in help_strings(command).items():
            label = f"{where} {key}".strip()
            if text == en_helps.get(key):
                problems.append(f"{label}: same text in French and English: {text!r}")
            if text not in fr_texts:
                problems.append(f"{label}: not a French text of the catalogues: {text!r}")
            if text in en_texts:
                problems.append(f"{label}: an English text of the catalogues: {text!r}")
            if squeezed(text) not in rendered:
                problems.append(f"{label}: missing from the French --help: {text!r}")
    assert problems == []


def test_french_help_screens_use_french_titles_and_words() -> None:
    problems = []
    for command in french()["commands"]:
        where = f"bastide {command['path']} --help".replace("  ", " ")
        rendered = command["rendered"]
        assert command["exit_code"] == 0, (where, rendered)
        if not rendered.startswith("Utilisation : bastide"):
            problems.append(f"{where}: no French usage line")
        if "Options:" not in rendered:
            problems.append(f"{where}: no options section")
        if command["group"] and "Commandes:" not in rendered:
            problems.append(f"{where}: no French commands section")
        for english_title in ("Usage:", "Commands:", "Show this message", "default:", "required]"):
            if english_title in rendered:
                problems.append(f"{where}: English {english_title!r}")
        prose = re.sub(r"--?[\w-]+|\[[^\]]*\]", " ", rendered)  # option names, defaults, choices
        for word in sorted(set(ENGLISH_WORDS.findall(prose))):
            problems.append(f"{where}: English word {word!r}")
    assert problems == []


def test_english_help_stays_english() -> None:
    en_texts = texts("en")
    commands = by_path(english())
    assert "converge a syndicat numérique's servers to its inventory" in " ".join(
        commands[""]["rendered"].split()
    )
    for path, command in commands.items():
        rendered = command["rendered"]
        assert rendered.startswith("Usage: bastide"), (path, rendered)
        assert "Show this message and exit." in rendered, path
        assert "Utilisation" not in rendered and "Affiche" not in rendered, path
        if command["group"]:
            assert "Commands:" in rendered, path
        for key, text in help_strings(command).items():
            assert text in en_texts, (path, key, text)
    assert "Machine-readable output." in commands["keys status"]["rendered"]
    assert "[default: inventories/lab]" in " ".join(commands["lab up"]["rendered"].split())


def test_usage_errors_are_french() -> None:
    errors = {name: error["stderr"] for name, error in french()["errors"].items()}
    assert all(error["exit_code"] == 2 for error in french()["errors"].values())
    missing = errors["missing_argument"]
    assert "Utilisation : bastide keys init [OPTIONS] INVENTORY" in missing
    assert "Essayez « bastide keys init --help » pour obtenir de l'aide." in missing
    assert "Erreur : Il manque l'argument 'INVENTORY'." in missing
    assert "Erreur : Commande 'rotat' inconnue. Vouliez-vous dire 'rotate' ?" in errors["no_such_command"]
    assert "Erreur : L'option '--hosts' attend une valeur." in errors["option_needs_value"]
    assert (
        "Valeur invalide pour '--hosts' : 99 n'est pas dans l'intervalle 1<=x<=50." in errors["out_of_range"]
    )
    assert "Erreur : Arguments supplémentaires inattendus (x y)" in errors["extra_arguments"]
    assert "Erreur : Option '--forse' inconnue. Vouliez-vous dire '--force' ?" in errors["no_such_option"]
    for name, text in errors.items():
        for english_text in ("Usage:", "Error:", "Try '", "Missing", "No such", "Did you mean"):
            assert english_text not in text, (name, text)


def test_usage_errors_stay_english() -> None:
    errors = {name: error["stderr"] for name, error in english()["errors"].items()}
    missing = errors["missing_argument"]
    assert "Usage: bastide keys init [OPTIONS] INVENTORY" in missing
    assert "Try 'bastide keys init --help' for help." in missing
    assert "Error: Missing argument 'INVENTORY'." in missing
    assert "Error: Got unexpected extra arguments (x y)" in errors["extra_arguments"]
    assert "Error: Option '--hosts' requires an argument." in errors["option_needs_value"]


# ---- the catalogues themselves


def _fields(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_command_catalogues_have_the_same_placeholders_in_both_languages() -> None:
    for domain in ("cli", "deploy", "keys", "lab", "tls", "compliance"):
        for key, entry in catalogues()[domain].items():
            assert set(entry) == {"en", "fr"}, (domain, key)
            assert _fields(entry["en"]) == _fields(entry["fr"]), (domain, key)


# click's texts left untranslated on purpose: errors about a badly written program, and a repr.
CLICK_UNTRANSLATED = {
    "Name '{name}' defined twice",
    "Boolean option {decl!r} cannot use the same flag for true/false.",
    "Could not determine name for option with declarations {decls!r}",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument instead?"
    " Did you mean to pass '--{name}'?",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.",
    "Unknown color {colour!r}",
    "Unknown standard stream '{name}'",
    "Choice({choices})",
}
# A msgid click passes to gettext through a variable (Option.get_help_extra's "required").
CLICK_INDIRECT = {"required"}


def _click_msgids() -> dict[str, set[str]]:
    """Each msgid click passes to ``_`` or ``ngettext``, with the fields click formats it with
    (for a plural, those of both forms: click formats whichever form with the same fields)."""
    msgids: dict[str, set[str]] = {}
    root = Path(click.__file__).parent
    for name in CLICK_MODULES:
        path = root / f"{name}.py"
        if not path.exists():
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                count = {"_": 1, "ngettext": 2}.get(node.func.id, 0)
                forms = [
                    arg.value
                    for arg in node.args[:count]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                ]
                fields = set().union(*map(_fields, forms)) if forms else set()
                for form in forms:
                    msgids[form] = fields
    return msgids


def test_click_catalogue_covers_clicks_texts() -> None:
    catalogue = catalogues()["click"]
    used = _click_msgids() | {msgid: set() for msgid in CLICK_INDIRECT}
    assert "Usage:" in used and "Show this message and exit." in used, "the scan found no msgid"
    assert sorted(set(used) - CLICK_UNTRANSLATED - set(catalogue)) == []
    assert sorted(set(catalogue) - set(used)) == [], "msgids this click no longer uses"
    for msgid, entry in catalogue.items():
        assert entry["en"] == msgid
        assert _fields(entry["fr"]) <= used[msgid], msgid  # else click's format() fails


@pytest.mark.parametrize(("lang", "expected"), [("fr_FR.UTF-8", "Utilisation :"), ("C.UTF-8", "Usage:")])
def test_click_texts_follow_the_language_at_call_time(
    monkeypatch: pytest.MonkeyPatch, lang: str, expected: str
) -> None:
    import bastide.commands  # noqa: F401  (installs the translation)

    for var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", lang)
    assert click.formatting._("Usage:") == expected
    assert click.core._("a text click does not have") == "a text click does not have"
    singular, plural = "Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."
    french_rule = lang.startswith("fr")
    assert (click.parser.ngettext(singular, plural, 0) == click.parser._(singular)) is french_rule
    assert click.parser.ngettext(singular, plural, 1) == click.parser._(singular)
    assert click.parser.ngettext(singular, plural, 2) == click.parser._(plural)
