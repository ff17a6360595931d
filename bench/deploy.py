"""Benchmark: a no-op `bastide deploy` (and a `bastide plan` of one host) under Mitogen's
strategy, which bastide's runs use, against Ansible's own ``linear`` strategy (the baseline,
what bastide used before), both measured in the same run on the same deployed lab.

    sudo .venv/bin/python bench/deploy.py INVENTORY [--runs 3] [--out FILE]

INVENTORY is a lab inventory deployed by `bastide deploy` (with its keyring unlocked as for any
bastide command, e.g. BASTIDE_IDENTITY; scripts/demo.sh leaves one in inventories/lab). The runs
are interleaved, baseline then Mitogen, ``--runs`` times; each must change nothing (a change
would mean the lab was not converged, and the figures would not compare like with like). The
baseline is the same command with ANSIBLE_STRATEGY=linear in its environment, which overrides
the rendered ansible.cfg. Reports the medians and their ratios, Mitogen over baseline. Writes
JSON to ``bench/results/deploy.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "deploy.json"
BASTIDE = [sys.executable, "-m", "bastide"]
STRATEGIES = {"linear": {"ANSIBLE_STRATEGY": "linear"}, "mitogen_linear": {}}


def timed(args: list[str], extra_env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Seconds a bastide command took, and its --json summary; exits if it changed anything."""
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_STRATEGY"} | extra_env
    start = time.monotonic()
    result = subprocess.run([*BASTIDE, *args, "--json"], env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        sys.exit(f"bastide {' '.join(args)} failed ({extra_env}):\n{result.stdout}\n{result.stderr}")
    summary = json.loads(result.stdout)
    changed = summary.get("changes") or [entry for entry in summary.get("plan", []) if entry["changes"]]
    if changed:
        sys.exit(f"bastide {' '.join(args)} was not a no-op ({extra_env}): {changed[:3]}")
    return elapsed, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inventory", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args()

    from bastide.core.inventory import load

    inventory = load(options.inventory)
    first_host = inventory.hosts[0].name
    commands = {
        "deploy": ["deploy", str(options.inventory)],
        f"plan --limit {first_host}": ["plan", str(options.inventory), "--limit", first_host],
    }
    seconds: dict[str, dict[str, list[float]]] = {name: {s: [] for s in STRATEGIES} for name in commands}
    tasks: dict[str, int] = {}
    for _ in range(options.runs):
        for name, args in commands.items():
            for strategy, extra_env in STRATEGIES.items():
                elapsed, summary = timed(args, extra_env)
                seconds[name][strategy].append(round(elapsed, 2))
                if name == "deploy":
                    tasks = {host: stats["ok"] + stats["skipped"] for host, stats in summary["hosts"].items()}
    medians = {name: {s: statistics.median(v) for s, v in runs.items()} for name, runs in seconds.items()}
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "hosts": len(inventory.hosts),
        "communes": len(inventory.communes),
        "tasks_per_host": tasks,
        "runs": options.runs,
        "seconds": seconds,
        "median_seconds": medians,
        "ratio_mitogen_over_linear": {
            name: round(m["mitogen_linear"] / m["linear"], 3) for name, m in medians.items()
        },
    }
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["median_seconds"], indent=2))
    print(json.dumps(result["ratio_mitogen_over_linear"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
