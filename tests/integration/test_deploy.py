"""End to end on real lab hosts: deploy the demo syndicat, deploy again (nothing changes),
plan (nothing to do), verify (every role's checks pass), and the failure paths. The internal
CA's tests, which switch the syndicat's TLS mode, run after the services' modules
(test_internal_ca.py).

The order matters and is the order of a real first deployment, so the module shares the
session's deployed lab (``first_deploy`` in tests/lab_fixtures.py); each test states what it
relies on.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from bastide.core.inventory import load
from lab_fixtures import (
    TEST_SERVICE,
    Deployed,
    Env,
    admin_host,
    assert_no_secret_leaked,
    bastide,
    private_keyring,
)

pytestmark = pytest.mark.lab


def test_first_deploy_converges_every_host(first_deploy: Deployed, deploy_env: Env) -> None:
    summary = first_deploy["summary"]
    assert summary["ok"], summary["failures"]
    inventory = load(Path(deploy_env["BASTIDE_INVENTORY"]))
    assert set(summary["hosts"]) == {host.name for host in inventory.hosts}
    assert all(stats["changed"] > 0 for stats in summary["hosts"].values())
    assert summary["sites"], "the deploy lists where each commune's services answer"


def test_second_deploy_changes_nothing(first_deploy: Deployed, deploy_env: Env) -> None:
    summary = json.loads(bastide("deploy", deploy_env["BASTIDE_INVENTORY"], "--json", env=deploy_env).stdout)
    assert summary["ok"], summary["failures"]
    changed = [f"{c['host']}: {c['task']} {c['item'] or ''}" for c in summary["changes"]]
    assert changed == [], "every role must converge with zero changes on a second run"
    assert all(stats["changed"] == 0 for stats in summary["hosts"].values())


def test_plan_after_deploy_has_nothing_to_do(first_deploy: Deployed, deploy_env: Env) -> None:
    """On the identity host, which runs every role (check mode on both hosts doubles the time
    for the same roles; the second deploy above shows both hosts converged)."""
    inventory_dir = deploy_env["BASTIDE_INVENTORY"]
    identity = load(Path(inventory_dir)).identity
    assert identity is not None
    summary = json.loads(
        bastide("plan", inventory_dir, "--limit", identity.host, "--json", env=deploy_env).stdout
    )
    assert summary["ok"], summary["failures"]
    assert all(not entry["changes"] for entry in summary["plan"])


SAMPLER = "bastide-ps-sampler"


@pytest.fixture(scope="module")
def verified(
    first_deploy: Deployed, deploy_env: Env, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One verify of the deployed lab (a verify takes a minute: its tests share it), while every
    host's process list (command lines and environments) is sampled as root, back to back."""
    import threading
    import time

    inventory = load(Path(deploy_env["BASTIDE_INVENTORY"]))
    junit = tmp_path_factory.mktemp("verify") / "verify.xml"
    stop = f"/run/{SAMPLER}.stop"
    # Sampled on the host itself until told to stop (or 5 minutes at most).
    command = (
        f": {SAMPLER}; rm -f {stop}; end=$(($(date +%s) + 300)); "
        f'while [ ! -e {stop} ] && [ "$(date +%s)" -lt "$end" ]; do ps -eww -o args=; '
        "for f in /proc/[0-9]*/environ; do tr '\\0' ' ' 2>/dev/null < $f; echo; done; "
        f"echo {SAMPLER}-sample; done; rm -f {stop}"
    )
    samples: dict[str, str] = {}

    def sample(name: str) -> None:
        samples[name] = admin_host(deploy_env, name).run(command).stdout

    threads = [threading.Thread(target=sample, args=(host.name,)) for host in inventory.hosts]
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)  # the samplers are running
        where = deploy_env["BASTIDE_INVENTORY"]
        result = bastide("verify", where, "--json", "--junit", str(junit), env=deploy_env, check=False)
    finally:
        for host in inventory.hosts:
            admin_host(deploy_env, host.name).run(f"touch {stop}")
        for thread in threads:
            thread.join()
    return {"result": result, "junit": junit, "samples": samples}


