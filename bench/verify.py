"""Benchmark: `bastide verify` against a no-op `bastide deploy` and against the way verify ran
before (the baseline), all measured in the same run on the same lab, for fleets of 1, 2 and 3
hosts.

    sudo BASTIDE_LAB_ID=1 .venv/bin/python bench/verify.py [--sizes 1,2,3] [--runs 3] [--out FILE]

Each fleet is the demo syndicat grown or shrunk to two communes per host (the demo's own shape:
2 hosts, 4 communes), so that a bigger fleet means more hosts of the same kind. For each size the
lab is brought up, the fleet deployed once (unmeasured), then ``--runs`` times, interleaved: a
no-op `bastide deploy`, the baseline verify, and `bastide verify`. Medians are reported, and the
ratios that matter: verify over the no-op deploy (the issue's bound: at most 0.5 on the demo
fleet), and verify on 3 hosts over verify on 1 (at most 1.3).

The baseline is verify as it was before this benchmark was written, kept here only: the same
role checks, driven through testinfra's Ansible backend (``ansible://`` hosts, which opens a new
SSH connection per command), one pytest run per play of the converge playbook with every host
of the play in it, the plays one after another.

Uses lab ``BASTIDE_LAB_ID`` (default 1) with a private state directory; the Debian base comes
from the shared cache. Refuses to run if a lab with that id is up. Writes JSON to
``bench/results/verify.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "verify.json"
DEMO = REPO / "inventories" / "demo"
COMMUNES_PER_HOST = 2


def fleet_source(hosts: int, out: Path) -> Path:
    """The demo syndicat with ``hosts`` hosts and two communes on each: the demo's communes,
    then copies of them (new slug, name, INSEE code and domain) for hosts past the demo's."""
    syndicat = yaml.safe_load((DEMO / "syndicat.yml").read_text(encoding="utf-8"))
    communes = [
        yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted((DEMO / "communes").glob("*.yml"))
    ]
    template_host = syndicat["hosts"][0]
    syndicat["hosts"] = [
        {**template_host, "name": f"srv-bench-{index}", "address": f"192.0.2.{10 + index}"}
        for index in range(1, hosts + 1)
    ]
    if syndicat.get("identity"):
        syndicat["identity"]["host"] = "srv-bench-1"
    wanted = hosts * COMMUNES_PER_HOST
    fleet = []
    for index in range(wanted):
        commune = copy.deepcopy(communes[index % len(communes)])
        round_ = index // len(communes)
        if round_:
            slug = f"{commune['slug']}-{round_ + 1}"
            commune.update(
                slug=slug,
                name=f"{commune['name']} {round_ + 1}",
                insee=f"{commune['insee'][:-1]}{(int(commune['insee'][-1]) + round_) % 10}",
                domain=f"{slug}.example.fr",
            )
            for person in [*(commune.get("agents") or []), *(commune.get("elus") or [])]:
                login = person.get("id") or person["email"].split("@")[0]
                person["email"] = person["email"].split("@")[0] + f"@{slug}.example.fr"
                person["id"] = f"{login}.{round_ + 1}"  # logins are unique across the syndicat
        commune["host"] = f"srv-bench-{index // COMMUNES_PER_HOST + 1}"
        fleet.append(commune)
    (out / "communes").mkdir(parents=True)
    (out / "syndicat.yml").write_text(yaml.safe_dump(syndicat, allow_unicode=True, sort_keys=False))
    for commune in fleet:
        path = out / "communes" / f"{commune['slug']}.yml"
        path.write_text(yaml.safe_dump(commune, allow_unicode=True, sort_keys=False))
    return out


def bastide(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bastide", *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=True,
    )


def timed(action: Any) -> tuple[float, Any]:
    started = time.monotonic()
    result = action()
    return time.monotonic() - started, result


