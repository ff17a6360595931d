"""``bastide backup init``: each commune's bucket under Object Lock, its two keys and the policy
that limits the writer, made idempotently on the commune's backup target (docs/backups.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bastide.core.backup import credentials, policy, rgw_admin, s3
from bastide.core.backup.credentials import KeyPair
from bastide.core.inventory import Inventory, catalogue
from bastide.core.inventory.catalogue import ObjectStorage
from bastide.core.keys import SYNDICAT_SCOPE
from bastide.errors import BastideError, InputError, Problem
from bastide.i18n import Messages

_ = Messages("backup")

LAB_PROVIDER = "lab"
# Same-value writes tried with the writer key: each must be refused; had one been allowed it
# would have changed nothing (the proof must never weaken what it proves).
PROBES = ("PutBucketVersioning", "PutObjectLockConfiguration", "PutBucketPolicy", "PutBucketLifecycle")


@dataclass
class Target:
    """Where a commune's backups go: its bucket on its target, and what the provider offers."""

    commune: str
    name: str
    endpoint: str
    region: str
    bucket: str
    retention_days: int
    lock_mode: str
    storage: ObjectStorage
    provider: str = ""
    keep_days: int = 0

    @property
    def repository(self) -> str:
        return f"s3:{self.endpoint.rstrip('/')}/{self.bucket}"

    def user(self, role: str) -> str:
        return f"{self.bucket}-{role}"


