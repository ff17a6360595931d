"""Backups without a lab: the writer's bucket policy, the inventory's Object Lock rules, the
keys that never leave the controller, and what the roles receive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bastide.core.ansible.render import render
from bastide.core.backup import credentials, policy
from bastide.core.inventory import load
from bastide.core.keys import KdfParams, Keyring, PassphraseOperator, fetch, serve
from inventory_edits import DEMO, copy_demo, edit, problems

WRITER, MAINTAINER = policy.user_arn("b-ours-writer"), policy.user_arn("b-ours-maintainer")


def _statements(document: dict[str, Any], effect: str) -> list[dict[str, Any]]:
    return [s for s in document["Statement"] if s["Effect"] == effect]


def test_the_writer_is_denied_everything_that_destroys_or_loosens() -> None:
    document = policy.bucket_policy("b-ours", WRITER, MAINTAINER)
    (deny,) = _statements(document, "Deny")
    assert deny["Principal"] == {"AWS": [WRITER]}, "never deny the owner: Deny binds it on RGW"
    for action in ("s3:DeleteObjectVersion", "s3:PutBucketVersioning", "s3:PutObjectRetention",
                   "s3:PutBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration",
                   "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:DeleteBucket"):  # fmt: skip
        assert action in deny["Action"]
    writers = [s for s in _statements(document, "Allow") if s["Principal"] == {"AWS": [WRITER]}]
    allowed = {action for statement in writers for action in statement["Action"]}
    assert not allowed & set(deny["Action"])
    (delete,) = [s for s in _statements(document, "Allow") if s["Action"] == ["s3:DeleteObject"]]
    assert delete["Resource"] == ["arn:aws:s3:::b-ours/locks/*"], "plain deletes of restic's locks only"


def test_providers_that_ignore_deny_get_an_allow_list_only() -> None:
    document = policy.bucket_policy("b-ours", WRITER, MAINTAINER, allow_only=True)
    assert not _statements(document, "Deny")
    writer = {a for s in document["Statement"] if s["Principal"] == {"AWS": [WRITER]} for a in s["Action"]}
    assert "s3:DeleteObjectVersion" not in writer and "s3:PutBucketPolicy" not in writer


def test_a_policy_read_back_in_another_shape_is_the_same() -> None:
    document = policy.bucket_policy("b-ours", WRITER, MAINTAINER)
    reshaped = {
        "Statement": [
            {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in reversed(s.items())}
            for s in document["Statement"]
        ],
        "Version": "2012-10-17",
    }
    assert policy.same(reshaped, document)
    assert not policy.same(policy.bucket_policy("b-ours", WRITER, MAINTAINER, allow_only=True), document)


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    return copy_demo(tmp_path)


def test_a_target_without_object_lock_is_refused(inv: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["residency"]["providers"].append("cloud-temple")
        data["residency"]["regions"].append("fr1")
        data["backup_targets"][0].update(provider="cloud-temple", region="fr1")

    edit(inv / "syndicat.yml", change)
    (found,) = problems(inv)
    assert found.field == "backup_targets[0].provider" and "Object Lock" in found.message
    assert "ovhcloud" in found.fix and found.line


def test_a_mode_or_a_retention_the_provider_lacks_is_refused(inv: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["backup_targets"][0].update(provider="outscale", region="eu-west-2", lock_mode="GOVERNANCE",
                                         retention_days=40000)  # fmt: skip

    edit(inv / "syndicat.yml", change)
    found = {p.field: p for p in problems(inv)}
    assert set(found) == {"backup_targets[0].lock_mode", "backup_targets[0].retention_days"}
    assert "COMPLIANCE" in found["backup_targets[0].lock_mode"].fix
    assert "36500" in found["backup_targets[0].retention_days"].fix


def test_snapshots_are_kept_at_least_as_long_as_they_are_locked(inv: Path) -> None:
    from bastide.core.backup import buckets

    assert buckets.target_of(load(inv), "ours-les-bains").keep_days == 30, "by default, the lock's days"
    edit(inv / "syndicat.yml", lambda d: d["backup_targets"][0].update(retention_days=60, keep_days=45))
    (found,) = problems(inv)
    assert found.field == "backup_targets[0].keep_days" and found.line
    assert "60" in found.fix
    edit(inv / "syndicat.yml", lambda d: d["backup_targets"][0].update(keep_days=365))
    assert buckets.target_of(load(inv), "ours-les-bains").keep_days == 365


def test_a_commune_bucket_name_too_long_is_refused(inv: Path) -> None:
    edit(inv / "syndicat.yml", lambda d: d["backup_targets"][0].update(bucket="b" * 45))
    found = problems(inv)
    assert {Path(p.file).name for p in found} >= {"saint-aubin-des-combes.yml"}
    assert all(p.field == "backup_target" and "63" in p.message for p in found)


def test_the_roles_get_each_communes_own_bucket_and_repository() -> None:
    rendered = render(load(DEMO))
    for host in rendered["all"]["hosts"].values():
        for commune in host["bastide_communes"]:
            backup = commune["backup"]
            assert backup["bucket"] == f"vallee-ours-sauvegardes-{commune['slug']}"
            assert backup["repository"] == f"s3:https://s3.gra.io.cloud.ovh.net/{backup['bucket']}"
            assert backup["lock_mode"] == "COMPLIANCE" and backup["retention_days"] == 30


def test_the_maintainer_and_account_keys_never_leave_the_controller(tmp_path: Path) -> None:
    fast = KdfParams("argon2id", iterations=1, lanes=1, memory_kib=8)
    ring = Keyring.create(tmp_path / "inv", PassphraseOperator("alice", "correct horse battery staple", fast))
    pair = credentials.KeyPair("BKW0123456789ABCDEFG", "s" * 40)
    credentials.put(ring, "ours-les-bains", credentials.WRITER, pair)
    credentials.put(ring, "ours-les-bains", credentials.MAINTAINER, pair)
    credentials.put(ring, "_syndicat", credentials.account_name("principal"), pair)
    assert "s" * 40 not in repr(pair)
    with serve(ring) as env:
        assert credentials.KeyPair.from_bytes(fetch("ours-les-bains", credentials.WRITER, env)) == pair
        never = (("ours-les-bains", credentials.MAINTAINER), ("_syndicat", "s3-account-principal"))
        for scope, name in never:
            with pytest.raises(LookupError, match="controller-only"):
                fetch(scope, name, env)
    assert credentials.get(ring, "ours-les-bains", credentials.MAINTAINER) == pair


def test_the_identity_host_backs_up_every_communes_people_into_its_repository() -> None:
    """Each commune's branch of the directory goes into that commune's repository, from the
    identity host: beside the services of the communes it serves, alone for the others."""
    import jinja2
    import yaml

    inventory = load(DEMO)
    assert inventory.identity is not None
    hosts = render(inventory)["all"]["hosts"]
    identity = hosts[inventory.identity.host]
    served = [c["slug"] for c in identity["bastide_communes"]]
    others = [c["slug"] for c in identity["bastide_backup_only"]]
    assert sorted(served + others) == sorted(c.slug for c in inventory.communes) and others
    for name, host in hosts.items():
        if name != inventory.identity.host:
            assert "bastide_backup_only" not in host
            assert all("backup_extra" not in c for c in host["bastide_communes"])
    defaults = yaml.safe_load((DEMO.parents[1] / "roles" / "backup" / "defaults" / "main.yml").read_text())
    template = jinja2.Environment().from_string(defaults["backup_communes"])
    running = {n for c in identity["bastide_communes"] for n in c["services"]}
    contracts = {n: {"data": {"directories": ["/srv/{commune}"]}} for n in running}
    plans = {p["slug"]: p for p in yaml.safe_load(template.render(**identity, bastide_services=contracts))}
    assert set(plans) == set(served + others)
    for slug, plan in plans.items():
        names = [s["name"] for s in plan["services"]]
        assert names.count("directory") == 1 and (len(names) > 1) == (slug in served), (slug, names)
        entries, sessions = next(s for s in plan["services"] if s["name"] == "directory")["exports"]
        branch = f"ou={slug},ou=communes,{inventory.identity.base_dn}"
        assert f"ldap:///{branch}??sub" in entries["command"] and f"'{branch}'" in entries["restore"]
        assert "bastide-portal-sessions export" in sessions["command"]
        assert f"'{branch}'" in sessions["restore"]


def _host_tool(role: str, name: str) -> Any:
    import importlib.machinery
    import importlib.util

    path = DEMO.parents[1] / "roles" / role / "files" / name
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"), str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    tool = importlib.util.module_from_spec(spec)
    loader.exec_module(tool)
    return tool


def test_a_communes_people_keep_their_second_factors_through_a_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The portal's persistent sessions (TOTP enrolments) of the branch's people only are
    exported; a restore writes them back as they were and drops those made since."""
    import json

    tool = _host_tool("sso", "bastide-portal-sessions")
    sessions = tmp_path / "psessions"
    (sessions / "lock").mkdir(parents=True)
    monkeypatch.setattr(tool, "PSESSIONS", sessions)
    monkeypatch.setattr(tool, "people", lambda base, branch: {"marie", "paul"})
    for name, uid in (("a1", "marie"), ("b2", "voisin"), ("c3", "paul")):
        (sessions / name).write_text(json.dumps({"_session_uid": uid, "_2fDevices": f"[totp {uid}]"}))
    branch = "ou=ours,ou=communes,dc=x"
    assert tool.export("dc=x", branch) == 0
    exported = capsys.readouterr().out
    backup = tmp_path / "portal-sessions.txt"
    backup.write_text(exported)
    blocks = exported.split("\n\n")
    assert blocks[0] == f"branch: {branch}"
    assert [b.split("\n")[0] for b in blocks[1:]] == ["file: a1", "file: c3"], "the branch's people only"
    (sessions / "a1").write_text(json.dumps({"_session_uid": "marie", "_2fDevices": "[]"}))  # lost her TOTP
    (sessions / "c3").unlink()
    (sessions / "d4").write_text(json.dumps({"_session_uid": "paul", "_2fDevices": "[new]"}))
    assert tool.restore("dc=x", branch, backup) == 0
    assert sorted(p.name for p in sessions.iterdir() if p.is_file()) == ["a1", "b2", "c3"]
    assert "[totp marie]" in (sessions / "a1").read_text(), "her TOTP app as enrolled"
    assert "[totp voisin]" in (sessions / "b2").read_text(), "another commune's people untouched"
    backup.write_text("branch: ou=other,ou=communes,dc=x\n")
    with pytest.raises(tool.Failed):
        tool.restore("dc=x", branch, backup)


def test_a_communes_branch_restored_keeps_every_other_branch() -> None:
    """bastide-directory-restore rebuilds the database from the other branches as they are now
    and the commune's as backed up; an LDIF that strays out of the branch is refused."""
    tool = _host_tool("directory", "bastide-directory-restore")
    branch = "ou=ours,ou=communes,dc=x"
    assert tool.within("uid=a,ou=people,OU=ours,ou=communes,dc=x", branch) and tool.within(branch, branch)
    assert not tool.within("uid=a,ou=people,ou=bours,ou=communes,dc=x", branch)
    assert not tool.within("ou=communes,dc=x", branch)
    encoded = "dWlkPcOpLG91PW91cnMsb3U9Y29tbXVuZXMsZGM9eA=="  # uid=é,ou=ours,...: LDIF's base64
    found = tool.entries(f"dn: ou=ours,ou=communes,dc=x\nou: ours\n\n\ndn:: {encoded}\nuid: x\n")
    assert [tool.dn_of(e) for e in found] == [branch, "uid=é,ou=ours,ou=communes,dc=x"]
