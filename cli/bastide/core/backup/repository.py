"""restic on the controller, with a commune's maintainer key: checking its repository
(``restic check``, reading a rotating part of the data each time) and its retention
(retention.py). The maintainer key never goes to a host; the repository password comes from
the keyring."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastide.core.backup import credentials
from bastide.core.backup.buckets import Target
from bastide.errors import BastideError
from bastide.i18n import Messages

_ = Messages("backup")

# How many parts the data is read in: each check reads one, so a week of daily checks reads it all.
SUBSETS = 7
# restic 0.14 has no --retry-lock: a host's nightly backup may hold the lock for a while.
LOCK_RETRIES = 6


@dataclass(frozen=True)
class Checked:
    ok: bool
    subset: str
    output: str


def environment(target: Target, keyring: Any, cache: Path) -> dict[str, str]:
    maintainer = credentials.get(keyring, target.commune, credentials.MAINTAINER)
    if maintainer is None:
        raise BastideError(_("repository.no_maintainer", commune=target.commune))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESTIC_", "AWS_"))}
    env.update(
        RESTIC_REPOSITORY=target.repository,
        RESTIC_PASSWORD=keyring.get(target.commune, credentials.REPOSITORY).decode(),
        AWS_ACCESS_KEY_ID=maintainer.access_key,
        AWS_SECRET_ACCESS_KEY=maintainer.secret_key,
        RESTIC_CACHE_DIR=str(cache),
    )
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(name, None)  # the target is reached directly, as the hosts reach it
    return env


def restic(
    target: Target, keyring: Any, *args: str, timeout: int = 6 * 3600
) -> subprocess.CompletedProcess[str]:
    """restic on the commune's repository; retried while another run holds its lock."""
    with tempfile.TemporaryDirectory(prefix="bastide-restic-") as cache:
        env = environment(target, keyring, Path(cache))
        for attempt in range(LOCK_RETRIES):
            done = subprocess.run(
                ["restic", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
            if done.returncode == 0 or "already locked" not in done.stderr:
                break
            time.sleep(10 * (attempt + 1))
        return done


def failed(target: Target, done: subprocess.CompletedProcess[str]) -> BastideError:
    return BastideError(_("repository.failed", commune=target.commune, reason=done.stderr.strip()[-300:]))


def check(target: Target, keyring: Any, subset: int) -> Checked:
    """``restic check`` reading part ``subset`` (1..SUBSETS) of the data."""
    part = f"{(subset - 1) % SUBSETS + 1}/{SUBSETS}"
    done = restic(target, keyring, "check", f"--read-data-subset={part}")
    return Checked(done.returncode == 0, part, (done.stdout + done.stderr).strip()[-2000:])


def check_all(target: Target, keyring: Any) -> Checked:
    done = restic(target, keyring, "check", "--read-data")
    return Checked(done.returncode == 0, "all", (done.stdout + done.stderr).strip()[-2000:])


def snapshots(target: Target, keyring: Any) -> list[dict[str, Any]]:
    done = restic(target, keyring, "snapshots", "--json")
    if done.returncode != 0:
        raise failed(target, done)
    return list(json.loads(done.stdout or "[]"))
