"""Start, stop and read the lab's SMTP sink (see ``smtp_sink``)."""

from __future__ import annotations

import mailbox
import socket
import sys
from email.message import Message
from pathlib import Path

from bastide.core.lab import procs
from bastide.core.lab.plan import LabPlan

NAME = "smtp-sink"
PORT = 25


def maildir(lab_dir: Path) -> Path:
    return lab_dir / "mail"


def start(lab: LabPlan, lab_dir: Path) -> None:
    stop(lab_dir)
    target = maildir(lab_dir)
    mailbox.Maildir(str(target), create=True)
    argv = [
        sys.executable,
        "-m",
        "bastide.core.lab.smtp_sink",
        "--host",
        lab.gateway,
        "--port",
        str(PORT),
        "--maildir",
        str(target),
    ]
    procs.start_daemon(NAME, argv, lab_dir / "pids", lab_dir / "logs")


def ready(lab: LabPlan) -> bool:
    try:
        with socket.create_connection((lab.gateway, PORT), timeout=0.5) as sock:
            return sock.recv(64).startswith(b"220")
    except OSError:
        return False


def stop(lab_dir: Path) -> None:
    procs.stop_daemon(NAME, lab_dir / "pids", timeout=5)


def messages(maildir_path: Path | str) -> list[Message]:
    box = mailbox.Maildir(str(maildir_path), create=False)
    return [box[key] for key in sorted(box.keys())]
