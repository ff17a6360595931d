"""The run-time secret agent: serves an unlocked keyring to Ansible for the length of a run.

``with serve(keyring) as env:`` starts a thread listening on a unix socket in a fresh 0700
directory, and gives the environment variables to pass to ``ansible-playbook``:
``BASTIDE_KEYS_SOCKET`` (the socket) and ``BASTIDE_KEYS_TOKEN`` (random for this run). The
lookup plugin ``bastide_secret`` asks for one secret per request. A request without the token,
or from another user, is refused. On exit the socket and its directory are removed. Values only
ever travel through this socket, in memory; nothing is written to disk.

Protocol: one JSON object per line each way. Request ``{"token", "scope", "name"}``; answer
``{"value": <base64>}`` or ``{"error": "denied" | "unknown" | "bad-request" | "corrupt"}``.

Some secrets never go to a host, so the agent never serves them: the backups' maintainer keys
(the bucket owners') and the providers' account keys (docs/backups.md). Only the controller's
own code reads them, from the keyring.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import os
import secrets
import shutil
import socket
import socketserver
import struct
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

from bastide.core.keys.errors import IntegrityError
from bastide.core.keys.keyring import Keyring, UnknownSecret

SOCKET_VARIABLE = "BASTIDE_KEYS_SOCKET"
TOKEN_VARIABLE = "BASTIDE_KEYS_TOKEN"
_MAX_REQUEST = 4096
# Names, or name prefixes ending in -: the maintainer keys, also of a commune's former buckets.
CONTROLLER_ONLY = ("backup-maintainer", "backup-maintainer-", "s3-account-")


def controller_only(name: str) -> bool:
    return any(name == n or (n.endswith("-") and name.startswith(n)) for n in CONTROLLER_ONLY)


class AgentEnvironment(dict[str, str]):
    """The environment for ansible-playbook, plus what was served (names only) for the report."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.served: set[tuple[str, str]] = set()
        self.refused = 0


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        answer = self.server.answer(self.connection, self.rfile.readline(_MAX_REQUEST))
        self.wfile.write(json.dumps(answer).encode("ascii") + b"\n")


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, keyring: Keyring, token: str, env: AgentEnvironment) -> None:
        self.keyring = keyring
        self.token = token
        self.env = env
        self.lock = threading.Lock()
        super().__init__(path, _Handler)

    def answer(self, connection: socket.socket, line: bytes) -> dict[str, Any]:
        # The socket's directory is private already; checking the peer's uid as well keeps
        # another local user out even if the directory's mode were changed.
        creds = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        try:
            request = json.loads(line)
            token, scope, name = request["token"], request["scope"], request["name"]
            if not all(isinstance(v, str) for v in (token, scope, name)):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return {"error": "bad-request"}
        if uid != os.getuid() or not hmac.compare_digest(token.encode(), self.token.encode()):
            with self.lock:
                self.env.refused += 1
            return {"error": "denied"}
        if controller_only(name):
            with self.lock:
                self.env.refused += 1
            return {"error": "controller-only"}
        try:
            value = self.keyring.get(scope, name)
        except UnknownSecret:
            return {"error": "unknown"}
        except IntegrityError:
            return {"error": "corrupt"}
        with self.lock:
            self.env.served.add((scope, name))
        return {"value": base64.b64encode(value).decode("ascii")}


@contextlib.contextmanager
def serve(keyring: Keyring) -> Iterator[AgentEnvironment]:
    directory = tempfile.mkdtemp(prefix="bastide-keys-")  # mode 0700
    path = os.path.join(directory, "agent.sock")
    token = secrets.token_urlsafe(32)
    env = AgentEnvironment({SOCKET_VARIABLE: path, TOKEN_VARIABLE: token})
    try:
        server = _Server(path, keyring, token, env)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    os.chmod(path, 0o600)
    thread = threading.Thread(target=server.serve_forever, name="bastide-keys-agent", daemon=True)
    thread.start()
    try:
        yield env
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        shutil.rmtree(directory, ignore_errors=True)


def fetch(scope: str, name: str, env: dict[str, str] | None = None, timeout: float = 30.0) -> bytes:
    """Ask a running agent for a secret (the lookup plugin speaks the same protocol)."""
    env = dict(os.environ) if env is None else env
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        client.connect(env[SOCKET_VARIABLE])
        request = {"token": env[TOKEN_VARIABLE], "scope": scope, "name": name}
        client.sendall(json.dumps(request).encode("utf-8") + b"\n")
        answer = json.loads(client.makefile("rb").readline())
    if "value" not in answer:
        raise LookupError(answer.get("error", "bad-answer"))
    return base64.b64decode(answer["value"])
