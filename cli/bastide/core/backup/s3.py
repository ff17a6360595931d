"""boto3 clients for S3-compatible backup targets."""

from __future__ import annotations

from typing import Any

from bastide.core.backup.credentials import KeyPair


def client(endpoint: str, region: str, key: KeyPair) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key.access_key,
        aws_secret_access_key=key.secret_key,
        config=Config(
            # botocore >= 1.36 sends CRC32 checksums by default, which S3-compatible stores
            # such as Ceph RGW 16 do not all take; an explicit ContentMD5 is sent instead where
            # Object Lock requires one.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            # The endpoint is reached directly, whatever proxy the controller's environment names.
            proxies={},
        ),
    )


def error_code(error: Exception) -> str:
    """The S3 error code of a botocore ClientError ("AccessDenied", "NoSuchBucket"...)."""
    response = getattr(error, "response", None) or {}
    return str((response.get("Error") or {}).get("Code", ""))
