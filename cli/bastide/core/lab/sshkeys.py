"""The lab's SSH key pair and the known_hosts file that pins every lab host's key."""

from __future__ import annotations

from pathlib import Path

from bastide.core.lab.procs import run


def ensure_key(ssh_dir: Path, comment: str) -> Path:
    """``ssh_dir/id_ed25519`` (created once per lab, kept across runs so clients keep working)."""
    ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = ssh_dir / "id_ed25519"
    if not key.is_file() or not key.with_suffix(".pub").is_file():
        key.unlink(missing_ok=True)
        key.with_suffix(".pub").unlink(missing_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)])
    key.chmod(0o600)
    return key


def known_hosts_text(entries: list[tuple[list[str], str]]) -> str:
    """One line per host: its names/addresses, then its host key (``type base64 [comment]``)."""
    lines = []
    for names, host_key in entries:
        key_type, key_data = host_key.split()[:2]
        lines.append(f"{','.join(names)} {key_type} {key_data}")
    return "\n".join(lines) + "\n"


def ssh_options(key: Path, known_hosts: Path) -> list[str]:
    return [
        "-i",
        str(key),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        f"UserKnownHostsFile={known_hosts}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
        "-o",
        "LogLevel=ERROR",
    ]
