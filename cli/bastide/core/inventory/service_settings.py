"""The services' own sections of the inventory: ``<service>:`` in a commune's file and in
``syndicat.yml``, checked against the JSON Schemas their contracts declare (``settings``).

bastide knows no service: what a section may hold is the service role's business. Problems are
reported like every other inventory problem (file, line, field, fix), in the user's language;
the schema's ``x-help`` (``{fr, en}``) on a property is the fix shown when it is wrong. Defaults
of the schema are applied, so that the roles receive every setting.
"""

from __future__ import annotations

import copy
import datetime
import importlib.util
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from bastide.core.inventory.yamlsource import Loc, Source
from bastide.errors import Problem
from bastide.i18n import Messages, language

_ = Messages("inventory")


def checker(choices: dict[str, Iterable[str]]) -> FormatChecker:
    """A format checker knowing the inventory's own formats (``bastide-agent``...), each the
    set of values allowed where the section is."""
    formats = FormatChecker()
    for name, allowed in choices.items():
        values = frozenset(allowed)

        def check(value: object, values: frozenset[str] = values) -> bool:
            return not isinstance(value, str) or value in values

        formats.checks(name)(check)
    return formats


def _at(schema: dict[str, Any], path: Iterable[Any]) -> dict[str, Any]:
    """The subschema that describes ``path`` of an instance (properties and items only)."""
    current = schema
    for part in path:
        if isinstance(part, int):
            current = current.get("items") or {}
        else:
            current = (current.get("properties") or {}).get(part) or {}
    return current


def _help(schema: dict[str, Any]) -> str | None:
    text = schema.get("x-help")
    if isinstance(text, dict):
        return str(text.get(language(), text.get("en", "")))
    return None


_TYPES = {
    "string": "type.text",
    "integer": "type.number",
    "number": "type.number",
    "boolean": "type.bool",
    "array": "type.list",
    "object": "type.mapping",
}


def _type_of(value: Any) -> str:
    for kind, key in (
        (bool, "type.bool"),
        (int, "type.number"),
        (float, "type.number"),
        (str, "type.text"),
        (list, "type.list"),
        (dict, "type.mapping"),
    ):
        if isinstance(value, kind):
            return _(key)
    return _("type.null") if value is None else type(value).__name__


def commune_choices(commune: Any, host_names: Iterable[str]) -> dict[str, Iterable[str]]:
    """What the inventory's own formats allow in a commune's section."""
    agents = [a for a in commune.agents]
    return {
        "bastide-agent": [a.login for a in agents],
        "bastide-person": [p.login for p in [*agents, *commune.elus]],
        "bastide-agent-service": sorted({a.service for a in agents if a.service}),
        "bastide-host": list(host_names),
    }


def _problem(
    error: ValidationError,
    schema: dict[str, Any],
    source: Source,
    prefix: Loc,
    choices: dict[str, Iterable[str]],
) -> Problem:
    path = tuple(error.absolute_path)
    here = _at(schema, path)
    fix = _help(here)
    if error.validator == "required":
        missing = sorted(set(error.validator_value) - set(error.instance))
        name = missing[0] if missing else ""
        return source.problem(
            (*prefix, *path),
            _("field.missing") + f" (`{name}`)",
            _help(_at(schema, (*path, name))) or _("field.missing.fix", name=name),
        )
    if error.validator == "additionalProperties":
        allowed = sorted((here.get("properties") or {}).keys())
        extra = sorted(set(error.instance) - set(allowed))
        name = extra[0] if extra else ""
        return source.problem(
            (*prefix, *path, name),
            _("field.unknown", name=name),
            _("field.unknown.fix", allowed=", ".join(allowed)),
        )
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, str) else "object"
        return source.problem(
            (*prefix, *path),
            _("type.expected", expected=_(_TYPES.get(expected, "type.text")), got=_type_of(error.instance)),
            fix or _("type.fix"),
        )
    if error.validator == "format" and error.validator_value in choices:
        values = ", ".join(sorted(choices[error.validator_value])) or "-"
        allowed = _("settings.not_one_of.fix", allowed=values)
        return source.problem(
            (*prefix, *path),
            _("settings.not_one_of", value=error.instance),
            f"{fix} ; {allowed}" if fix else allowed,
        )
    if (
        error.validator
        in (
            "pattern",
            "enum",
            "minLength",
            "maxLength",
            "uniqueItems",
            "minimum",
            "maximum",
            "minItems",
            "maxItems",
            "format",
        )
        and fix
    ):
        # The schema's own help says what is expected; jsonschema's message is English only.
        return source.problem((*prefix, *path), _("field.invalid", detail=repr(error.instance)), fix)
    return source.problem((*prefix, *path), _("field.invalid", detail=error.message), fix or _("type.fix"))


def _as_json(value: Any) -> Any:
    """YAML's own dates (``from: 2026-12-24``) as the ISO strings JSON Schema expects: a date
    written unquoted is what an administrator writes."""
    if isinstance(value, dict):
        return {key: _as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_json(item) for item in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def with_defaults(schema: dict[str, Any], value: Any) -> Any:
    """``value`` with the schema's defaults filled in (objects, and objects inside arrays)."""
    if isinstance(value, dict) and schema.get("type") == "object":
        filled = dict(value)
        for name, sub in (schema.get("properties") or {}).items():
            if name not in filled and "default" in sub:
                filled[name] = copy.deepcopy(sub["default"])
            if name in filled:
                filled[name] = with_defaults(sub, filled[name])
        return filled
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [with_defaults(schema["items"], item) for item in value]
    return value


def check(
    schema: dict[str, Any],
    value: Any,
    source: Source,
    prefix: Loc,
    choices: dict[str, Iterable[str]],
    problems: list[Problem],
) -> dict[str, Any] | None:
    """The section with its defaults, or ``None`` after adding its problems to ``problems``."""
    value = _as_json({} if value is None else value)
    validator = Draft202012Validator(schema, format_checker=checker(choices))
    errors = sorted(validator.iter_errors(value), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        problems.extend(_problem(e, schema, source, prefix, choices) for e in errors)
        return None
    return with_defaults(schema, value)


@cache
def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bastide_settings_check_{path.parent.parent.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get(language(), value.get("en", "")))
    return str(value)


def commune_facts(commune: Any) -> dict[str, Any]:
    """What a service's own check may know of the commune (plain data, no model)."""

    def person(p: Any) -> dict[str, Any]:
        return {
            "login": p.login,
            "name": p.name,
            "service": getattr(p, "service", None),
            "disabled": bool(getattr(p, "disabled", False)),
        }

    return {
        "slug": commune.slug,
        "name": commune.name,
        "insee": commune.insee,
        "agents": [person(a) for a in commune.agents],
        "elus": [person(e) for e in commune.elus],
    }


def run_check(
    role_path: Path,
    check_file: str,
    section: dict[str, Any],
    commune: Any,
    source: Source,
    prefix: Loc,
    problems: list[Problem],
) -> bool:
    """Run the service's own ``check(section, commune)`` (contract ``settings.check``): each
    problem it yields is ``(path in the section, message {fr, en}, fix {fr, en})``. True when
    it found none."""
    function: Callable[..., Iterable[tuple[Loc, Any, Any]]] = _module(role_path / check_file).check
    found = [
        source.problem((*prefix, *path), _text(message), _text(fix))
        for path, message, fix in function(section, commune_facts(commune))
    ]
    problems.extend(found)
    return not found
