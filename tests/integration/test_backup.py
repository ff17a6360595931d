"""Backups on the deployed lab, against the lab's Ceph RGW (S3 with Object Lock).

A backup holds every service of a commune with its manifest; a stolen writer key (the one on
the server) destroys nothing and loosens nothing; a file an agent deleted comes back byte for
byte; a database dump that fails makes no snapshot and a failed status; a drill restores every
service aside, as recorded, and times it; retention runs from the controller only; the report
reads in a browser; a tampered pack is found by the check and fails the drill; one commune's
keys open nothing of another's. The commune's people are backed up from the identity host: the
directory's branch restored brings back the passwords they had, and leaves the other
communes' people as they are.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lab_browser import ARTIFACTS, Browser, change_password, lab_names, one_time_password, request, site
from lab_fixtures import Env, admin_host, bastide, private_keyring

pytestmark = pytest.mark.usefixtures("converged")

OURS = "ours-les-bains"  # drive, calendars and booking (a database)
OTHER = "anse-aux-ours"
# A commune that moved away from its host (planted before a deploy, which must forget it).
GONE = "ours-partie-ailleurs"
DRIVE = "/var/lib/bastide-drive"
PSESSIONS = "/var/lib/lemonldap-ng/psessions"
YEAR_AGO = "2025-12-01 00:00:00"
RUN = int(time.time())


def _inventory(env: Env) -> Any:
    from bastide.core.inventory import load

    return load(Path(env["BASTIDE_INVENTORY"]))


def _target(env: Env, slug: str) -> Any:
    from bastide.core.backup import buckets

    return buckets.target_of(_inventory(env), slug)


def _client(env: Env, slug: str, role: str, of: str | None = None) -> Any:
    """A boto3 client on ``of``'s bucket's endpoint with ``slug``'s ``role`` key."""
    from bastide.core.backup import credentials, s3

    key = credentials.get(private_keyring(env), slug, credentials.ROLES[role])
    assert key is not None, f"no {role} key for {slug}"
    target = _target(env, of or slug)
    return s3.client(target.endpoint, target.region, key)


def _backed_up_services(env: Env, slug: str) -> set[str]:
    """The commune's services, and its people (the identity host's directory)."""
    return {*_inventory(env).commune(slug).services, "directory"}


def _host(env: Env, slug: str) -> Any:
    return admin_host(env, _inventory(env).commune(slug).host)


def _snapshots(env: Env, slug: str, service: str) -> list[dict[str, Any]]:
    host = _host(env, slug)
    with host.sudo():
        found = host.check_output(f"/usr/local/sbin/bastide-backup snapshots {slug} --service {service}")
    return list(json.loads(found))


def _denied(call: Any) -> str:
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "ALLOWED"


@pytest.fixture(scope="module")
def backed_up(deploy_env: Env) -> dict[str, Any]:
    """One backup of OURS made now, through its systemd unit. Each commune's test service has
    been visited first: its visits log sits in systemd's DynamicUser= state, behind a symlink."""
    for slug in (OURS, OTHER):
        status, _, _ = request(deploy_env, "GET", site(deploy_env, slug, "whoami") + "/public/backup")
        assert status == 200, (slug, status)
    result = bastide("backup", "run", deploy_env["BASTIDE_INVENTORY"], OURS, "--json", env=deploy_env)
    return dict(json.loads(result.stdout))


def test_init_again_changes_nothing_and_proves_the_writer_limits(deploy_env: Env) -> None:
    result = bastide("backup", "init", deploy_env["BASTIDE_INVENTORY"], "--json", env=deploy_env)
    communes = json.loads(result.stdout)["communes"]
    assert {c["commune"] for c in communes} == {c.slug for c in _inventory(deploy_env).communes}
    for commune in communes:
        assert commune["done"] == [], commune
        assert commune["proven"] and all(commune["proven"].values()), commune


