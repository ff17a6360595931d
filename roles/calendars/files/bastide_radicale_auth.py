"""Radicale authentication for bastide (``[auth] type = bastide_radicale_auth``).

nginx authenticates people (the portal's session, or HTTP Basic against the directory) and
tells the calendars who they are in ``Remote-User``, with the commune's secret in
``X-Bastide-Secret``. Radicale's own ``http_x_remote_user`` would believe the header from
anyone who can reach the port (every local user): this one believes it only beside the
commune's secret, which systemd hands over as the credential ``secret`` (LoadCredential).

Logins starting with ``_`` are the host's own trusted programs (``_rdv``, the booking
application), which talk to the port directly: the directory cannot hold such a login, and a
request that came through nginx (bastide-calendars-run marks it) may not use one either.
Everything else is refused: a request without the secret, with a wrong one, or with HTTP Basic
(Radicale then answers 403, or 401 to a client that sent nothing).
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from radicale import auth

# Set by bastide-calendars-run on requests nginx forwarded.
PROXIED = "bastide.proxied"
TRUSTED_PREFIX = "_"
# What get_external_login hands _login for a request it vouches for.
VERIFIED = "\x00bastide-verified"


def _secret() -> bytes:
    directory = os.environ.get("CREDENTIALS_DIRECTORY", "")
    if not directory:
        raise RuntimeError("bastide_radicale_auth: no CREDENTIALS_DIRECTORY (LoadCredential=secret:…)")
    value = (Path(directory) / "secret").read_bytes().strip()
    if not value:
        raise RuntimeError("bastide_radicale_auth: the secret credential is empty")
    return value


class Auth(auth.BaseAuth):
    def __init__(self, configuration: object) -> None:
        # Before anything else: an instance without its secret must not start at all.
        self._expected = _secret()
        super().__init__(configuration)

    def get_external_login(self, environ: dict) -> tuple[str, str]:
        # Always a pair, never (): Radicale then ignores any HTTP Basic header altogether. The
        # "password" carries this request's verdict to _login, which sees no environ.
        login = environ.get("HTTP_REMOTE_USER", "").strip()
        if not login:
            # Anonymous: no right matches it (only /.web/'s static files are served).
            return ("", "")
        given = environ.get("HTTP_X_BASTIDE_SECRET", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._expected):
            return (login, "")
        if login.startswith(TRUSTED_PREFIX) and environ.get(PROXIED):
            return (login, "")
        return (login, VERIFIED)

    def _login(self, login: str, password: str) -> str:
        return login if password == VERIFIED else ""
