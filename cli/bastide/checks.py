"""Shared fixtures for the roles' testinfra checks (``roles/<role>/tests/test_<role>.py``, and
the module a service's contract names), a pytest plugin ``bastide verify`` loads with
``-p bastide.checks`` so that a service role outside bastide's roles directory gets them too.

``bastide verify`` runs these modules with testinfra's SSH backend, one pytest run per host over
the run's multiplexed connection (``BASTIDE_VERIFY_SSH_CONFIG``), and hands them the variables
of the inventory it rendered (``BASTIDE_VERIFY_HOSTVARS``), so each check reads the same
variables the roles converged from.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest


@cache
def _rendered_hostvars(path: str) -> dict[str, dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _run_setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise pytest.UsageError(f"{name} is not set: these checks are run by `bastide verify`")
    return value


@pytest.fixture()
def hostvars(host: Any) -> dict[str, Any]:
    """The rendered inventory variables of the host under test (``bastide_*`` and connection vars)."""
    return _rendered_hostvars(_run_setting("BASTIDE_VERIFY_HOSTVARS"))[host.backend.get_hostname()]


@pytest.fixture()
def with_secret(host: Any) -> Callable[..., Any]:
    """``with_secret(scope, name, script, *args)``: run the Python ``script`` on the host with the
    keyring's secret as the first line of its standard input, and return what it printed as JSON.

    The secret is fetched from the run's keys agent on the controller and goes to the host inside
    the SSH session: it is in no command line (``ps``), environment or file, there or here."""
    from bastide.core.keys.agent import fetch

    def run(scope: str, name: str, script: str, *args: str) -> Any:
        secret = fetch(scope, name)
        done = subprocess.run(
            ["ssh", "-F", _run_setting("BASTIDE_VERIFY_SSH_CONFIG"), host.backend.get_hostname(),
             "--", "python3", "-c", shlex.quote(script), *map(shlex.quote, args)],
            input=secret + b"\n",
            capture_output=True,
            timeout=120,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-2000:]
        return json.loads(done.stdout)

    return run


@pytest.fixture()
def communes(hostvars: dict[str, Any]) -> list[dict[str, Any]]:
    """The communes this host serves, as rendered for Ansible."""
    return list(hostvars.get("bastide_communes", []))


@pytest.fixture()
def in_container(host: Any) -> bool:
    """True inside systemd-nspawn (the lab): kernel-level controls are not applicable there."""
    result = host.run("systemd-detect-virt --container")
    return result.rc == 0 and result.stdout.strip() not in ("", "none")


@pytest.fixture()
def assert_loopback_only(host: Any) -> Callable[[int, str], None]:
    """``assert_loopback_only(port, name)``: the service listens on ``port`` over TCP, and only
    on the loopback addresses (a backend serves the host's own services, nobody outside)."""

    def check(port: int, name: str) -> None:
        listening = [s for s in host.socket.get_listening_sockets() if s.endswith(f":{port}")]
        assert listening, f"{name} listens on no TCP socket"
        for socket in listening:
            address = socket.split("://", 1)[1].rsplit(":", 1)[0]
            assert address in ("127.0.0.1", "::1"), f"{name} listens on {socket}"

    return check


# Runs on the host: one request to nginx on 127.0.0.1 for the site ``name`` (SNI and Host), the
# certificate verified against ``cafile`` for that name.
_HTTP_PROBE = r"""
import http.client, json, socket, ssl, sys
name, scheme, path, cafile, headers = sys.argv[1:6]
if scheme == "https":
    ctx = ssl.create_default_context(cafile=cafile)
    conn = http.client.HTTPSConnection(name, 443, context=ctx, timeout=10)
    raw = socket.create_connection(("127.0.0.1", 443), timeout=10)
    conn.sock = ctx.wrap_socket(raw, server_hostname=name)
else:
    conn = http.client.HTTPConnection("127.0.0.1", 80, timeout=10)
conn.request("GET", path, headers={"Host": name, **json.loads(headers)})
resp = conn.getresponse()
body = resp.read().decode("utf-8", "replace")
print(json.dumps({"status": resp.status, "headers": {k.lower(): v for k, v in resp.getheaders()},
                  "body": body, "tls": conn.sock.version() if scheme == "https" else None}))
"""


@pytest.fixture()
def web_get(host: Any, hostvars: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """``web_get(name, scheme="https", path="/", headers=None)``: what nginx on the host answers
    for the site ``name``, its certificate checked against the CA the hosts trust (status,
    headers in lower case, body, TLS version)."""
    cafile = (
        "/etc/bastide/tls/internal-ca.pem"
        if hostvars["bastide_tls"]["mode"] == "internal"
        else "/etc/ssl/certs/ca-certificates.crt"
    )

    def get(name: str, scheme: str = "https", path: str = "/", headers: dict[str, str] | None = None) -> Any:
        args = " ".join(shlex.quote(a) for a in (name, scheme, path, cafile, json.dumps(headers or {})))
        return json.loads(host.check_output(f"python3 -c {shlex.quote(_HTTP_PROBE)} {args}"))

    return get
