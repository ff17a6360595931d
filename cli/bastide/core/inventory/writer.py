"""Writing inventory files: one ``communes/<slug>.yml`` per commune, new inventories from the
``templates/init`` skeleton. Files are written whole or not at all (temporary file + rename)."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bastide.core.inventory.validate import COMMUNES_DIR


class _Dumper(yaml.SafeDumper):
    """Short lists (services) inline, everything else in block style, as people write YAML."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(item, str | int) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def commune_yaml(data: dict[str, Any]) -> str:
    order = ("slug", "name", "insee", "domain", "host", "services", "backup_target", "agents")
    ordered = {key: data[key] for key in order if key in data}
    ordered.update({key: value for key, value in data.items() if key not in ordered})
    return yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


def commune_path(root: Path, slug: str) -> Path:
    return root / COMMUNES_DIR / f"{slug}.yml"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_commune(root: Path, data: dict[str, Any]) -> Path:
    path = commune_path(root, data["slug"])
    write_atomic(path, commune_yaml(data))
    return path


class CommuneEdit:
    """A commune's file opened for an edit in place: comments, order, quoting and the file's own
    indentation are kept (ruamel's round trip); ``save`` keeps the change only if the whole
    inventory stays valid, and otherwise puts the file back and raises the problems."""

    def __init__(self, root: Path, slug: str) -> None:
        from ruamel.yaml import YAML
        from ruamel.yaml.util import load_yaml_guess_indent

        self.root = root
        self.path = commune_path(root, slug)
        self.original = self.path.read_text(encoding="utf-8")
        _guessed, indent, dash_offset = load_yaml_guess_indent(self.original)
        self.yaml = YAML()
        self.yaml.preserve_quotes = True
        self.yaml.width = 4096  # never re-wrap a line
        # Commune files nest no mapping outside list items: only the lists' layout is the file's own.
        self.yaml.indent(mapping=2, sequence=indent or 2, offset=dash_offset or 0)
        self.data = self.yaml.load(self.original)

    def save(self) -> None:
        from bastide.core.inventory.validate import validate_dir
        from bastide.errors import InputError

        buffer = io.StringIO()
        self.yaml.dump(self.data, buffer)
        write_atomic(self.path, buffer.getvalue())
        _inventory, problems = validate_dir(self.root)
        if problems:
            write_atomic(self.path, self.original)
            raise InputError(problems)
