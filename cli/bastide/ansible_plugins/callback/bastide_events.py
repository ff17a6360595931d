"""Ansible callback that streams run events to bastide as JSON lines.

bastide keeps Ansible's own output in a per-run log file and draws its own progress and summary
from these events. Results of ``no_log`` tasks are censored by Ansible before they reach a
callback; this plugin additionally never forwards module results wholesale, only the task,
host, status and, on failure, the message.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bastide_events
type: notification
short_description: write run events as JSON lines for bastide
description:
  - Appends one JSON object per event to the file named by the BASTIDE_EVENTS_FILE variable.
requirements:
  - BASTIDE_EVENTS_FILE set in the environment
"""

_CENSORED = "the output has been hidden due to the fact that 'no_log: true' was specified for this result"
_MAX_MESSAGE = 2000


def _item_label(result: dict[str, Any]) -> str | None:
    if result.get("_ansible_no_log"):
        return None
    label = result.get("_ansible_item_label", result.get("item"))
    if label is None:
        return None
    if isinstance(label, dict):
        for key in ("slug", "name", "fqdn", "path", "key"):
            if key in label:
                return str(label[key])
    return str(label)[:200]


def _failure_message(result: dict[str, Any]) -> str:
    if result.get("_ansible_no_log") or result.get("censored"):
        return "(output hidden: the task handles a secret)"
    parts: list[str] = []
    for key in ("msg", "reason", "stderr", "module_stderr"):
        value = result.get(key)
        if value and isinstance(value, str) and value != _CENSORED:
            parts.append(value.strip())
    if not parts and result.get("results"):
        for sub in result["results"]:
            if isinstance(sub, dict) and sub.get("failed"):
                parts.append(_failure_message(sub))
                break
    return "\n".join(parts)[:_MAX_MESSAGE] or "(no message)"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "bastide_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        path = os.environ.get("BASTIDE_EVENTS_FILE")
        self._out = open(path, "a", encoding="utf-8", buffering=1) if path else None  # noqa: SIM115

    def _emit(self, event: str, **data: Any) -> None:
        if self._out is None:
            return
        data["event"] = event
        data["time"] = time.time()
        self._out.write(json.dumps(data, default=str) + "\n")

    @staticmethod
    def _task_fields(task: Any) -> dict[str, Any]:
        role = getattr(task, "_role", None)
        return {"task": task.get_name().strip(), "role": role.get_name() if role else None}

    def v2_playbook_on_play_start(self, play: Any) -> None:
        hosts = play.get_variable_manager()._inventory.get_hosts(play.hosts)
        self._emit("play_start", play=play.get_name().strip(), hosts=[h.get_name() for h in hosts])

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._emit("task_start", **self._task_fields(task))

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self._emit("task_start", handler=True, **self._task_fields(task))

    def _result(self, status: str, result: Any) -> None:
        raw = result._result
        data: dict[str, Any] = {
            "host": result._host.get_name(),
            "status": status,
            **self._task_fields(result._task),
        }
        if status == "ok" and raw.get("changed"):
            data["status"] = "changed"
        label = _item_label(raw)
        if label is not None:
            data["item"] = label
        if status in ("failed", "unreachable", "ignored"):
            data["message"] = _failure_message(raw)
        if status == "skipped" and raw.get("skip_reason") and not raw.get("_ansible_no_log"):
            data["message"] = str(raw.get("skip_reason"))
        if raw.get("diff") and not raw.get("_ansible_no_log"):
            data["diff"] = True
        self._emit("result", **data)

    def v2_runner_on_ok(self, result: Any) -> None:
        self._result("ok", result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._result("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._result("skipped", result)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._result("unreachable", result)

    def v2_runner_item_on_ok(self, result: Any) -> None:
        if result._result.get("changed"):
            self._result("item_changed", result)

    def v2_runner_item_on_failed(self, result: Any) -> None:
        self._result("item_failed", result)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        self._emit("stats", hosts=summary)
        if self._out is not None:
            self._out.close()
            self._out = None
