"""Live progress of an Ansible run, per host and task, and the summary afterwards.

On a terminal: a table redrawn in place (host, current task, ok/changed/failed). Elsewhere (CI,
pipes): one line per task and per failure, so logs stay readable.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.live import Live
from rich.table import Table

from bastide.console import err, out
from bastide.core.ansible import RunSummary
from bastide.i18n import Messages

_ = Messages("deploy")


def _table(summary: RunSummary) -> Table:
    table = Table(box=None, pad_edge=False)
    table.add_column(_("col.host"), style="bold")
    table.add_column(_("col.ok"), justify="right")
    table.add_column(_("col.changed"), justify="right", style="yellow")
    table.add_column(_("col.failed"), justify="right", style="red")
    table.add_column(_("col.task"))
    for name, stats in sorted(summary.hosts.items()):
        if stats.failed:
            state = f"[red]{_('state.failed')}[/]"
        elif stats.done:
            state = f"[green]{_('state.done')}[/]"
        else:
            state = stats.current_task
        table.add_row(name, str(stats.ok), str(stats.changed), str(stats.failures + stats.unreachable), state)
    return table


class Progress:
    """Use as ``with Progress() as progress: converge(..., on_event=progress)``."""

    def __init__(self) -> None:
        self._live: Live | None = None
        self._last_task = ""

    def __enter__(self) -> Progress:
        if err.is_terminal:
            self._live = Live(Table(), console=err, refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(kind, value, traceback)

    def __call__(self, summary: RunSummary, event: dict[str, Any]) -> None:
        if self._live is not None:
            self._live.update(_table(summary))
            return
        if event.get("event") == "task_start":
            title = next((h.current_task for h in summary.hosts.values() if h.current_task), "")
            if title and title != self._last_task:
                self._last_task = title
                err.print(f"  {title}", markup=False)
        elif event.get("event") == "result" and event.get("status") in ("failed", "unreachable"):
            err.print(f"  [red]✗ {event['host']}[/] {event.get('task', '')}")


def print_summary(summary: RunSummary) -> None:
    out.print(_table(summary))
    for failure in summary.failures:
        label = _("failure.unreachable") if failure.unreachable else _("failure.failed")
        out.print(f"[red]{label}[/] [bold]{failure.host}[/] — {failure.task}")
        for line in failure.reason.splitlines()[:12]:
            out.print(f"    {line}", markup=False)
    for line in summary.errors:
        out.print(line, markup=False, style="red")
    out.print(_("log.where", path=summary.log_path))


def summary_dict(summary: RunSummary) -> dict[str, Any]:
    return {
        "kind": summary.kind,
        "ok": summary.ok,
        "log": str(summary.log_path),
        "hosts": {
            name: {k: v for k, v in stats.__dict__.items() if k != "current_task"}
            for name, stats in summary.hosts.items()
        },
        "failures": [f.__dict__ for f in summary.failures],
        "errors": summary.errors,
        "changes": [c.__dict__ for c in summary.changes],
    }
