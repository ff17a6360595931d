"""The bucket policy that limits a commune's writer key (docs/backups.md, "Two keys").

The writer (the key on the server) may list, read and add objects, abort its own uploads and
delete restic's lock files; everything that could destroy a backup or loosen the lock is denied
to it explicitly, so that a grant elsewhere (an ACL, a later statement) cannot give it back.
Nothing is ever denied to the maintainer: an explicit Deny binds the bucket owner too on Ceph RGW,
and a Deny of ``s3:PutBucketPolicy`` to the owner would leave no S3 identity able to repair the
policy.
"""

from __future__ import annotations

from typing import Any

WRITER_ALLOWED_ON_BUCKET = ("s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads")
WRITER_ALLOWED_ON_OBJECTS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)
# restic's backup deletes nothing but its own lock files (created, refreshed, removed).
WRITER_DELETABLE_PREFIX = "locks/"
WRITER_DENIED = (
    "s3:DeleteObjectVersion",
    "s3:PutBucketVersioning",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:BypassGovernanceRetention",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:DeleteBucket",
    "s3:PutBucketAcl",
    "s3:PutObjectAcl",
)


def user_arn(uid: str) -> str:
    return f"arn:aws:iam:::user/{uid}"


def bucket_policy(bucket: str, writer: str, maintainer: str, *, allow_only: bool = False) -> dict[str, Any]:
    """The policy of ``bucket`` for the writer and maintainer principals (ARNs).
    ``allow_only``: for providers that ignore Deny statements (the writer then has only what
    is allowed, which never includes the denied actions)."""
    arn = f"arn:aws:s3:::{bucket}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "MaintainerEverything",
            "Effect": "Allow",
            "Principal": {"AWS": [maintainer]},
            "Action": ["s3:*"],
            "Resource": [arn, f"{arn}/*"],
        },
        {
            "Sid": "WriterBucket",
            "Effect": "Allow",
            "Principal": {"AWS": [writer]},
            "Action": list(WRITER_ALLOWED_ON_BUCKET),
            "Resource": [arn],
        },
        {
            "Sid": "WriterObjects",
            "Effect": "Allow",
            "Principal": {"AWS": [writer]},
            "Action": list(WRITER_ALLOWED_ON_OBJECTS),
            "Resource": [f"{arn}/*"],
        },
        {
            "Sid": "WriterLocks",
            "Effect": "Allow",
            "Principal": {"AWS": [writer]},
            "Action": ["s3:DeleteObject"],
            "Resource": [f"{arn}/{WRITER_DELETABLE_PREFIX}*"],
        },
    ]
    if not allow_only:
        statements.append(
            {
                "Sid": "WriterNeverDestroys",
                "Effect": "Deny",
                "Principal": {"AWS": [writer]},
                "Action": list(WRITER_DENIED),
                "Resource": [arn, f"{arn}/*"],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two policies say the same (stores reorder keys and may turn one-item lists into
    strings)."""
    return _normal(a) == _normal(b)


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = [_normal(v) for v in value]
        return items[0] if len(items) == 1 else sorted(items, key=repr)
    return value
