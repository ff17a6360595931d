"""YAML files read with the line of every value, so that a problem can point at its line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bastide.errors import Problem
from bastide.i18n import Messages

_ = Messages("inventory")

Loc = tuple[str | int, ...]


@dataclass
class Source:
    """One YAML document: its data and, for each path in it, the line it starts on (1-based)."""

    path: Path
    display: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    # How other problems refer to this source ("communes.csv:4" for a CSV row).
    label: str | None = None

    def where(self) -> str:
        return self.label or self.display

    def line(self, loc: Loc) -> int | None:
        """The line of ``loc`` or, for a value that is missing, of its closest parent."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None

    def problem(self, loc: Loc, message: str, fix: str) -> Problem:
        return Problem(self.display, field_path(loc), message, fix, self.line(loc))


def field_path(loc: Loc) -> str:
    """``("hosts", 1, "region")`` → ``hosts[1].region``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def read(path: Path, display: str) -> tuple[Source | None, list[Problem]]:
    """Parse ``path``; on failure, no source and the problems that explain why."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(display, "", _("file.missing"), _("file.missing.fix"))]
    except OSError as error:
        return None, [
            Problem(display, "", _("file.unreadable", error=error.strerror), _("file.unreadable.fix"))
        ]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return None, [Problem(display, "", _("file.encoding"), _("file.encoding.fix"), line)]
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(display, "", _("file.empty"), _("file.empty.fix"))]
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        detail = " ".join(part for part in (error.context, error.problem) if part)
        return None, [
            Problem(
                display,
                "",
                _("file.syntax", detail=detail),
                _("file.syntax.fix"),
                mark.line + 1 if mark else None,
            )
        ]
    except yaml.YAMLError as error:
        return None, [Problem(display, "", _("file.syntax", detail=str(error)), _("file.syntax.fix"))]
    finally:
        loader.dispose()
    source = Source(path, display, data)
    problems: list[Problem] = []
    _walk(node, (), source, problems)
    if not isinstance(data, dict):
        problems.append(Problem(display, "", _("file.not_mapping"), _("file.not_mapping.fix"), 1))
    return source, problems


def _walk(node: yaml.Node, loc: Loc, source: Source, problems: list[Problem]) -> None:
    source.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(
                        source.display,
                        field_path((*loc, key)),
                        _("key.duplicate", first=seen[key]),
                        _("key.duplicate.fix"),
                        line,
                    )
                )
                continue
            seen[key] = line
            source.lines[(*loc, key)] = line
            _walk(value_node, (*loc, key), source, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            source.lines[(*loc, index)] = item.start_mark.line + 1
            _walk(item, (*loc, index), source, problems)


def line_of(path: Path, loc: Loc) -> int | None:
    """The line of ``loc`` in an inventory file already loaded, for a problem found after the
    inventory was (a commune's ``host``, say); none for a CSV or an unreadable file."""
    if path.suffix not in (".yml", ".yaml"):
        return None
    source, _problems = read(path, str(path))
    return source.line(loc) if source is not None else None