def test_verify_passes_and_reports_per_commune(verified: dict[str, Any], deploy_env: Env) -> None:
    result = verified["result"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    inventory = load(Path(deploy_env["BASTIDE_INVENTORY"]))
    assert report["ok"]
    assert {row["commune"] for row in report["communes"]} == {c.slug for c in inventory.communes}
    assert all(row["passed"] > 0 and row["failed"] == 0 for row in report["communes"])
    roles_checked = {check["role"] for check in report["checks"]}
    assert {"base", "hardening", "firewall", "nginx", "postgresql", "backup"} <= roles_checked
    assert verified["junit"].read_text().count("<testsuite ") == len(inventory.communes)


def _with_first_host_unreachable(deploy_env: Env, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A copy of the inventory whose first host has an address of the lab's own network where
    no host answers; (the copy, that host's entry)."""
    broken = tmp_path / "inventory"
    shutil.copytree(deploy_env["BASTIDE_INVENTORY"], broken)
    data = yaml.safe_load((broken / "syndicat.yml").read_text())
    victim = data["hosts"][0]
    victim["address"] = victim["address"].rsplit(".", 1)[0] + ".250"
    (broken / "syndicat.yml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return broken, victim


def test_verify_reports_an_unreachable_host_and_a_failing_check_in_the_communes_they_concern(
    first_deploy: Deployed, deploy_env: Env, tmp_path: Path
) -> None:
    """One verify (a minute each) for both failures: the first host unreachable, Redis stopped
    on the second."""
    broken, victim = _with_first_host_unreachable(deploy_env, tmp_path)
    inventory = load(broken)
    failing = next(host.name for host in inventory.hosts if host.name != victim["name"])
    on_failing = admin_host(deploy_env, failing)
    assert on_failing.run("systemctl stop redis-server").rc == 0
    try:
        result = bastide("verify", str(broken), "--json", env=deploy_env, check=False)
    finally:
        assert on_failing.run("systemctl start redis-server").rc == 0
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert set(report["unreachable"]) == {victim["name"]}
    rows = {row["commune"]: row for row in report["communes"]}
    assert set(rows) == {c.slug for c in inventory.communes}
    for commune in inventory.communes:
        row = rows[commune.slug]
        if commune.host == victim["name"]:
            assert row["unreachable"] and not row["ok"] and row["passed"] == 0, row
        else:
            assert row["unreachable"] is None and row["passed"] > 0 and not row["ok"], row
            assert "redis: test_service_running" in row["failures"], row
    # The reachable host is checked all the same: Redis fails, and those of its checks that
    # compare it with the victim's address (a hub's relay on it) rightly find it changed.
    failed = [c for c in report["checks"] if c["host"] == failing and c["outcome"] == "failed"]
    assert ("redis", "test_service_running") in {(c["role"], c["test"]) for c in failed}
    others = [c for c in failed if c["role"] != "redis"]
    assert all(victim["address"] in c["detail"] for c in others), others
    # The text report says it too (the unreachable host alone: the others were checked above).
    text = bastide("verify", str(broken), "--limit", victim["name"], env=deploy_env, check=False)
    assert text.returncode == 1 and "unreachable" in text.stdout, text.stdout


def test_no_secret_in_the_hosts_process_lists_while_verify_runs(
    verified: dict[str, Any], deploy_env: Env
) -> None:
    """No keyring secret in any sample of the hosts' process lists taken while verify ran."""
    keyring = private_keyring(deploy_env)
    values = [keyring.get(info.scope, info.name).decode("utf-8", "replace") for info in keyring.secrets()]
    values = [value for value in values if len(value) >= 8]
    assert values
    for name, taken in verified["samples"].items():
        count = taken.count(f"{SAMPLER}-sample")
        assert count >= 5, f"{name}: only {count} samples while verify ran"
        seen = [line for line in taken.splitlines() if SAMPLER not in line]
        # The samples did catch the checks at work: their probes on the host.
        assert any("python3 -c" in line for line in seen), f"{name}: no probe seen in {count} samples"
        leaks = [v[:4] + "…" for v in values if any(v in line for line in seen)]
        assert leaks == [], f"{name}: secrets in the process list"


def test_unreachable_host_is_reported_with_host_task_and_reason(
    first_deploy: Deployed, deploy_env: Env, tmp_path: Path
) -> None:
    """A deploy of one service (the test service, on every host) with the first host out of
    reach: the other hosts are not converged with its wrong address (their firewalls and relays
    would then refuse the real one for the modules after this one)."""
    broken, victim = _with_first_host_unreachable(deploy_env, tmp_path)
    result = bastide("deploy", str(broken), "--service", TEST_SERVICE, "--json", env=deploy_env, check=False)
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    [failure] = [f for f in summary["failures"] if f["host"] == victim["name"]]
    assert failure["unreachable"]
    assert failure["task"]
    assert failure["reason"]
    others = [name for name in summary["hosts"] if name != victim["name"]]
    assert all(summary["hosts"][name]["failures"] == 0 for name in others)


def test_bad_inventory_stops_before_any_connection(deploy_env: Env, tmp_path: Path) -> None:
    broken = tmp_path / "inventory"
    shutil.copytree(deploy_env["BASTIDE_INVENTORY"], broken)
    data = yaml.safe_load((broken / "syndicat.yml").read_text())
    data["settings"]["hardening_level"] = "extreme"
    (broken / "syndicat.yml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    runs = Path(deploy_env["BASTIDE_STATE_DIR"]) / "runs"
    before = set(runs.iterdir()) if runs.exists() else set()
    result = bastide("deploy", str(broken), env=deploy_env, check=False)
    assert result.returncode == 2
    assert "hardening_level" in result.stderr
    assert (set(runs.iterdir()) if runs.exists() else set()) == before, "no run was started"


def test_mail_from_a_deployed_host_reaches_the_syndicat_relay(
    first_deploy: Deployed, deploy_env: Env, smtp_sink: Any
) -> None:
    inventory = load(Path(deploy_env["BASTIDE_INVENTORY"]))
    target = inventory.hosts[0]
    subject = f"bastide mail test {uuid.uuid4()}"
    sent = admin_host(deploy_env, target.name).run(
        f"printf 'Subject: {subject}\\n\\nsent by the deploy test\\n' | /usr/sbin/sendmail -t root"
    )
    assert sent.rc == 0, sent.stderr
    message = smtp_sink.wait_for(lambda m: m.get("Subject") == subject, timeout=60)
    # Relayed by the host's loopback-only postfix to the relay of the inventory (in the lab, the
    # sink), addressed to the syndicat's contact (root's alias, role base).
    assert message["X-RcptTo"] == inventory.syndicat.contact_email
    assert target.address in message["X-Peer"]


def test_deployed_host_passes_anssi_bp28_intermediary(
    first_deploy: Deployed, deploy_env: Env, tmp_path: Path
) -> None:
    """OpenSCAP on a deployed host: every failing rule is waived, with its reason."""
    inventory_dir = deploy_env["BASTIDE_INVENTORY"]
    host = load(Path(inventory_dir)).hosts[0].name
    results = str(tmp_path)
    args = ("compliance", inventory_dir, host, "--json", "--results-dir", results)
    result = bastide(*args, env=deploy_env, check=False)
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["unwaived"] == []
    assert report["openscap"]["counts"].get("pass", 0) > 100
    assert report["lynis"]["hardening_index"] > 0


def test_no_secret_value_in_any_log_or_output(first_deploy: Deployed, deploy_env: Env) -> None:
    """Every secret of the keyring, searched for in every file the module's runs left (deploys,
    plans, verifies, compliance) and in the output. Runs last."""
    assert_no_secret_leaked(deploy_env, [first_deploy["result"].stdout, first_deploy["result"].stderr])