def verify_now(env: dict[str, str], inventory: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bastide", "verify", str(inventory), "--json"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    report = json.loads(done.stdout)  # a failing check is a result too: reported, not a crash
    return counts(report["checks"])


def counts(checks: list[dict[str, Any]]) -> dict[str, Any]:
    outcomes: dict[str, int] = {}
    for check in checks:
        outcomes[check["outcome"]] = outcomes.get(check["outcome"], 0) + 1
    cases = sorted(f"{c['host']} {c['role']} {c['test']} {c['outcome']}" for c in checks)
    failed = sorted(
        f"{c['host']} {c['role']} {c['test']}: {c['detail'][:200]}"
        for c in checks
        if c["outcome"] == "failed"
    )
    return {"outcomes": outcomes, "cases": cases, "failed": failed}


def verify_baseline(env: dict[str, str], inventory_dir: Path) -> dict[str, Any]:
    """Verify as it ran before: testinfra's Ansible backend, one pytest per play, plays in turn."""
    os.environ.update(env)  # the state directory and the keyring identity of this benchmark
    from bastide.core import keys
    from bastide.core.ansible.render import host_variables, render
    from bastide.core.ansible.runner import (
        ansible_env,
        close_connections,
        connection_users,
        new_run_dir,
        write_run_files,
        write_ssh_config,
    )
    from bastide.core.inventory import load
    from bastide.core.verify import _parse_junit, _test_paths, play_hosts, role_targets
    from bastide.paths import roles_dir

    inventory = load(inventory_dir)
    keyring = keys.open_keyring(inventory.root)
    host_names = [h.name for h in inventory.hosts]
    run_dir = new_run_dir("verify-baseline")
    users = connection_users(inventory, host_names)
    rendered = render(inventory, users)
    control_dir = write_run_files(run_dir, inventory, rendered, forks=5)
    # The checks of today read their variables and reach secrets through these two files.
    write_ssh_config(run_dir / "ssh_config", inventory, users, control_dir)
    hostvars = {name: host_variables(rendered, name) for name in host_names}
    (run_dir / "hostvars.json").write_text(json.dumps(hostvars))
    (run_dir / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    groups = rendered["all"]["children"]
    results = []
    try:
        with keys.serve(keyring) as secret_env:
            run_env = ansible_env(run_dir, secret_env)
            run_env.update(
                BASTIDE_VERIFY_HOSTVARS=str(run_dir / "hostvars.json"),
                BASTIDE_VERIFY_SSH_CONFIG=str(run_dir / "ssh_config"),
            )
            for index, (pattern, roles) in enumerate(role_targets()):
                members = play_hosts(groups, pattern, host_names)
                tests = _test_paths(roles)
                if not members or not tests:
                    continue
                junit = run_dir / f"verify-{index}.xml"
                command = [
                    sys.executable, "-m", "pytest", "-c", str(run_dir / "pytest.ini"),
                    "--rootdir", str(roles_dir()), "-q", "--tb=line",
                    f"--hosts={','.join('ansible://' + h for h in members)}",
                    f"--ansible-inventory={run_dir / 'hosts.yml'}",
                    f"--junitxml={junit}", "-o", "junit_family=xunit2",
                    *map(str, tests),
                ]  # fmt: skip
                with (run_dir / "verify.log").open("ab") as log:
                    subprocess.run(
                        command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                        env=run_env, cwd=roles_dir(), check=False,
                    )  # fmt: skip
                if junit.exists():
                    role_of = {p.stem: p.parent.parent.name for p in tests}
                    results += [r.__dict__ for r in _parse_junit(junit, role_of, members)]
    finally:
        close_connections(control_dir)
    return counts(results)


def measure(size: int, runs: int, lab_id: str, scratch: Path) -> dict[str, Any]:
    work = scratch / f"fleet-{size}"
    source = fleet_source(size, work / "source")
    inventory = work / "inventory"
    env = dict(
        os.environ,
        BASTIDE_LAB_ID=lab_id,
        BASTIDE_STATE_DIR=str(work / "state"),
        BASTIDE_IDENTITY=str(work / "operator.age"),
        LANG="C.UTF-8",
    )
    try:
        bastide(env, "lab", "up", "--hosts", str(size), "--from", str(source), "--out", str(inventory))
        bastide(env, "keys", "init", str(inventory), "--identity", env["BASTIDE_IDENTITY"])
        first, _ = timed(lambda: bastide(env, "deploy", str(inventory)))
        noop, baseline, verify = [], [], []
        for _ in range(runs):
            noop.append(timed(lambda: bastide(env, "deploy", str(inventory)))[0])
            seconds, old = timed(lambda: verify_baseline(env, inventory))
            baseline.append(seconds)
            seconds, new = timed(lambda: verify_now(env, inventory))
            verify.append(seconds)
    finally:
        subprocess.run(
            [sys.executable, "-m", "bastide", "lab", "down"], env=env, stdin=subprocess.DEVNULL, check=False
        )
    return {
        "hosts": size,
        "communes": size * COMMUNES_PER_HOST,
        "first_deploy_seconds": round(first, 1),
        "noop_deploy_seconds": round(statistics.median(noop), 1),
        "baseline_verify_seconds": round(statistics.median(baseline), 1),
        "verify_seconds": round(statistics.median(verify), 1),
        "runs": {
            "noop_deploy": [round(v, 1) for v in noop],
            "baseline_verify": [round(v, 1) for v in baseline],
            "verify": [round(v, 1) for v in verify],
        },
        "verify_over_noop_deploy": round(statistics.median(verify) / statistics.median(noop), 2),
        "baseline_over_noop_deploy": round(statistics.median(baseline) / statistics.median(noop), 2),
        "verify_over_baseline": round(statistics.median(verify) / statistics.median(baseline), 2),
        "outcomes": new["outcomes"],
        "failed_checks": new["failed"],
        "baseline_failed_checks": old["failed"],
        "same_checks_as_baseline": new["cases"] == old["cases"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1,2,3", help="fleet sizes (hosts), comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="measured runs of each (medians)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("the lab needs root: run the benchmark as root")
    lab_id = os.environ.get("BASTIDE_LAB_ID", "1")
    if Path(f"/sys/class/net/bl{lab_id}br").exists():
        sys.exit(f"lab {lab_id} is up on this machine; take it down or pick a free BASTIDE_LAB_ID")
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bastide-bench-verify-") as scratch:
        fleets = {str(size): measure(size, args.runs, lab_id, Path(scratch)) for size in sizes}
    result: dict[str, Any] = {
        "benchmark": "verify",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
        "fleets": fleets,
        "bounds": {"verify_over_noop_deploy_on_2_hosts": 0.5, "verify_3_hosts_over_1_host": 1.3},
    }
    if "1" in fleets and "3" in fleets:
        result["verify_3_hosts_over_1_host"] = round(
            fleets["3"]["verify_seconds"] / fleets["1"]["verify_seconds"], 2
        )
        result["baseline_3_hosts_over_1_host"] = round(
            fleets["3"]["baseline_verify_seconds"] / fleets["1"]["baseline_verify_seconds"], 2
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    problems = []
    demo = fleets.get("2")
    if demo and demo["verify_over_noop_deploy"] > 0.5:
        ratio = demo["verify_over_noop_deploy"]
        problems.append(f"verify takes {ratio} of a no-op deploy on 2 hosts (bound 0.5)")
    if result.get("verify_3_hosts_over_1_host", 0) > 1.3:
        problems.append(f"verify on 3 hosts takes {result['verify_3_hosts_over_1_host']}× 1 host (bound 1.3)")
    if any(fleet["failed_checks"] for fleet in fleets.values()):
        problems.append("verify reported failed checks (see failed_checks)")
    if not all(fleet["same_checks_as_baseline"] for fleet in fleets.values()):
        problems.append("verify and the baseline did not report the same checks with the same outcomes")
    if problems:
        sys.exit("; ".join(problems))


if __name__ == "__main__":
    main()
