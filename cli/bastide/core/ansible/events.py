"""The run as bastide sees it: events from the ``bastide_events`` callback folded into a summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class HostStats:
    ok: int = 0
    changed: int = 0
    failures: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0
    current_task: str = ""
    done: bool = False

    @property
    def failed(self) -> bool:
        return self.failures > 0 or self.unreachable > 0


@dataclass(frozen=True)
class Failure:
    host: str
    task: str
    role: str | None
    reason: str
    unreachable: bool = False


@dataclass(frozen=True)
class Change:
    host: str
    task: str
    role: str | None
    item: str | None


@dataclass
class RunSummary:
    kind: str
    run_dir: Path
    hosts: dict[str, HostStats] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    returncode: int | None = None
    finished: bool = False
    # Ansible's own errors when the run stopped before any host result (a playbook that does not
    # parse, a missing role): without them a failed run would show an empty table.
    errors: list[str] = field(default_factory=list)

    @property
    def log_path(self) -> Path:
        return self.run_dir / "ansible.log"

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.finished and not any(h.failed for h in self.hosts.values())

    @property
    def total_changed(self) -> int:
        return sum(h.changed for h in self.hosts.values())

    def host(self, name: str) -> HostStats:
        return self.hosts.setdefault(name, HostStats())

    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "play_start":
            for name in event.get("hosts", []):
                self.host(name)
        elif kind == "task_start":
            for stats in self.hosts.values():
                if not stats.done:
                    stats.current_task = _task_title(event)
        elif kind == "result":
            self._apply_result(event)
        elif kind == "stats":
            for name, counts in event.get("hosts", {}).items():
                stats = self.host(name)
                for key in ("ok", "changed", "failures", "unreachable", "skipped", "rescued", "ignored"):
                    setattr(stats, key, int(counts.get(key, 0)))
                stats.done = True
                stats.current_task = ""
            self.finished = True

    def _apply_result(self, event: dict[str, Any]) -> None:
        host = event["host"]
        stats = self.host(host)
        status = event["status"]
        title = _task_title(event)
        if status == "skipped":
            stats.skipped += 1
        elif status in ("ok", "changed"):
            stats.ok += 1
        if status == "changed":
            stats.changed += 1
            self.changes.append(Change(host, title, event.get("role"), event.get("item")))
        elif status == "item_changed":
            self.changes.append(Change(host, title, event.get("role"), event.get("item")))
        elif status in ("failed", "unreachable"):
            if status == "failed":
                stats.failures += 1
            else:
                stats.unreachable += 1
            self.failures.append(
                Failure(
                    host,
                    title,
                    event.get("role"),
                    event.get("message", ""),
                    unreachable=status == "unreachable",
                )
            )

    def changes_for(self, host: str, slug: str | None = None) -> list[Change]:
        """Changes on ``host``; with ``slug``, only those whose loop item names that commune."""
        found = [c for c in self.changes if c.host == host]
        if slug is None:
            return found
        return [c for c in found if c.item and slug in c.item]


def _task_title(event: dict[str, Any]) -> str:
    role = event.get("role")
    task = event.get("task", "")
    return f"{role} : {task}" if role and not task.startswith(f"{role} :") else task
