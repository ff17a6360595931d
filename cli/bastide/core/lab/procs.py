"""Running commands and supervising the lab's background daemons without systemd.

The controller's PID 1 is not systemd, so each lab daemon is started in its own session with its
output in a log file and its PID in ``<lab dir>/pids/<name>.pid``. A PID file alone can outlive
its process (a killed run, a reboot): before signalling a PID we check that the process still
runs the program we started, so that a recycled PID is never killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bastide.errors import BastideError


class CommandFailed(BastideError):
    def __init__(self, argv: Sequence[str], returncode: int, output: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.output = output
        tail = "\n".join(output.strip().splitlines()[-15:])
        super().__init__(f"command failed ({returncode}): {' '.join(argv)}\n{tail}")


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    input_text: str | None = None,
    timeout: float | None = 600,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(argv),
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=None if input_text is not None else subprocess.DEVNULL,
    )
    if check and result.returncode != 0:
        raise CommandFailed(argv, result.returncode, result.stdout + result.stderr)
    return result


def start_daemon(
    name: str,
    argv: Sequence[str],
    pid_dir: Path,
    log_dir: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    preexec: Callable[[], None] | None = None,
) -> int:
    pid_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=cwd,
            preexec_fn=preexec,
        )
    (pid_dir / f"{name}.pid").write_text(f"{process.pid}\n{argv[0]}\n", encoding="utf-8")
    # Until the child has exec'd, its command line is still ours: wait for the program's own,
    # or a check made right after start would take the daemon for dead.
    wait_for(
        lambda: not alive(process.pid) or Path((cmdline(process.pid) or [""])[0]).name == Path(argv[0]).name,
        timeout=5,
        interval=0.01,
    )
    return process.pid


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def read_pid(pid_file: Path) -> tuple[int, str] | None:
    """The PID and program recorded in ``pid_file``, if it still designates that program."""
    try:
        lines = pid_file.read_text(encoding="utf-8").split("\n")
        pid, program = int(lines[0]), lines[1].strip()
    except (OSError, ValueError, IndexError):
        return None
    args = cmdline(pid)
    if not args or Path(args[0]).name != Path(program).name or not alive(pid):
        return None
    return pid, program


def daemon_pid(name: str, pid_dir: Path) -> int | None:
    found = read_pid(pid_dir / f"{name}.pid")
    return found[0] if found else None


def stop_pid(pid: int, *, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap(pid)
        if not alive(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(50):
        reap(pid)
        if not alive(pid):
            return
        time.sleep(0.1)


def reap(pid: int) -> None:
    """Collect our own exited children so they do not linger as zombies."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stop_daemon(name: str, pid_dir: Path, *, timeout: float = 10.0) -> None:
    pid_file = pid_dir / f"{name}.pid"
    found = read_pid(pid_file)
    if found:
        stop_pid(found[0], timeout=timeout)
    pid_file.unlink(missing_ok=True)


def processes_mentioning(directory: Path) -> list[int]:
    """PIDs whose command line names a path under ``directory`` (a lab's daemons and machines,
    even when a killed run lost their PID files)."""
    marker = str(directory).rstrip("/") + "/"
    own = {os.getpid(), os.getppid()}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in own:
            continue
        if any(marker in arg for arg in cmdline(int(entry.name))) and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
