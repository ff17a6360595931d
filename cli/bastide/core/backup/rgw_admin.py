"""Ceph RGW's admin API (``/admin/user``): the per-commune users of an RGW target, made with the
target's account key (caps ``users=*``). boto3 has no client for it: requests are signed with
botocore's S3 SigV4 signer and sent with urllib."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode

from bastide.core.backup.credentials import KeyPair

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class AdminError(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"RGW admin API: HTTP {status} {code}")
        self.status, self.code = status, code


def _call(endpoint: str, region: str, account: KeyPair, method: str, params: dict[str, str]) -> Any:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    # SigV4 signs %20, not the + urlencode writes by default.
    url = f"{endpoint.rstrip('/')}/admin/user?{urlencode({**params, 'format': 'json'}, quote_via=quote)}"
    request = AWSRequest(method=method, url=url, data=b"")
    S3SigV4Auth(Credentials(account.access_key, account.secret_key), "s3", region).add_auth(request)
    prepared = request.prepare()
    sent = urllib.request.Request(prepared.url, method=method, headers=dict(prepared.headers.items()))
    try:
        with _DIRECT.open(sent, timeout=30) as answer:
            body = answer.read()
    except urllib.error.HTTPError as error:
        try:
            code = json.loads(error.read()).get("Code", "")
        except ValueError:
            code = ""
        raise AdminError(error.code, code) from None
    return json.loads(body) if body else None


def user_keys(endpoint: str, region: str, account: KeyPair, uid: str) -> list[str] | None:
    """The access keys of user ``uid``, or None when there is no such user."""
    try:
        info = _call(endpoint, region, account, "GET", {"uid": uid})
    except AdminError as error:
        if error.status == 404:
            return None
        raise
    return [str(k["access_key"]) for k in info.get("keys") or []]


def ensure_user(endpoint: str, region: str, account: KeyPair, uid: str, name: str, key: KeyPair) -> str:
    """User ``uid`` exists and accepts ``key``; returns "created", "key-added" or "unchanged"."""
    keys = user_keys(endpoint, region, account, uid)
    secret = {"access-key": key.access_key, "secret-key": key.secret_key}
    if keys is None:
        _call(endpoint, region, account, "PUT", {"uid": uid, "display-name": name, **secret})
        return "created"
    if key.access_key not in keys:
        _call(endpoint, region, account, "PUT", {"key": "", "uid": uid, **secret})
        return "key-added"
    return "unchanged"


def suspend_user(endpoint: str, region: str, account: KeyPair, uid: str) -> str:
    """User ``uid`` is suspended (every one of its keys refused); "suspended", "unchanged" or
    "absent"."""
    try:
        info = _call(endpoint, region, account, "GET", {"uid": uid})
    except AdminError as error:
        if error.status == 404:
            return "absent"
        raise
    if info.get("suspended"):
        return "unchanged"
    _call(endpoint, region, account, "POST", {"uid": uid, "suspended": "true"})
    return "suspended"
