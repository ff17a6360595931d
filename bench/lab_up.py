"""Benchmark: the second `bastide lab up --hosts 3` (base cached) against `lab up --hosts 1`,
both measured in the same run, on the same machine.

    sudo BASTIDE_LAB_ID=1 .venv/bin/python bench/lab_up.py [--hosts 3] [--runs 3] [--out FILE]

The figure that matters is the absolute time of a `lab up` once the Debian base is cached (the
issue's bound: under 60 s for 3 hosts on 2 cores). Absolute times move with the machine's load,
so the same run also measures a baseline, `lab up --hosts 1`, and reports the ratio: about 1
means hosts boot in parallel and the fixed cost (mostly Ceph RGW) dominates; about 3 would mean
hosts boot one after the other.

Uses lab ``BASTIDE_LAB_ID`` (default 0) with a private state directory; the Debian base comes
from the shared cache (``/var/cache/bastide``, or ``BASTIDE_LAB_BASE_DIR``), built by the first,
unmeasured, `lab up` if it is missing. Refuses to run if a lab with that id is up. Prints the
figures and writes them as JSON to ``bench/results/lab_up.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "lab_up.json"


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
        [sys.executable, "-m", "bastide", "lab", "down"],
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def phases(state: Path, lab_id: str) -> dict[str, float]:
    timings = state / "lab" / lab_id / "logs" / "up-timings.json"
    data = json.loads(timings.read_text()) if timings.is_file() else {}
    return {name: round(value, 1) for name, value in data.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="measured runs of each size (medians reported)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("the lab needs root: run the benchmark as root")
    lab_id = os.environ.get("BASTIDE_LAB_ID", "0")
    if Path(f"/sys/class/net/bl{lab_id}br").exists():
        sys.exit(f"lab {lab_id} is up on this machine; take it down or pick a free BASTIDE_LAB_ID")
    one: list[float] = []
    many: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bastide-bench-lab-") as scratch:
        state = Path(scratch) / "state"
        env = dict(os.environ, BASTIDE_LAB_ID=lab_id, BASTIDE_STATE_DIR=str(state))
        try:
            # Unmeasured: builds the base if the cache lacks it, makes the lab key and CAs.
            first = lab_up(env, args.hosts)
            lab_down(env)
            for _ in range(args.runs):
                one.append(lab_up(env, 1))
                lab_down(env)
                many.append(lab_up(env, args.hosts))
                last_phases = phases(state, lab_id)
                lab_down(env)
        finally:
            lab_down(env)
    baseline, measured = statistics.median(one), statistics.median(many)
    result = {
        "benchmark": "lab_up",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
        "hosts": args.hosts,
        "runs": args.runs,
        "first_run_seconds": round(first, 1),
        "warm_seconds": round(measured, 1),
        "warm_runs": [round(value, 1) for value in many],
        "baseline_one_host_seconds": round(baseline, 1),
        "baseline_runs": [round(value, 1) for value in one],
        "ratio_over_one_host": round(measured / baseline, 2),
        "bound_seconds": 60,
        "within_bound": measured < 60,
        "last_warm_phases": last_phases,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"lab up --hosts {args.hosts} (base cached): {measured:.1f} s (median of {args.runs}); "
        f"lab up --hosts 1: {baseline:.1f} s; ratio {measured / baseline:.2f}"
    )
    print(json.dumps(result, indent=2))
    if measured >= 60:
        sys.exit(f"over the 60 s bound: {measured:.1f} s")


if __name__ == "__main__":
    main()