@dataclass
class Result:
    commune: str
    target: str
    bucket: str
    done: list[str] = field(default_factory=list)
    missing_keys: list[str] = field(default_factory=list)
    manual_policy: dict[str, Any] | None = None
    proven: dict[str, bool] = field(default_factory=dict)
    capabilities: dict[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return not self.missing_keys and all(self.proven.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "commune": self.commune,
            "target": self.target,
            "bucket": self.bucket,
            "done": self.done,
            "missing_keys": self.missing_keys,
            "manual_policy": self.manual_policy,
            "proven": self.proven,
            "capabilities": self.capabilities,
            "ready": self.ready,
        }


def target_of(inventory: Inventory, slug: str) -> Target:
    commune = commune_of(inventory, slug)
    found = inventory.backup_target(commune.backup_target)
    storage = catalogue.providers()[found.provider].object_storage
    assert storage is not None, "validation refuses targets without Object Lock"
    return Target(
        commune=slug,
        name=found.name,
        endpoint=found.endpoint,
        region=found.region,
        bucket=found.commune_bucket(slug, commune.backup_generation),
        retention_days=found.retention_days,
        lock_mode=found.lock_mode,
        storage=storage,
        provider=found.provider,
        keep_days=found.kept_days,
    )


def commune_of(inventory: Inventory, slug: str) -> Any:
    try:
        return inventory.commune(slug)
    except KeyError:
        known = ", ".join(c.slug for c in inventory.communes)
        raise InputError(
            Problem(
                str(inventory.root / "communes"),
                "",
                _("commune.unknown", commune=slug),
                _("commune.unknown.fix", known=known),
            )
        ) from None


def init(
    inventory: Inventory, keyring: Any, only: list[str] | None = None, prove: bool = True
) -> list[Result]:
    slugs = only or [c.slug for c in inventory.communes]
    return [init_commune(target_of(inventory, slug), keyring, prove=prove) for slug in slugs]


def init_commune(target: Target, keyring: Any, *, prove: bool = True) -> Result:
    result = Result(target.commune, target.name, target.bucket, capabilities=target.storage.as_dict())
    keys = _identities(target, keyring, result)
    if keys is None:
        return result
    writer, maintainer = keys
    owner = s3.client(target.endpoint, target.region, maintainer)
    _bucket(target, owner, result)
    _lock(target, owner, result)
    document = policy.bucket_policy(
        target.bucket,
        policy.user_arn(target.user("writer")),
        policy.user_arn(target.user("maintainer")),
        allow_only=target.storage.access_model == "bucket_policy_allow_only",
    )
    if target.storage.access_model == "user_policy":
        # No bucket policies at this provider: the DSI sets this on the writer user.
        result.manual_policy = document
    else:
        _policy(target, owner, document, result)
        if prove:
            writer_client = s3.client(target.endpoint, target.region, writer)
            result.proven = prove_limits(
                writer_client, target.bucket, target.lock_mode, target.retention_days, document
            )
    return result


def _identities(target: Target, keyring: Any, result: Result) -> tuple[KeyPair, KeyPair] | None:
    """The writer and maintainer keys, made on the target where bastide can."""
    found: dict[str, KeyPair] = {}
    account = credentials.account(keyring, target.name) if target.storage.identities == "rgw_admin" else None
    if target.storage.identities == "rgw_admin" and account is None:
        account = _lab_account(target, keyring)
    if target.storage.identities == "rgw_admin" and account is None:
        raise BastideError(_("init.no_account", target=target.name))
    for role, name in credentials.ROLES.items():
        key = credentials.get(keyring, target.commune, name)
        if account is not None:
            if key is None:
                # Kept before the user is made: a run cut short never leaves a key nobody has.
                key = KeyPair.new("BKW" if role == "writer" else "BKM")
                credentials.put(keyring, target.commune, name, key)
            try:
                done = rgw_admin.ensure_user(
                    target.endpoint,
                    target.region,
                    account,
                    target.user(role),
                    f"bastide {role} {target.commune}",
                    key,
                )
            except (rgw_admin.AdminError, OSError) as error:
                raise BastideError(_("init.admin_failed", target=target.name, reason=str(error))) from None
            if done != "unchanged":
                result.done.append(f"{role}-{done}")
        if key is None:
            result.missing_keys.append(role)
        else:
            found[role] = key
    if result.missing_keys:
        return None
    return found["writer"], found["maintainer"]


def _lab_account(target: Target, keyring: Any) -> KeyPair | None:
    """The running lab's S3 key, when the target is that lab's RGW: the lab is on this machine
    and made its account itself (the lab user, caps ``users=*``), so it is taken as the target's
    account key and kept in the keyring like a provider's."""
    from bastide.core.lab import Lab

    if target.provider != LAB_PROVIDER:
        return None
    info = Lab().info()
    if info is None or info.s3 is None or info.s3.endpoint.rstrip("/") != target.endpoint.rstrip("/"):
        return None
    key = KeyPair(info.s3.access_key, info.s3.secret_key)
    credentials.put(keyring, SYNDICAT_SCOPE, credentials.account_name(target.name), key)
    return key


def _bucket(target: Target, owner: Any, result: Result) -> None:
    from botocore.exceptions import ClientError

    try:
        owner.head_bucket(Bucket=target.bucket)
        return
    except ClientError as error:
        if s3.error_code(error) not in ("404", "NoSuchBucket", "NotFound"):
            raise BastideError(
                _("init.bucket_taken", bucket=target.bucket, code=s3.error_code(error))
            ) from None
    owner.create_bucket(Bucket=target.bucket, ObjectLockEnabledForBucket=True)
    result.done.append("bucket-created")


def _lock(target: Target, owner: Any, result: Result) -> None:
    from botocore.exceptions import ClientError

    wanted = {"DefaultRetention": {"Mode": target.lock_mode, "Days": target.retention_days}}
    try:
        found = owner.get_object_lock_configuration(Bucket=target.bucket)["ObjectLockConfiguration"]
    except ClientError:
        found = {}
    if found.get("ObjectLockEnabled") != "Enabled":
        # Object Lock can only be chosen when a bucket is made.
        raise BastideError(_("init.no_lock", bucket=target.bucket))
    if found.get("Rule") != wanted:
        owner.put_object_lock_configuration(
            Bucket=target.bucket,
            ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": wanted},
        )
        result.done.append("lock-set")
    versioning = owner.get_bucket_versioning(Bucket=target.bucket).get("Status")
    if versioning != "Enabled":
        raise BastideError(_("init.no_versioning", bucket=target.bucket))


def _policy(target: Target, owner: Any, document: dict[str, Any], result: Result) -> None:
    from botocore.exceptions import ClientError

    try:
        current = json.loads(owner.get_bucket_policy(Bucket=target.bucket)["Policy"])
    except ClientError:
        current = None
    if current is None or not policy.same(current, document):
        owner.put_bucket_policy(Bucket=target.bucket, Policy=json.dumps(document))
        result.done.append("policy-set")


def prove_limits(
    writer: Any, bucket: str, lock_mode: str, retention_days: int, document: dict[str, Any]
) -> dict[str, bool]:
    """Whether the writer key (its client) is refused each change of the bucket's protection
    (True: refused), tried with the values the bucket already has."""
    from botocore.exceptions import ClientError

    lock = {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": lock_mode, "Days": retention_days}},
    }
    attempts = {
        "PutBucketVersioning": lambda: writer.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
        ),
        "PutObjectLockConfiguration": lambda: writer.put_object_lock_configuration(
            Bucket=bucket, ObjectLockConfiguration=lock
        ),
        "PutBucketPolicy": lambda: writer.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document)),
        # An empty rule set that expires nothing, disabled.
        "PutBucketLifecycle": lambda: writer.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "probe",
                        "Status": "Disabled",
                        "Filter": {"Prefix": "probe/"},
                        "Expiration": {"Days": 36500},
                    }
                ]
            },
        ),
    }
    proven = {}
    for name in PROBES:
        try:
            attempts[name]()
            proven[name] = False
        except ClientError as error:
            proven[name] = s3.error_code(error) == "AccessDenied"
    return proven
