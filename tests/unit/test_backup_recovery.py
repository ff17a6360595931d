"""Point-in-time recovery without a lab: which version of each object was current at TIME, and
where the commune's next bucket is. The copy, the fresh keys and the read-back run against the
lab's Ceph RGW (tests/integration/test_backup.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from bastide.core.backup import buckets, recovery
from bastide.core.inventory import load
from bastide.core.keys.agent import controller_only
from inventory_edits import copy_demo, edit, problems

T = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T + dt.timedelta(minutes=minutes)


class Listing:
    """What list_object_versions pages give, in two pages as a paginator may."""

    def __init__(self, versions: list[tuple[str, str, int]], markers: list[tuple[str, int]]) -> None:
        entries = [{"Key": k, "VersionId": v, "LastModified": at(m)} for k, v, m in versions]
        deleted = [{"Key": k, "VersionId": f"dm-{m}", "LastModified": at(m)} for k, m in markers]
        self.pages = [{"Versions": entries[:2]}, {"Versions": entries[2:], "DeleteMarkers": deleted}]

    def get_paginator(self, name: str) -> Any:
        assert name == "list_object_versions"
        return self

    def paginate(self, Bucket: str) -> list[dict[str, Any]]:
        return self.pages


def test_each_object_comes_back_as_it_was_at_the_time() -> None:
    listing = Listing(
        versions=[
            ("config", "c1", -60),
            ("data/ab", "clean", -30),
            ("data/ab", "ransom", 10),  # overwritten after T: the clean version comes back
            ("index/1", "i1", -20),
            ("data/late", "l1", 5),  # written after T: not there at T
        ],
        markers=[("snapshots/s1", 15), ("index/old", -10)],
    )
    listing.pages[0]["Versions"].append({"Key": "snapshots/s1", "VersionId": "s1", "LastModified": at(-25)})
    listing.pages[0]["Versions"].append({"Key": "index/old", "VersionId": "o1", "LastModified": at(-50)})
    found = recovery.versions_at(listing, "bucket", T)
    # A snapshot deleted after T comes back; an index deleted before T stays deleted.
    assert found == {"config": "c1", "data/ab": "clean", "index/1": "i1", "snapshots/s1": "s1"}


def test_a_recovered_commune_backs_up_into_its_next_bucket(tmp_path: Path) -> None:
    root = copy_demo(tmp_path)
    bucket = "vallee-ours-sauvegardes-ours-les-bains"
    assert buckets.target_of(load(root), "ours-les-bains").bucket == bucket
    edit(root / "communes" / "ours-les-bains.yml", lambda d: d.update(backup_generation=2))
    assert buckets.target_of(load(root), "ours-les-bains").bucket == f"{bucket}-g2"
    edit(root / "communes" / "ours-les-bains.yml", lambda d: d.update(backup_generation=-1))
    (found,) = problems(root)
    assert found.field == "backup_generation" and found.line


def test_the_former_buckets_maintainer_keys_never_reach_a_server() -> None:
    assert controller_only(recovery.archived_maintainer(0)) and controller_only("backup-maintainer")
    assert not controller_only("backup-writer")


def test_the_old_writer_is_left_to_the_console_where_the_provider_makes_the_keys(tmp_path: Path) -> None:
    """OVHcloud's keys are made in its console: bastide cannot suspend them and says so."""
    target = buckets.target_of(load(copy_demo(tmp_path)), "ours-les-bains")
    assert target.storage.identities == "console"
    assert recovery._suspend_old_writer(target, keyring=None) == "console"


def test_the_old_writer_is_suspended_where_bastide_makes_the_keys(tmp_path: Path, monkeypatch: Any) -> None:
    import dataclasses

    from bastide.core.backup import credentials, rgw_admin

    target = buckets.target_of(load(copy_demo(tmp_path)), "ours-les-bains")
    rgw = dataclasses.replace(target, storage=dataclasses.replace(target.storage, identities="rgw_admin"))
    account = credentials.KeyPair("ACCOUNT", "secret")
    monkeypatch.setattr(credentials, "account", lambda keyring, name: account)
    asked: list[tuple[str, str]] = []
    monkeypatch.setattr(
        rgw_admin,
        "suspend_user",
        lambda endpoint, region, key, uid: asked.append((key.access_key, uid)) or "suspended",
    )
    assert recovery._suspend_old_writer(rgw, keyring=None) == "suspended"
    assert asked == [("ACCOUNT", f"{target.bucket}-writer")]
