"""The CLI's output: human text through rich on stderr/stdout, or JSON for scripts and CI."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

from bastide.errors import Problem

# soft_wrap keeps each message on one line in logs and pipes, where rich would wrap at 80 columns.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def emit_json(data: Any) -> None:
    """Machine-readable output goes to stdout alone, one document, nothing else mixed in."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def show_problems(problems: list[Problem], title: str) -> None:
    err.print(f"[bold red]{title}[/]")
    for problem in problems:
        # Messages quote user values, which may contain [brackets] rich would read as markup.
        where = f"[bold]{escape(problem.location())}[/]"
        what = escape(problem.message)
        if problem.field:
            what = f"[cyan]{escape(problem.field)}[/]: {what}"
        err.print(f"  {where} {what}")
        err.print(f"    [green]→ {escape(problem.fix)}[/]")
