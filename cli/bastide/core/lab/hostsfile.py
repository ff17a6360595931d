"""The managed block of the controller's /etc/hosts that names the hosts of one lab."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

HOSTS = Path("/etc/hosts")


def markers(lab_id: int) -> tuple[str, str]:
    return (f"# BEGIN bastide lab {lab_id}", f"# END bastide lab {lab_id}")


def without_block(text: str, lab_id: int) -> str:
    begin, end = markers(lab_id)
    kept, inside = [], False
    for line in text.splitlines():
        if line.strip() == begin:
            inside = True
            continue
        if inside and line.strip() == end:
            inside = False
            continue
        if not inside:
            kept.append(line)
    return "\n".join(kept) + ("\n" if kept else "")


def with_block(text: str, lab_id: int, entries: list[tuple[str, str]]) -> str:
    begin, end = markers(lab_id)
    body = [begin, *(f"{address}\t{name}" for name, address in entries), end]
    return without_block(text, lab_id) + "\n".join(body) + "\n"


def _update(change: Callable[[str], str], path: Path = HOSTS) -> None:
    # Labs of other ids edit the same file at the same time: serialise, and rewrite in place
    # (the file may be a bind mount that cannot be replaced by rename).
    with open(path, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        text = handle.read()
        new = change(text)
        if new != text:
            handle.seek(0)
            handle.write(new)
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())


def install(lab_id: int, entries: list[tuple[str, str]], path: Path = HOSTS) -> None:
    _update(lambda text: with_block(text, lab_id, entries), path)


def remove(lab_id: int, path: Path = HOSTS) -> None:
    _update(lambda text: without_block(text, lab_id), path)


def has_block(lab_id: int, path: Path = HOSTS) -> bool:
    return markers(lab_id)[0] in path.read_text(encoding="utf-8")
