"""Each commune this host backs up (those it serves; on the identity host, every commune's people
too) is backed up: its timer is scheduled, its keys are root's only and are the writer key the
keyring holds (never the maintainer's), that key is refused every change of the bucket's
protection, and the last backup succeeded recently."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

CONFIG = "/etc/bastide-backup"
STATE = "/var/lib/bastide-backup"


def _age_hours(stamp: str) -> float:
    when = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    return (dt.datetime.now(dt.UTC) - when).total_seconds() / 3600


def _writer(commune: dict[str, Any]) -> Any:
    from bastide.core.backup.credentials import WRITER, KeyPair
    from bastide.core.keys.agent import fetch

    try:
        return KeyPair.from_bytes(fetch(commune["slug"], WRITER))
    except LookupError as error:
        pytest.fail(f"{commune['slug']}: no backup writer key ({error}): run `bastide backup init INVENTORY`")


@pytest.fixture()
def backed_up(communes: list[dict[str, Any]], hostvars: dict[str, Any]) -> list[dict[str, Any]]:
    return [*communes, *hostvars.get("bastide_backup_only", [])]


def test_every_commune_has_its_backup_timer(host: Any, backed_up: list[dict[str, Any]]) -> None:
    for commune in backed_up:
        timer = host.service(f"bastide-backup@{commune['slug']}.timer")
        assert timer.is_enabled and timer.is_running, (
            f"{commune['slug']} is not backed up: run `bastide backup init INVENTORY`, then deploy"
        )


def test_no_commune_that_left_the_host_is_still_backed_up_from_it(
    host: Any, backed_up: list[dict[str, Any]]
) -> None:
    """A commune moved to another server keeps neither a timer nor its keys here (the deploy
    removes them): its stale copy here would become its newest snapshots."""
    with host.sudo():
        found = host.run(f"find {CONFIG} -maxdepth 1 -name '*.json' -printf '%f\\n'").stdout.split()
    left = sorted({name.removesuffix(".json") for name in found} - {c["slug"] for c in backed_up})
    assert not left, f"still backed up from this host, which no longer serves them: {left}: deploy it"


def test_the_keys_on_the_host_are_the_writers_and_root_only(
    host: Any, backed_up: list[dict[str, Any]]
) -> None:
    for commune in backed_up:
        env = host.file(f"{CONFIG}/{commune['slug']}.env")
        assert env.user == "root" and env.mode == 0o600, f"{env.path}: {env.user} {oct(env.mode)}"
        with host.sudo():
            lines = dict(line.split("=", 1) for line in env.content_string.splitlines() if "=" in line)
        assert lines["AWS_ACCESS_KEY_ID"] == _writer(commune).access_key, commune["slug"]
        assert lines["RESTIC_REPOSITORY"] == commune["backup"]["repository"]


def test_the_writer_key_cannot_loosen_the_protection(backed_up: list[dict[str, Any]]) -> None:
    from bastide.core.backup import buckets, policy, s3

    for commune in backed_up:
        backup = commune["backup"]
        bucket = backup["bucket"]
        document = policy.bucket_policy(
            bucket, policy.user_arn(f"{bucket}-writer"), policy.user_arn(f"{bucket}-maintainer")
        )
        writer = s3.client(backup["endpoint"], backup["region"], _writer(commune))
        proven = buckets.prove_limits(writer, bucket, backup["lock_mode"], backup["retention_days"], document)
        allowed = [name for name, refused in proven.items() if not refused]
        assert not allowed, f"{commune['slug']}: the writer key may {allowed}"


def test_the_last_backup_succeeded_recently(
    host: Any, backed_up: list[dict[str, Any]], hostvars: dict[str, Any]
) -> None:
    limit = float(hostvars.get("backup_max_age_hours", 26))
    for commune in backed_up:
        slug = commune["slug"]
        with host.sudo():
            since = host.file(f"{STATE}/{slug}.since")
            status_file = host.file(f"{STATE}/{slug}/status.json")
            status = json.loads(status_file.content_string) if status_file.exists else {}
            running = host.service(f"bastide-backup@{slug}.service").is_running
        assert since.exists, f"{slug} is not backed up yet: run `bastide backup init INVENTORY`, then deploy"
        if status and not status.get("ok") and not running:
            failed = {k: v.get("error") for k, v in status["services"].items() if not v.get("ok")}
            pytest.fail(f"{slug}: the last backup failed: {failed}")
        last = status.get("last_success")
        if last is None:
            # A commune just put under backup: its first run started at deploy.
            with host.sudo():
                started = host.check_output(f"cat {STATE}/{slug}.since")
            assert _age_hours(started) < limit, f"{slug} has never been backed up"
        else:
            assert _age_hours(last) < limit, f"{slug}: last successful backup {last}, over {limit} h ago"
