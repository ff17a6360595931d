"""Benchmark: backing up and restoring a commune's drive holding 1 GB of new documents through
bastide (`bastide backup run`, `bastide restore --service drive`), against a plain restic run on
as much random data from the same host to the same repository (the baseline), in the same run;
and the drill's recovery time (`bastide backup drill`).

    BASTIDE_LAB_S3_GB=4 bash scripts/demo.sh
    export BASTIDE_IDENTITY=.bastide/lab-operator.age
    .venv/bin/python bench/backup.py inventories/lab [--commune ours-les-bains] [--size-mb 1024]

INVENTORY is a lab inventory deployed by `bastide deploy` with its buckets made (`bastide backup
init`; scripts/demo.sh leaves one in inventories/lab), its keyring unlocked as for any bastide
command. Both copies of the data stay locked in the bucket: the lab's S3 store (2 GiB by
default, in memory) must hold them, hence BASTIDE_LAB_S3_GB=4. The documents are random
(nothing to compress or deduplicate), written into a folder of the commune's drive, then
removed at the end. What bastide does beyond restic is what the
ratios measure: the services stopped and started around the copy, the database dumps checked,
the manifest (sha256 of every file) at backup, every file compared with it at restore. The
plain run backs up as much other random data, outside the drive, into the commune's own
repository (same bucket, same writer key: the only place its policy lets restic remove its lock
files; a repository beside it costs restic a minute and a half of refused lock removals) under
host ``bench-plain``, which bastide's restores, drills and status never read; it restores into a
scratch directory. Writes JSON to ``bench/results/backup.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "backup.json"
FILE_MB = 16


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inventory", type=Path)
    parser.add_argument("--commune", default="ours-les-bains")
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args()

    from bastide.core.ansible import remote
    from bastide.core.inventory import load

    inventory = load(options.inventory)
    slug = options.commune
    host = inventory.commune(slug).host
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    folder = f"/var/lib/bastide-drive/{slug}/files/services/bench-{stamp}"
    scratch = f"/var/tmp/bastide-bench-{stamp}"
    outside = f"/var/tmp/bastide-bench-plain-{stamp}"

    def on_host(script: str, timeout: int = 3600) -> str:
        done = remote.run(inventory, host, ["sh", "-c", script], timeout=timeout)
        if done.returncode != 0:
            sys.exit(f"on {host}: {script[:120]}... exited {done.returncode}: {done.stderr[-800:]}")
        return done.stdout

    def bastide(*args: str) -> tuple[float, dict[str, Any]]:
        import subprocess

        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "bastide", *args, "--json"], capture_output=True,
                              text=True, check=False)  # fmt: skip
        elapsed = time.monotonic() - start
        if done.returncode != 0:
            sys.exit(f"bastide {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return elapsed, json.loads(done.stdout)

    def plain(restic_args: str) -> float:
        # The commune's own repository and writer key, restic's cache of the benchmark's own.
        script = (
            f"set -a && . /etc/bastide-backup/{slug}.env && set +a && "
            f"restic --cache-dir /var/cache/bastide-bench-{stamp} {restic_args}"
        )
        start = time.monotonic()
        on_host(script)
        return time.monotonic() - start

    owner = on_host(f"stat -c %U /var/lib/bastide-drive/{slug}/files/services").strip()
    files = max(1, options.size_mb // FILE_MB)
    for where in (folder, outside):
        on_host(
            f"mkdir {shlex.quote(where)} && for i in $(seq {files}); do "
            f"head -c {FILE_MB}M /dev/urandom > {shlex.quote(where)}/document-$i.bin; done && "
            f"chown -R {owner}: {shlex.quote(where)}"
        )
    try:
        seconds: dict[str, dict[str, float]] = {"backup": {}, "restore": {}}
        seconds["backup"]["bastide"], backed = bastide("backup", "run", str(options.inventory), slug)
        seconds["backup"]["restic"] = plain(f"backup --host bench-plain --tag bench {shlex.quote(outside)}")
        seconds["restore"]["bastide"], restored = bastide(
            "restore", str(options.inventory), slug, "--service", "drive"
        )
        if not restored["services"]["drive"]["identical"]:
            sys.exit(f"the restore differs from the manifest: {restored}")
        seconds["restore"]["restic"] = plain(f"restore latest --host bench-plain --target {scratch}")
        drill_seconds, drilled = bastide("backup", "drill", str(options.inventory), slug)
    finally:
        on_host(
            f"rm -rf {shlex.quote(folder)} {shlex.quote(outside)} {scratch} /var/cache/bastide-bench-{stamp}"
        )
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "commune": slug,
        "data_mb": files * FILE_MB,
        "drive_files": backed["services"]["drive"]["files"],
        "seconds": {k: {w: round(v, 1) for w, v in d.items()} for k, d in seconds.items()},
        "ratio_bastide_over_restic": {k: round(d["bastide"] / d["restic"], 2) for k, d in seconds.items()},
        "drill": {
            "seconds": round(drill_seconds, 1),
            "rto_seconds": drilled["rto_seconds"],
            "ok": drilled["ok"],
        },
    }
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