def test_a_backup_holds_every_service_of_the_commune(deploy_env: Env, backed_up: dict[str, Any]) -> None:
    services = _backed_up_services(deploy_env, OURS)
    assert backed_up["ok"], backed_up
    assert set(backed_up["services"]) == services
    assert backed_up["services"]["directory"]["records"]["directory.ldif"] > 3, "the branch and its people"
    drive = backed_up["services"]["drive"]
    assert drive["files"] > 0
    booking = backed_up["services"]["rdv"]["tables"][f"{OURS.replace('-', '_')}_rdv"]
    assert booking, "the booking's database has tables"
    for name in services:
        found = _snapshots(deploy_env, OURS, name)
        snapshot = backed_up["services"][name]["snapshot"]  # restic's short id
        assert any(s["id"].startswith(snapshot) for s in found), (snapshot, found)


def test_a_stolen_writer_key_destroys_nothing(deploy_env: Env, backed_up: dict[str, Any]) -> None:
    bucket = _target(deploy_env, OURS).bucket
    writer = _client(deploy_env, OURS, "writer")
    maintainer = _client(deploy_env, OURS, "maintainer")
    versions = maintainer.list_object_versions(Bucket=bucket)["Versions"]
    data = [v for v in versions if v["Key"].startswith("data/")]
    assert data, "the backup wrote packs"
    attempts = {
        "delete every version": lambda: [
            writer.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"]) for v in versions
        ],
        "delete a pack (delete marker)": lambda: writer.delete_object(Bucket=bucket, Key=data[0]["Key"]),
        "shorten a pack's retention": lambda: writer.put_object_retention(
            Bucket=bucket, Key=data[0]["Key"], VersionId=data[0]["VersionId"],
            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": "2000-01-01T00:00:00Z"},
        ),
        "shorten the default retention": lambda: writer.put_object_lock_configuration(
            Bucket=bucket,
            ObjectLockConfiguration={"ObjectLockEnabled": "Enabled",
                                     "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}},
        ),
        "suspend versioning": lambda: writer.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Suspended"}
        ),
        "replace the policy": lambda: writer.put_bucket_policy(
            Bucket=bucket,
            Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": "*", "Action": "s3:*",
                "Resource": f"arn:aws:s3:::{bucket}/*"}]}),
        ),
        "delete the policy": lambda: writer.delete_bucket_policy(Bucket=bucket),
        "expire everything": lambda: writer.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={"Rules": [{"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""},
                                               "Expiration": {"Days": 1},
                                               "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]},
        ),
        "delete the bucket": lambda: writer.delete_bucket(Bucket=bucket),
    }  # fmt: skip
    outcomes = {name: _denied(call) for name, call in attempts.items()}
    assert all(code == "AccessDenied" for code in outcomes.values()), outcomes
    after = maintainer.list_object_versions(Bucket=bucket)
    # restic's own lock files are the only thing the writer may delete (a delete marker each).
    markers = [m["Key"] for m in after.get("DeleteMarkers", []) if not m["Key"].startswith("locks/")]
    assert len(after["Versions"]) >= len(versions) and markers == [], "nothing was deleted"
    # The maintainer key cannot delete a locked version either: COMPLIANCE holds against the owner.
    pack = {"Bucket": bucket, "Key": data[0]["Key"], "VersionId": data[0]["VersionId"]}
    assert _denied(lambda: maintainer.delete_object(**pack)) == "AccessDenied"
    retention = maintainer.get_object_retention(**pack)
    assert retention["Retention"]["Mode"] == "COMPLIANCE"


def test_a_deleted_drive_file_comes_back_byte_for_byte(deploy_env: Env) -> None:
    host = _host(deploy_env, OURS)
    relative = f"services/urbanisme/backup-{os.getpid()}.bin"
    path = f"{DRIVE}/{OURS}/files/{relative}"
    with host.sudo():
        owner = host.file(f"{DRIVE}/{OURS}/files/services/urbanisme").user
        quoted = shlex.quote(path)
        host.check_output(f"head -c 300000 /dev/urandom > {quoted} && chown {owner}: {quoted}")
        digest = host.file(path).sha256sum
    bastide("backup", "run", deploy_env["BASTIDE_INVENTORY"], OURS, env=deploy_env)
    with host.sudo():
        host.check_output(f"rm {path}")
        assert not host.file(path).exists
    inventory = deploy_env["BASTIDE_INVENTORY"]
    own = _inventory(deploy_env).commune(OURS).host
    elsewhere = next(h.name for h in _inventory(deploy_env).hosts if h.name != own)
    # Onto a host the inventory does not put the commune on: refused, nothing restored there.
    refused = bastide("restore", inventory, OURS, "--to", elsewhere, env=deploy_env, check=False)
    said = " ".join((refused.stderr + refused.stdout).split())
    assert refused.returncode == 2 and f"host: {elsewhere}" in said, said
    with host.sudo():
        assert not host.file(path).exists
    asked = ["--service", "drive", "--path", relative, "--to", own, "--json"]
    result = bastide("restore", inventory, OURS, *asked, env=deploy_env)
    report = json.loads(result.stdout)["services"]["drive"]
    assert report["identical"] and report["files"] == 1, report
    with host.sudo():
        assert host.file(path).sha256sum == digest
        assert host.file(path).user == owner


def test_a_service_restored_whole_matches_its_manifest(deploy_env: Env, backed_up: dict[str, Any]) -> None:
    """The booking (its database) and the calendars (their files), each back from its newest
    snapshot: every table's row count and every file as the manifest recorded them."""
    reports = {}
    for service in ("rdv", "calendars"):
        result = bastide("restore", deploy_env["BASTIDE_INVENTORY"], OURS, "--service", service, "--json",
                         env=deploy_env)  # fmt: skip
        reports[service] = json.loads(result.stdout)["services"][service]
        assert reports[service]["identical"], reports[service]
    assert reports["rdv"]["tables"] > 5 and reports["calendars"]["files"] > 0
    host = _host(deploy_env, OURS)
    assert host.service(f"bastide-rdv@{OURS}.service").is_running, "the booking is back up"
    assert host.service(f"bastide-rdv-jobs@{OURS}.timer").is_running, "and its jobs"


def _person(env: Env, slug: str, but: tuple[str, ...] = ()) -> str:
    agents = reversed(_inventory(env).commune(slug).agents)
    return next(a.login for a in agents if not a.disabled and a.login not in but)


def _basic(env: Env, slug: str, login: str, password: str) -> int:
    status, _, _ = request(env, "GET", site(env, slug, "whoami") + "/dav/", auth=(login, password))
    return status


def _portal_session(host: Any, login: str) -> tuple[str, str]:
    """The person's persistent session on the portal (their second factors): its file, its sha256."""
    with host.sudo():
        found = host.check_output(f"grep -rlE '\"_session_uid\": ?\"{login}\"' {PSESSIONS}").split()
        assert len(found) == 1, found
        return found[0], host.file(found[0]).sha256sum


def test_the_directory_restored_brings_back_the_passwords_people_had(deploy_env: Env) -> None:
    """An agent's password at the backup works again once their commune's branch is restored,
    the one set since does not, and their persistent session on the portal (where their TOTP
    apps are enrolled) is back as it was; another commune's person keeps the password set
    meanwhile (its branch is kept as it is). Neither password was tried over Basic before the
    restore: the sign-on handler's cache plays no part."""
    inventory = deploy_env["BASTIDE_INVENTORY"]
    found = _inventory(deploy_env)
    assert found.identity is not None and found.identity.host == found.commune(OURS).host
    people = _host(deploy_env, OURS)  # the identity host
    ours, other = _person(deploy_env, OURS), _person(deploy_env, OTHER, but=("joel.saint-prix",))
    backed, since, kept = f"Sauvegarde-{RUN}-Avant", f"Sauvegarde-{RUN}-Depuis", f"Voisine-{RUN}-Gardee"
    with lab_names(deploy_env):
        change_password(deploy_env, OURS, ours, one_time_password(deploy_env, OURS, ours), backed)
        run = json.loads(bastide("backup", "run", inventory, OURS, "--json", env=deploy_env).stdout)
        assert run["ok"] and run["services"]["directory"]["ok"], run
        assert run["services"]["directory"]["records"]["portal-sessions.txt"] >= 2, "the agent's session"
        session = _portal_session(people, ours)
        with people.sudo():
            people.check_output(f"rm {session[0]}")  # their second factors lost
        # As after a forgotten password: a one-time password given, a new one chosen.
        change_password(deploy_env, OURS, ours, one_time_password(deploy_env, OURS, ours), since)
        change_password(deploy_env, OTHER, other, one_time_password(deploy_env, OTHER, other), kept)
        result = bastide("restore", inventory, OURS, "--service", "directory", "--json", env=deploy_env)
        report = json.loads(result.stdout)["services"]["directory"]
        assert report["identical"] and report["records"] > 3, report
        assert _portal_session(people, ours) == session, "their portal session as it was at the backup"
        assert _basic(deploy_env, OURS, ours, backed) == 200, "the password of the backup"
        assert _basic(deploy_env, OURS, ours, since) == 401, "the password set after the backup"
        assert _basic(deploy_env, OTHER, other, kept) == 200, "another commune's people are untouched"


@pytest.fixture()
def database_stopped(deploy_env: Env) -> Iterator[None]:
    host = _host(deploy_env, OURS)
    with host.sudo():
        host.check_output("systemctl stop postgresql@15-main.service")
    try:
        yield
    finally:
        with host.sudo():
            host.check_output("systemctl start postgresql@15-main.service")
        # Green again for what follows (verify's last-backup check).
        bastide("backup", "run", deploy_env["BASTIDE_INVENTORY"], OURS, env=deploy_env)


def test_a_failed_dump_makes_no_snapshot_and_a_failed_status(deploy_env: Env, database_stopped: None) -> None:
    before = {s["id"] for s in _snapshots(deploy_env, OURS, "rdv")}
    inventory = deploy_env["BASTIDE_INVENTORY"]
    result = bastide("backup", "run", inventory, OURS, "--json", env=deploy_env, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    record = json.loads(result.stdout)
    assert not record["ok"] and not record["services"]["rdv"]["ok"]
    assert "pg_dump" in record["services"]["rdv"]["error"]
    assert record["services"]["drive"]["ok"], "the other services are still backed up"
    host = _host(deploy_env, OURS)
    with host.sudo():
        host.check_output("systemctl start postgresql@15-main.service")
    assert {s["id"] for s in _snapshots(deploy_env, OURS, "rdv")} == before, "no snapshot of the failed dump"
    status = bastide("backup", "status", deploy_env["BASTIDE_INVENTORY"], "--commune", OURS, "--json",
                     env=deploy_env, check=False)  # fmt: skip
    assert status.returncode == 1
    assert "last-backup-failed" in json.loads(status.stdout)["communes"][0]["problems"]


@pytest.fixture(scope="module")
def drilled(deploy_env: Env, backed_up: dict[str, Any]) -> dict[str, Any]:
    result = bastide("backup", "drill", deploy_env["BASTIDE_INVENTORY"], OURS, "--json", env=deploy_env)
    return dict(json.loads(result.stdout))


def test_a_drill_restores_every_service_aside_as_recorded_and_times_it(
    deploy_env: Env, drilled: dict[str, Any]
) -> None:
    services = _backed_up_services(deploy_env, OURS)
    assert drilled["ok"] and set(drilled["services"]) == services, drilled
    assert drilled["services"]["directory"]["records"] > 3
    assert all(info["identical"] for info in drilled["services"].values()), drilled
    assert drilled["services"]["drive"]["files"] > 0 and drilled["services"]["rdv"]["tables"] > 5
    assert drilled["services"]["whoami"]["files"] > 0, "state behind a DynamicUser= symlink"
    # Each figure is rounded to a tenth: the sum of the rounded parts may pass the rounded whole.
    parts = [info["seconds"] for info in drilled["services"].values()]
    assert drilled["rto_seconds"] + 0.05 * len(parts) >= sum(parts) > 0
    recorded = json.loads((Path(deploy_env["BASTIDE_INVENTORY"]) / "backups" / f"{OURS}.json").read_text())
    assert recorded["last_drill"]["rto_seconds"] == drilled["rto_seconds"]
    # Aside: the live services ran on, and nothing of the drill is left on the host.
    host = _host(deploy_env, OURS)
    assert host.service(f"bastide-drive@{OURS}.service").is_running
    with host.sudo():
        databases = host.check_output("runuser -u postgres -- psql -XAtc 'SELECT datname FROM pg_database'")
        left = host.check_output("ls /var/lib/bastide-backup")
    assert "bastide_drill_" not in databases and "drill-" not in left, (databases, left)


def _host_status(host: Any) -> dict[str, Any]:
    with host.sudo():
        return dict(json.loads(host.check_output(f"/usr/local/sbin/bastide-backup status {OURS}")))


def test_a_backup_due_during_a_deploy_waits_for_it(deploy_env: Env, backed_up: dict[str, Any]) -> None:
    """The mark is the one every deploy's first task leaves on a host (roles/backup/tasks/
    hold.yml) and its last task removes: no deploy left one, and a backup started while one is
    there waits (the nightly timer's unit, started as the timer starts it), then runs."""
    marker, unit = "/run/lock/bastide-deploy", f"bastide-backup@{OURS}.service"
    for name in {h.name for h in _inventory(deploy_env).hosts}:
        assert not admin_host(deploy_env, name).file(marker).exists, f"the deploy left its mark on {name}"
    host = _host(deploy_env, OURS)
    before = _host_status(host)["started"]
    with host.sudo():
        host.check_output(f"touch {marker}")
        try:
            host.check_output(f"systemctl start --no-block {unit}")
            invocation = host.check_output(f"systemctl show -p InvocationID --value {unit}")
            said = ""
            for _ in range(60):
                said = host.check_output(f"journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID={invocation}")
                if "waiting for the deploy" in said:
                    break
                time.sleep(1)
            assert "waiting for the deploy" in said, said
            assert host.check_output(f"systemctl show -p ActiveState --value {unit}") == "activating"
            assert _host_status(host)["started"] == before, "nothing copied while the deploy runs"
        finally:
            host.check_output(f"rm -f {marker}")
        for _ in range(300):
            if host.check_output(f"systemctl show -p ActiveState --value {unit}") != "activating":
                break
            time.sleep(1)
    after = _host_status(host)
    assert after["started"] != before and after["ok"], after
    assert after["waited_for_deploy"] >= 15, after


def test_retention_forgets_old_snapshots_from_the_controller_only(deploy_env: Env) -> None:
    """A snapshot older than the target's keep_days (made so with restic's --time, as the
    server's writer would have made it a year ago) is forgotten by `backup prune` with the
    maintainer key; the server's own key may not forget it; the newest stay."""
    host = _host(deploy_env, OURS)
    writer = f"set -a && . /etc/bastide-backup/{OURS}.env && set +a && restic --no-cache"
    with host.sudo():
        backup = f" backup --json --host {OURS} --tag bastide --tag service:drive --time '{YEAR_AGO}'"
        made = host.check_output("sh -c " + shlex.quote(f"{writer}{backup} /etc/hostname"))
        # restic 0.14's summary gives the short id (its first 8 characters).
        old = next(json.loads(line) for line in made.splitlines() if '"summary"' in line)["snapshot_id"]
        refused = host.run("sh -c " + shlex.quote(f"{writer} forget {old}"))
    assert refused.rc != 0, "the server's writer key may not forget a snapshot"
    assert any(s["id"].startswith(old) for s in _snapshots(deploy_env, OURS, "drive"))
    newest = {name: _snapshots(deploy_env, OURS, name)[-1]["id"] for name in ("drive", "rdv")}
    result = bastide("backup", "prune", deploy_env["BASTIDE_INVENTORY"], "--commune", OURS, "--json",
                     env=deploy_env)  # fmt: skip
    (pruned,) = json.loads(result.stdout)["communes"]
    assert [s["id"] for s in pruned["forgotten"]] == [old] and pruned["pruned"], pruned
    assert pruned["forgotten"][0]["service"] == "drive" and pruned["keep_days"] == 30
    left = {name: [s["id"] for s in _snapshots(deploy_env, OURS, name)] for name in ("drive", "rdv")}
    assert not any(s.startswith(old) for s in left["drive"])
    assert all(newest[name] in left[name] for name in newest), "the newest of each service stay"
    # The forgotten snapshot's object is hidden, not gone: its locked version stays underneath.
    maintainer = _client(deploy_env, OURS, "maintainer")
    versions = maintainer.list_object_versions(Bucket=_target(deploy_env, OURS).bucket, Prefix="snapshots/")
    assert any(m["Key"].startswith(f"snapshots/{old}") for m in versions.get("DeleteMarkers", []))
    assert any(v["Key"].startswith(f"snapshots/{old}") for v in versions["Versions"])


def test_status_is_green_after_a_backup_a_check_and_a_drill(deploy_env: Env, drilled: dict[str, Any]) -> None:
    bastide("backup", "check", deploy_env["BASTIDE_INVENTORY"], OURS, env=deploy_env)
    result = bastide("backup", "status", deploy_env["BASTIDE_INVENTORY"], "--commune", OURS, "--json",
                     env=deploy_env)  # fmt: skip
    row = json.loads(result.stdout)["communes"][0]
    assert row["ok"], row
    assert row["lock"]["mode"] == "COMPLIANCE" and row["lock"]["days_left"] > 29, row["lock"]
    assert row["last_backup_age_hours"] < 1
    assert row["last_drill"]["ok"] and row["last_drill"]["rto_seconds"] == drilled["rto_seconds"]


def test_the_mayors_report_reads_in_a_browser(deploy_env: Env, drilled: dict[str, Any]) -> None:
    output = ARTIFACTS / "backup" / "report"
    bastide("backup", "report", deploy_env["BASTIDE_INVENTORY"], "--commune", OURS, "--output", str(output),
            env=deploy_env)  # fmt: skip
    name = _inventory(deploy_env).commune(OURS).name
    browser = Browser(deploy_env, "report", "backup")
    try:
        browser.origins()
        browser.open((output / f"{OURS}.html").as_uri())
        browser.shot("report")
        text = browser.text()
        assert browser.driver.title == f"Sauvegardes de {name}"
        verdict = browser.driver.find_element("id", "verdict")
        assert "restauration a été prouvée" in verdict.text and "ok" in verdict.get_attribute("class")
        assert "tout restauré à l'identique" in browser.driver.find_element("id", "last-drill").text
        assert "verrouillée 30 jours" in text and "intactes" in text
        assert browser.origins() == set(), "the report fetches nothing"
    finally:
        browser.driver.quit()


def test_one_communes_keys_open_nothing_of_anothers(deploy_env: Env, backed_up: dict[str, Any]) -> None:
    ours = _target(deploy_env, OURS)
    theirs_on_ours = _client(deploy_env, OTHER, "writer", of=OURS)
    assert _denied(lambda: theirs_on_ours.list_objects_v2(Bucket=ours.bucket)) == "AccessDenied"
    assert _denied(lambda: theirs_on_ours.get_object(Bucket=ours.bucket, Key="config")) == "AccessDenied"
    their_maintainer = _client(deploy_env, OTHER, "maintainer", of=OURS)
    assert _denied(lambda: their_maintainer.list_objects_v2(Bucket=ours.bucket)) == "AccessDenied"
    # Our repository with our maintainer key but their password: restic refuses it.
    from bastide.core.backup import credentials, repository

    keyring = private_keyring(deploy_env)
    env = repository.environment(ours, keyring, Path(deploy_env["BASTIDE_STATE_DIR"]) / "restic-cache")
    env["RESTIC_PASSWORD"] = keyring.get(OTHER, credentials.REPOSITORY).decode()
    done = subprocess.run(["restic", "cat", "config"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "wrong password" in done.stderr, done.stderr


@pytest.fixture(scope="module")
def tampered(deploy_env: Env) -> dict[str, Any]:
    """The other commune backed up, then every pack of its bucket overwritten with its server's
    writer key (the ransomware's move: new versions on top; the lock keeps the old ones under).
    Its repository stays damaged until point-in-time recovery rebuilds it."""
    backed = json.loads(bastide("backup", "run", deploy_env["BASTIDE_INVENTORY"], OTHER, "--json",
                                env=deploy_env).stdout)  # fmt: skip
    time.sleep(1.5)  # the storage dates objects to the millisecond: a clean moment between
    clean = dt.datetime.now(dt.UTC).isoformat()
    time.sleep(1.5)
    target = _target(deploy_env, OTHER)
    writer = _client(deploy_env, OTHER, "writer")
    packs = writer.list_objects_v2(Bucket=target.bucket, Prefix="data/")["Contents"]
    for pack in packs:  # every one: whatever the drill reads is damaged
        # Encrypted in place, as ransomware does: same size, other bytes. (A shorter body would
        # also be caught, but restic 0.14 retries a short read for 40 s before it gives up.)
        body = os.urandom(pack["Size"])
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        writer.put_object(Bucket=target.bucket, Key=pack["Key"], Body=body, ContentMD5=md5)
    return {"clean": clean, "backed": backed, "packs": len(packs)}


def test_a_tampered_pack_turns_the_check_and_the_status_red(
    deploy_env: Env, tampered: dict[str, Any]
) -> None:
    result = bastide("backup", "check", deploy_env["BASTIDE_INVENTORY"], OTHER, "--read-all", env=deploy_env,
                     check=False)  # fmt: skip
    assert result.returncode == 1, result.stdout
    drill = bastide("backup", "drill", deploy_env["BASTIDE_INVENTORY"], OTHER, "--json", env=deploy_env,
                    check=False)  # fmt: skip
    assert drill.returncode == 1, drill.stdout + drill.stderr
    assert not any(s["identical"] for s in json.loads(drill.stdout)["services"].values())
    status = bastide("backup", "status", deploy_env["BASTIDE_INVENTORY"], "--commune", OTHER, "--json",
                     env=deploy_env, check=False)  # fmt: skip
    assert status.returncode == 1
    assert {"check-failed", "drill-failed"} <= set(json.loads(status.stdout)["communes"][0]["problems"])


def test_point_in_time_recovery_brings_everything_back_after_the_ransomware(
    deploy_env: Env, tampered: dict[str, Any]
) -> None:
    """After the packs were overwritten (fixture) and, with the bucket owner's key, every
    snapshot deleted: `backup recover --at` rebuilds the repository as it was into a fresh
    bucket with fresh keys and reads it back whole; deployed, the server backs up there; the
    commune's data comes back from it as its manifests recorded."""
    from bastide.core.backup import credentials, s3

    inventory = deploy_env["BASTIDE_INVENTORY"]
    old = _target(deploy_env, OTHER)
    owner = _client(deploy_env, OTHER, "maintainer")
    for found in owner.list_objects_v2(Bucket=old.bucket, Prefix="snapshots/").get("Contents", []):
        owner.delete_object(Bucket=old.bucket, Key=found["Key"])  # a delete marker on top
    assert not owner.list_objects_v2(Bucket=old.bucket, Prefix="snapshots/").get("Contents")
    keyring = private_keyring(deploy_env)
    old_writer = credentials.get(keyring, OTHER, credentials.WRITER)
    result = bastide("backup", "recover", inventory, OTHER, "--at", tampered["clean"], "--json",
                     env=deploy_env)  # fmt: skip
    recovered = json.loads(result.stdout)
    assert recovered["check"]["ok"] and recovered["to"] == f"{old.bucket}-g1", recovered
    assert _inventory(deploy_env).commune(OTHER).backup_generation == 1
    fresh = _target(deploy_env, OTHER)
    assert fresh.bucket == recovered["to"]
    new_writer = credentials.get(private_keyring(deploy_env), OTHER, credentials.WRITER)
    assert new_writer is not None and old_writer is not None and new_writer != old_writer, "fresh keys"
    stolen = s3.client(fresh.endpoint, fresh.region, old_writer)
    refused = _denied(lambda: stolen.list_objects_v2(Bucket=fresh.bucket))
    assert refused in ("AccessDenied", "InvalidAccessKeyId", "UserSuspended"), refused
    # Nor can it write into the old bucket any more: its user is suspended.
    assert recovered["old_writer"] == "suspended", recovered
    old_side = s3.client(old.endpoint, old.region, old_writer)
    refused = _denied(lambda: old_side.list_objects_v2(Bucket=old.bucket))
    assert refused in ("AccessDenied", "UserSuspended"), refused
    # The commune's server and the identity host (its people) get the fresh bucket and its
    # writer key, then everything comes back from it.
    people = _inventory(deploy_env).identity
    assert people is not None
    # The same deploy forgets a commune that left the host (planted: as if moved elsewhere).
    host = _host(deploy_env, OTHER)
    left = [f"/etc/bastide-backup/{GONE}.json", f"/etc/bastide-backup/{GONE}.env",
            f"/var/lib/bastide-backup/{GONE}", f"/var/lib/bastide-backup/{GONE}.since"]  # fmt: skip
    with host.sudo():
        host.check_output(
            f"cp /etc/bastide-backup/{OTHER}.json {left[0]} && cp /etc/bastide-backup/{OTHER}.env {left[1]}"
            f" && mkdir -p {left[2]} && echo '{{}}' > {left[2]}/status.json && date > {left[3]}"
            f" && systemctl enable bastide-backup@{GONE}.timer"
        )
    bastide("deploy", inventory, "--limit", f"{OTHER},{people.host}", env=deploy_env)
    with host.sudo():
        assert not host.service(f"bastide-backup@{GONE}.timer").is_enabled, "no timer for a commune gone"
        assert not [path for path in left if host.file(path).exists], "nor its keys and records"
        assert host.file(f"/etc/bastide-backup/{OTHER}.env").exists, "the commune it serves keeps its own"
    restored = json.loads(bastide("restore", inventory, OTHER, "--json", env=deploy_env).stdout)
    assert set(restored["services"]) == set(tampered["backed"]["services"])
    assert all(info["identical"] for info in restored["services"].values()), restored
    backed = json.loads(bastide("backup", "run", inventory, OTHER, "--json", env=deploy_env).stdout)
    assert backed["ok"], backed
    assert _snapshots(deploy_env, OTHER, "drive"), "the server backs up into the fresh bucket"
    bastide("backup", "check", inventory, OTHER, "--read-all", env=deploy_env)
