"""Import communes from a spreadsheet export (CSV).

French spreadsheets export with ``;`` and often in Windows-1252; both that and UTF-8 (with or
without the BOM Excel adds) are read, with ``;`` or ``,`` as the delimiter. Every row is
validated together with the whole inventory before any file is written; a problem names the
CSV line and column.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastide.core.inventory import formats, writer
from bastide.core.inventory.model import Inventory
from bastide.core.inventory.validate import check_with, read_sources
from bastide.core.inventory.yamlsource import Source
from bastide.errors import InputError, Problem
from bastide.i18n import Messages

_ = Messages("inventory")

# Column names as people write them in a spreadsheet (accents and case ignored) → field.
COLUMNS: dict[str, str] = {
    "slug": "slug",
    "name": "name",
    "nom": "name",
    "commune": "name",
    "nom de la commune": "name",
    "insee": "insee",
    "code insee": "insee",
    "code_insee": "insee",
    "cog": "insee",
    "domain": "domain",
    "domaine": "domain",
    "host": "host",
    "hote": "host",
    "serveur": "host",
    "services": "services",
    "backup_target": "backup_target",
    "backup target": "backup_target",
    "sauvegarde": "backup_target",
    "cible de sauvegarde": "backup_target",
    "agents": "agents",
}
REQUIRED = ("name", "insee", "domain")
_AGENT = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>\s]+)>\s*(?:\((?P<service>[^()]*)\))?\s*$")


@dataclass
class Row:
    line: int
    data: dict[str, Any]
    columns: dict[str, str] = field(default_factory=dict)  # field → column header as written


@dataclass
class ImportPlan:
    """What an import would write; nothing is written until :func:`apply`."""

    root: Path
    rows: list[Row]
    inventory: Inventory

    def files(self) -> list[tuple[Path, str]]:
        return [
            (writer.commune_path(self.root, row.data["slug"]), writer.commune_yaml(row.data))
            for row in self.rows
        ]


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(plain.strip().lower().replace("-", " ").split())


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    header = text.splitlines()[0] if text else ""
    counts = {delimiter: header.count(delimiter) for delimiter in (";", ",", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def split_list(text: str) -> list[str]:
    return [item for item in re.split(r"[\s,;|+]+", text.strip()) if item]


def parse_agents(text: str) -> list[dict[str, str]] | None:
    """``Marie Dupont <marie@x.fr> (Accueil) | Jean Roux <jean@x.fr>`` → agents; None if malformed."""
    agents = []
    for chunk in re.split(r"[|\n]", text):
        if not chunk.strip():
            continue
        match = _AGENT.match(chunk)
        if not match:
            return None
        agent = {"name": match["name"], "email": match["email"]}
        if match["service"]:
            agent["service"] = match["service"].strip()
        agents.append(agent)
    return agents


def read_rows(csv_path: Path, display: str) -> tuple[list[Row], list[Problem]]:
    problems: list[Problem] = []
    try:
        text = decode(csv_path.read_bytes())
    except OSError as error:
        return [], [
            Problem(display, "", _("file.unreadable", error=error.strerror), _("file.unreadable.fix"))
        ]
    delimiter = _delimiter(text)
    first, _newline, rest = text.partition("\n")
    if re.fullmatch(r"sep=.", first.strip(), flags=re.IGNORECASE):
        # Excel writes a "sep=;" line first; keep the line count so that lines stay true.
        delimiter, text = first.strip()[4], "\n" + rest
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
        while not header:
            header = next(reader)
        header_line = reader.line_num
    except StopIteration:
        return [], [Problem(display, "", _("file.empty"), _("csv.header.fix"))]
    mapping: dict[int, str] = {}
    headers: dict[str, str] = {}
    for index, title in enumerate(header):
        key = COLUMNS.get(_fold(title))
        if key is None:
            if not title.strip():
                continue
            guess = _suggest_column(_fold(title))
            problems.append(
                Problem(
                    display,
                    title,
                    _("csv.column.unknown", column=title),
                    _(
                        "csv.column.unknown.fix",
                        guess=guess or "-",
                        columns=", ".join(sorted(set(COLUMNS.values()))),
                    ),
                    header_line,
                )
            )
            continue
        if key in headers:
            problems.append(
                Problem(
                    display, title, _("csv.column.twice", column=title), _("key.duplicate.fix"), header_line
                )
            )
            continue
        mapping[index] = key
        headers[key] = title
    for key in REQUIRED:
        if key not in headers:
            problems.append(
                Problem(
                    display,
                    key,
                    _("csv.column.missing", column=key),
                    _("csv.column.missing.fix", column=key),
                    header_line,
                )
            )
    rows: list[Row] = []
    line = reader.line_num + 1
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(header):
                problems.append(
                    Problem(
                        display,
                        "",
                        _("csv.row.long", count=len(record), expected=len(header)),
                        _("csv.row.long.fix"),
                        start,
                    )
                )
            data = {
                mapping[i]: cell.strip() for i, cell in enumerate(record) if i in mapping and cell.strip()
            }
            rows.append(Row(start, data, dict(headers)))
    except csv.Error as error:
        problems.append(Problem(display, "", _("csv.syntax", detail=str(error)), _("csv.syntax.fix"), line))
    if not rows and not problems:
        problems.append(Problem(display, "", _("csv.no_rows"), _("csv.header.fix")))
    return rows, problems


def _suggest_column(word: str) -> str | None:
    matches = difflib.get_close_matches(word, list(COLUMNS), n=1, cutoff=0.6)
    return matches[0] if matches else None


def complete(
    rows: list[Row],
    display: str,
    inventory_hosts: dict[str, list[str]],
    target_names: list[str],
    *,
    host: str | None,
    services: list[str] | None,
    backup_target: str | None,
) -> list[Problem]:
    """Fill in what a row leaves out (slug, host, services, backup target) and shape its values."""
    problems: list[Problem] = []
    for row in rows:
        data = row.data
        if "slug" not in data and "name" in data:
            data["slug"] = formats.slugify(data["name"])
            row.columns["slug"] = row.columns.get("name", "name")
        if "host" not in data:
            chosen = host or (next(iter(inventory_hosts)) if len(inventory_hosts) == 1 else None)
            if chosen is None:
                problems.append(
                    Problem(display, "host", _("csv.host.missing"), _("csv.host.missing.fix"), row.line)
                )
            else:
                data["host"] = chosen
        if "services" in data:
            data["services"] = split_list(data["services"])
        elif services is not None:
            data["services"] = list(services)
        elif data.get("host") in inventory_hosts:
            data["services"] = list(inventory_hosts[data["host"]])
        elif "host" in data:
            # An unknown host has no services to copy: leave the list empty so that the
            # problem reported is the host, not a missing services field.
            data["services"] = []
        if "backup_target" not in data:
            chosen = backup_target or (target_names[0] if len(target_names) == 1 else None)
            if chosen is None:
                problems.append(
                    Problem(
                        display,
                        "backup_target",
                        _("csv.target.missing"),
                        _("csv.target.missing.fix"),
                        row.line,
                    )
                )
            else:
                data["backup_target"] = chosen
        if "agents" in data:
            agents = parse_agents(data["agents"])
            if agents is None:
                problems.append(
                    Problem(
                        display,
                        row.columns.get("agents", "agents"),
                        _("csv.agents"),
                        _("csv.agents.fix"),
                        row.line,
                    )
                )
                del data["agents"]
            else:
                data["agents"] = agents
    return problems


def _row_source(root: Path, display: str, row: Row) -> Source:
    slug = str(row.data.get("slug", "")) or f"row-{row.line}"
    lines: dict[tuple[str | int, ...], int] = {(): row.line}
    for key in row.data:
        lines[(key,)] = row.line
    return Source(
        path=writer.commune_path(root, slug),
        display=display,
        data=row.data,
        lines=lines,
        label=f"{display}:{row.line}",
    )


def _relabel(problem: Problem, display: str, rows_columns: dict[str, str]) -> Problem:
    """A problem on a CSV row names the column as the spreadsheet titles it."""
    if problem.file != display or not problem.field:
        return problem
    top = re.split(r"[.\[]", problem.field, maxsplit=1)[0]
    column = rows_columns.get(top, top)
    label = column if problem.field == top else f"{column} ({problem.field})"
    return Problem(problem.file, _("csv.column", column=label), problem.message, problem.fix, problem.line)


def hosts_and_targets(root: Path) -> tuple[dict[str, list[str]], list[str]]:
    """Host names with their services, and backup target names, as written in syndicat.yml."""
    syndicat, _communes, _problems = read_sources(root)
    hosts: dict[str, list[str]] = {}
    targets: list[str] = []
    if syndicat is not None and isinstance(syndicat.data, dict):
        for entry in syndicat.data.get("hosts") or []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                raw = entry.get("services")
                hosts[entry["name"]] = [s for s in raw if isinstance(s, str)] if isinstance(raw, list) else []
        for entry in syndicat.data.get("backup_targets") or []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                targets.append(entry["name"])
    return hosts, targets


def plan(
    root: Path,
    csv_path: Path,
    *,
    host: str | None = None,
    services: list[str] | None = None,
    backup_target: str | None = None,
) -> ImportPlan:
    """Read and validate the CSV against the inventory; raises InputError with every problem."""
    display = str(csv_path)
    rows, problems = read_rows(csv_path, display)
    hosts, targets = hosts_and_targets(root)
    completed = complete(
        rows, display, hosts, targets, host=host, services=services, backup_target=backup_target
    )
    problems += completed
    columns: dict[str, str] = {}
    for row in rows:
        columns.update(row.columns)
    inventory, found = check_with(root, [_row_source(root, display, row) for row in rows])
    # A missing column or host is reported once, not again as a missing field on every row.
    explained = {(p.line, p.field) for p in completed}
    explained |= {(p.line, "services") for p in completed if p.field == "host"}
    absent = {key for key in REQUIRED if rows and key not in rows[0].columns}
    found = [
        p
        for p in found
        if not (
            p.file == display
            and p.message == _("field.missing")
            and ((p.line, p.field) in explained or p.field in absent)
        )
    ]
    problems = [_relabel(p, display, columns) for p in problems + found]
    if problems:
        raise InputError(_sorted(problems, display))
    assert inventory is not None
    return ImportPlan(root, rows, inventory)


def _sorted(problems: list[Problem], display: str) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file != display, p.file, p.line or 0))


def apply(import_plan: ImportPlan) -> list[Path]:
    """Write the planned files; if one cannot be written, remove those already written."""
    written: list[Path] = []
    try:
        for path, text in import_plan.files():
            writer.write_atomic(path, text)
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written
