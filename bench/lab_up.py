"""Benchmark: `bastide lab up --hosts 3` cold (no cached base: debootstrap, empty proxy cache)
against warm (base cached), measured in the same run, on the same machine.

    sudo .venv/bin/python bench/lab_up.py [--hosts 3] [--runs 1]

Uses lab ``BASTIDE_LAB_ID`` (default 0) with a private state directory and a private cache
directory, so the shared base in /var/cache/bastide is left alone; refuses to run if a lab
with that id is up. Prints the figures and the ratio cold/warm.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def lab_up(env: dict[str, str], hosts: int) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "bastide", "lab", "up", "--hosts", str(hosts), "--no-inventory"],
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def lab_down(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "bastide", "lab", "down"], env=env, check=True, stdin=subprocess.DEVNULL
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1, help="warm runs (the median is reported)")
    args = parser.parse_args()
    lab_id = os.environ.get("BASTIDE_LAB_ID", "0")
    if Path(f"/sys/class/net/bl{lab_id}br").exists():
        sys.exit(f"lab {lab_id} is up on this machine; pick a free BASTIDE_LAB_ID for the benchmark")
    with tempfile.TemporaryDirectory(prefix="bastide-bench-lab-") as scratch:
        env = dict(
            os.environ,
            BASTIDE_LAB_ID=lab_id,
            BASTIDE_STATE_DIR=str(Path(scratch) / "state"),
            BASTIDE_LAB_BASE_DIR=str(Path(scratch) / "cache"),
        )
        try:
            cold = lab_up(env, args.hosts)
            lab_down(env)
            warm_runs = []
            for _ in range(args.runs):
                warm_runs.append(lab_up(env, args.hosts))
                timings = Path(scratch, "state", "lab", lab_id, "logs", "up-timings.json")
                phases = json.loads(timings.read_text()) if timings.is_file() else {}
                lab_down(env)
        finally:
            lab_down(env)
    warm = statistics.median(warm_runs)
    result = {
        "hosts": args.hosts,
        "cold_seconds": round(cold, 1),
        "warm_seconds": round(warm, 1),
        "warm_runs": [round(value, 1) for value in warm_runs],
        "ratio_cold_over_warm": round(cold / warm, 2),
        "last_warm_phases": {name: round(value, 1) for name, value in phases.items()},
    }
    print(
        f"lab up --hosts {args.hosts}: cold {cold:.1f} s, warm {warm:.1f} s, cold/warm = {cold / warm:.1f}x"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
