"""``bastide backup recover``: point-in-time recovery of a commune's repository, for when an
attacker holding its server deleted or overwrote the newest objects of its bucket. Object Lock
kept every version: the repository is rebuilt as it was at TIME — for each object, the version
that was current then, an object deleted before TIME staying deleted — into a fresh bucket (the
commune's next generation) with fresh keys, then read back whole (``restic check --read-data``)
before the inventory points the commune at it. The old bucket is left as it is (locked); its
writer, the key the attacker may hold, is suspended."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
from typing import Any

from bastide.core.backup import buckets, credentials, repository, rgw_admin, s3
from bastide.core.backup.credentials import KeyPair
from bastide.core.backup.status import stamp
from bastide.core.inventory import Inventory, writer
from bastide.errors import BastideError
from bastide.i18n import Messages

_ = Messages("backup")

# restic's lock files say who held the repository then: none of them holds it now.
SKIPPED = ("locks/",)


def archived_maintainer(generation: int) -> str:
    """The keyring name of the maintainer key of the commune's bucket of ``generation``, kept
    when a recovery moves the commune to the next one (its locked versions stay readable)."""
    return f"{credentials.MAINTAINER}-g{generation}"


def versions_at(client: Any, bucket: str, at: dt.datetime) -> dict[str, str]:
    """Per key, the id of the version that was current at ``at`` (none when it was deleted
    then, or not yet written)."""
    newest: dict[str, tuple[dt.datetime, str | None]] = {}
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        entries = [(v, v["VersionId"]) for v in page.get("Versions", [])]
        entries += [(m, None) for m in page.get("DeleteMarkers", [])]
        for entry, version in entries:
            when = entry["LastModified"]
            if when <= at and (entry["Key"] not in newest or when > newest[entry["Key"]][0]):
                newest[entry["Key"]] = (when, version)
    return {key: version for key, (_when, version) in newest.items() if version is not None}


def recover(inventory: Inventory, keyring: Any, slug: str, at: dt.datetime) -> dict[str, Any]:
    commune = inventory.commune(slug)
    old = buckets.target_of(inventory, slug)
    generation = commune.backup_generation + 1
    found = inventory.backup_target(commune.backup_target)
    fresh = dataclasses.replace(old, bucket=found.commune_bucket(slug, generation))
    # The old bucket's owner key, kept before the commune's keys are replaced: a recovery cut
    # short and run again still reads the old bucket.
    source_key = credentials.get(keyring, slug, archived_maintainer(commune.backup_generation))
    if source_key is None:
        source_key = credentials.get(keyring, slug, credentials.MAINTAINER)
        if source_key is None:
            raise BastideError(_("repository.no_maintainer", commune=slug))
        credentials.put(keyring, slug, archived_maintainer(commune.backup_generation), source_key)
    replaced = credentials.get(keyring, slug, credentials.MAINTAINER) != source_key
    if old.storage.identities == "rgw_admin" and not replaced:
        # Fresh keys for the fresh bucket: the old writer key is the one the attacker may hold.
        # (Where keys are made in a console, the keyring's stay: replace them there after.)
        for role, name in credentials.ROLES.items():
            credentials.put(keyring, slug, name, KeyPair.new("BKW" if role == "writer" else "BKM"))
    made = buckets.init_commune(fresh, keyring)
    if not made.ready:
        raise BastideError(_("recover.not_ready", bucket=fresh.bucket, missing=", ".join(made.missing_keys)))
    source = s3.client(old.endpoint, old.region, source_key)
    maintainer = credentials.get(keyring, slug, credentials.MAINTAINER)
    assert maintainer is not None
    target = s3.client(fresh.endpoint, fresh.region, maintainer)
    wanted = {k: v for k, v in versions_at(source, old.bucket, at).items() if not k.startswith(SKIPPED)}
    if "config" not in wanted:
        raise BastideError(_("recover.nothing", commune=slug, at=stamp(at)))
    copied = 0
    for key, version in sorted(wanted.items()):
        body = source.get_object(Bucket=old.bucket, Key=key, VersionId=version)["Body"].read()
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()  # Object Lock asks for it
        target.put_object(Bucket=fresh.bucket, Key=key, Body=body, ContentMD5=md5)
        copied += 1
    checked = repository.check_all(fresh, keyring)
    result = {
        "commune": slug,
        "at": stamp(at),
        "from": old.bucket,
        "to": fresh.bucket,
        "generation": generation,
        "objects": copied,
        "check": {"ok": checked.ok, "output": checked.output[-600:]},
    }
    if checked.ok:
        result["old_writer"] = _suspend_old_writer(old, keyring)
        edit = writer.CommuneEdit(inventory.root, slug)
        edit.data["backup_generation"] = generation
        edit.save()
    return result


def _suspend_old_writer(old: buckets.Target, keyring: Any) -> str:
    """The old bucket's writer key is the one the attacker may hold: once the commune has moved,
    nothing may write with it any more (it could only add to the old, locked bucket, but it can
    fill the storage that the syndicat pays for). Where keys are made in a provider's console,
    the DSI disables it there ("console")."""
    account = credentials.account(keyring, old.name) if old.storage.identities == "rgw_admin" else None
    if account is None:
        return "console"
    try:
        return rgw_admin.suspend_user(old.endpoint, old.region, account, old.user("writer"))
    except (rgw_admin.AdminError, OSError) as error:
        raise BastideError(_("init.admin_failed", target=old.name, reason=str(error))) from None
