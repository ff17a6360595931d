"""Adding and removing one commune in an inventory directory."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bastide.core.inventory import csvimport, writer
from bastide.core.inventory.validate import check_with
from bastide.core.inventory.yamlsource import Source
from bastide.errors import InputError, Problem
from bastide.i18n import Messages

_ = Messages("inventory")

ADD_DISPLAY = "bastide commune add"
OPTIONS = {
    "slug": "--slug",
    "name": "--name",
    "insee": "--insee",
    "domain": "--domain",
    "host": "--host",
    "services": "--services",
    "backup_target": "--backup-target",
    "agents": "--agent",
}


def add(root: Path, data: dict[str, Any]) -> Path:
    """Validate the commune ``data`` with the whole inventory, then write ``communes/<slug>.yml``.

    Missing slug, host, services and backup target are filled in as for a CSV import (slug from
    the name; the only host or backup target; the host's services).
    """
    row = csvimport.Row(line=0, data={key: value for key, value in data.items() if value not in (None, "")})
    hosts, targets = csvimport.hosts_and_targets(root)
    raw_agents = row.data.pop("agents", None) or []
    problems = csvimport.complete(
        [row],
        ADD_DISPLAY,
        hosts,
        targets,
        host=None,
        services=None,
        backup_target=None,
    )
    agents = []
    for text in raw_agents:
        parsed = csvimport.parse_agents(text)
        if parsed is None or len(parsed) != 1:
            problems.append(Problem(ADD_DISPLAY, "--agent", _("agent.option"), _("csv.agents.fix")))
        else:
            agents.extend(parsed)
    if agents:
        row.data["agents"] = agents
    slug = str(row.data.get("slug") or "")
    path = writer.commune_path(root, slug or "_")
    source = Source(path=path, display=str(path), data=row.data, lines={})
    _inventory, found = check_with(root, [source])
    problems = [_option_field(p, str(path)) for p in problems + found]
    if problems:
        raise InputError(problems)
    writer.write_atomic(path, writer.commune_yaml(row.data))
    return path


def _option_field(problem: Problem, display: str) -> Problem:
    if problem.file not in (display, ADD_DISPLAY):
        return problem
    top = re.split(r"[.\[]", problem.field, maxsplit=1)[0]
    option = OPTIONS.get(top, top)
    label = option if problem.field == top else f"{option} ({problem.field})"
    return Problem(ADD_DISPLAY, label, problem.message, problem.fix, None)


def remove(root: Path, slug: str) -> Path:
    path = writer.commune_path(root, slug)
    if not re.fullmatch(r"[a-z0-9-]+", slug) or not path.is_file():
        raise InputError(
            Problem(
                str(root), "SLUG", _("commune.unknown", slug=slug), _("commune.unknown.fix", inventory=root)
            )
        )
    path.unlink()
    return path
