"""The progress callback, run inside a real ansible-playbook on the controller itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bastide.core.ansible.events import RunSummary
from bastide.core.ansible.runner import ansible_command
from bastide.paths import ansible_plugins_dir, mitogen_strategy_dir

SECRET = "s3cr3t-value-that-must-not-leak-9f2c"

PLAYBOOK = f"""
- hosts: local
  gather_facts: false
  tasks:
    - name: Something that changes
      ansible.builtin.command: /bin/true
      changed_when: true
    - name: Something that does not change
      ansible.builtin.command: /bin/true
      changed_when: false
    - name: Loop over communes
      ansible.builtin.command: /bin/true
      changed_when: item.slug == 'ours-les-bains'
      loop: [{{slug: ours-les-bains}}, {{slug: val-d-ours}}]
    - name: Handle a secret
      ansible.builtin.command: "echo {SECRET}"
      no_log: true
      changed_when: false
    - name: A secret task that fails
      ansible.builtin.command: "sh -c 'echo {SECRET}; exit 3'"
      no_log: true
      ignore_errors: true
    - name: Fail on purpose
      ansible.builtin.fail:
        msg: the disk is full on purpose
"""


# Deploys run under Mitogen's strategy (templates/ansible.cfg.j2); Ansible's own is what
# ANSIBLE_STRATEGY=linear falls back to. The callback must report the same under both.
@pytest.fixture(scope="module", params=["mitogen_linear", "linear"])
def run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[RunSummary, Path, str]:
    work = tmp_path_factory.mktemp("events")
    (work / "play.yml").write_text(PLAYBOOK)
    (work / "hosts.ini").write_text(
        f"[local]\nlab-controller ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    )
    events = work / "events.jsonl"
    env = dict(
        os.environ,
        ANSIBLE_CALLBACK_PLUGINS=str(ansible_plugins_dir() / "callback"),
        ANSIBLE_CALLBACKS_ENABLED="bastide_events",
        BASTIDE_EVENTS_FILE=str(events),
        ANSIBLE_LOCAL_TEMP=str(work / "tmp"),
        ANSIBLE_STRATEGY_PLUGINS=str(mitogen_strategy_dir()),
        ANSIBLE_STRATEGY=request.param,
    )
    result = subprocess.run(
        [ansible_command("ansible-playbook"), "-i", str(work / "hosts.ini"), str(work / "play.yml")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    summary = RunSummary(kind="test", run_dir=work)
    for line in events.read_text().splitlines():
        summary.apply(json.loads(line))
    summary.returncode = result.returncode
    return summary, events, result.stdout + result.stderr


def test_counts_per_host(run: tuple[RunSummary, Path, str]) -> None:
    summary, _, _ = run
    stats = summary.hosts["lab-controller"]
    assert summary.finished
    # the changing task, the loop whose one item changed, and the ignored failing command
    # (Ansible counts a failed command as changed)
    assert stats.changed == 3
    assert stats.failures == 1
    assert stats.ignored == 1
    assert not summary.ok


def test_failure_names_host_task_and_reason(run: tuple[RunSummary, Path, str]) -> None:
    summary, _, _ = run
    [failure] = [f for f in summary.failures if f.task == "Fail on purpose"]
    assert failure.host == "lab-controller"
    assert "the disk is full on purpose" in failure.reason


def test_loop_changes_are_attributed_to_the_commune(run: tuple[RunSummary, Path, str]) -> None:
    summary, _, _ = run
    assert [c.task for c in summary.changes_for("lab-controller", "ours-les-bains")] == ["Loop over communes"]
    assert summary.changes_for("lab-controller", "val-d-ours") == []


def test_no_log_values_never_reach_events(run: tuple[RunSummary, Path, str]) -> None:
    _, events, _ = run
    assert SECRET not in events.read_text()
    [ignored] = [
        e
        for e in map(json.loads, events.read_text().splitlines())
        if e.get("task") == "A secret task that fails" and e["event"] == "result"
    ]
    assert ignored["status"] == "ignored"
    assert "hidden" in ignored["message"]


def test_ansible_errors_are_picked_from_the_log(tmp_path: Path) -> None:
    """A run that stopped before any host result (a missing role) still says why."""
    from bastide.core.ansible.runner import ansible_errors

    log = tmp_path / "ansible.log"
    log.write_text(
        "$ ansible-playbook site.yml\n"
        "[ERROR]: the role 'firewall' was not found in /roles\n"
        "Origin: /playbooks/site.yml:11:7\n"
        "\n"
        "11     - role: firewall\n"
    )
    errors = ansible_errors(log)
    assert errors[0] == "[ERROR]: the role 'firewall' was not found in /roles"
    assert "Origin: /playbooks/site.yml:11:7" in errors
    assert "" not in errors
    log.write_text("something else went wrong\n")
    assert ansible_errors(log) == ["something else went wrong"]


def test_ansible_runs_with_bastides_own_tools_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ansible-playbook and testinfra start ansible-inventory by name: bastide's must win, even
    when its environment is not on PATH."""
    from bastide.core.ansible.runner import ansible_env

    tools = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", f"/usr/bin:{tools}:/bin")
    assert ansible_env(tmp_path)["PATH"].split(os.pathsep) == [tools, "/usr/bin", "/bin"]


def test_runs_are_configured_for_mitogens_strategy(tmp_path: Path) -> None:
    """The rendered configuration selects ``mitogen_linear`` from the installed mitogen."""
    import configparser
    import shutil

    from bastide.core.ansible.runner import write_run_files
    from bastide.core.inventory import load

    inventory = tmp_path / "inventory"
    shutil.copytree(Path(__file__).resolve().parents[2] / "inventories" / "demo", inventory)
    control_dir = write_run_files(tmp_path, load(inventory), {}, forks=5)
    shutil.rmtree(control_dir)
    config = configparser.ConfigParser(interpolation=None)
    config.read(tmp_path / "ansible.cfg")
    assert config["defaults"]["strategy"] == "mitogen_linear"
    assert (Path(config["defaults"]["strategy_plugins"]) / "mitogen_linear.py").is_file()
