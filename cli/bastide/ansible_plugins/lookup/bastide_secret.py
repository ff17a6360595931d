"""Ansible lookup ``bastide_secret``: a secret from the bastide key agent of the current run."""

from __future__ import annotations

import base64
import json
import os
import socket

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = """
name: bastide_secret
author: bastide
short_description: Read a secret from bastide's keyring during a bastide run
description:
  - Asks the key agent that C(bastide deploy) starts for the duration of a run (a private unix
    socket, C(BASTIDE_KEYS_SOCKET), and a per-run token, C(BASTIDE_KEYS_TOKEN)) for one secret.
  - The value is never written to disk on the controller. Use it only in tasks with C(no_log).
options:
  _terms:
    description: Two terms, the scope (a commune slug, or C(_syndicat)) then the secret's name.
    required: true
  default:
    description: What to return when the keyring has no such secret (otherwise an error).
    type: str
"""

EXAMPLES = """
- name: Set the database role password
  community.postgresql.postgresql_user:
    name: docs
    password: "{{ lookup('bastide_secret', 'ours-les-bains', 'postgresql-docs') }}"
  no_log: true
"""

RETURN = """
_raw:
  description: The secret's value, as text.
  type: list
  elements: str
"""

_TIMEOUT = 30.0


def _ask(path: str, token: str, scope: str, name: str) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(_TIMEOUT)
        client.connect(path)
        client.sendall(json.dumps({"token": token, "scope": scope, "name": name}).encode("utf-8") + b"\n")
        return json.loads(client.makefile("rb").readline())


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if len(terms) != 2 or not all(isinstance(term, str) and term for term in terms):
            raise AnsibleError(
                "bastide_secret: expected two terms, the scope (commune slug or _syndicat) and the "
                "secret's name, e.g. lookup('bastide_secret', 'ours-les-bains', 'postgresql-docs')"
            )
        scope, name = str(terms[0]), str(terms[1])
        path = os.environ.get("BASTIDE_KEYS_SOCKET")
        token = os.environ.get("BASTIDE_KEYS_TOKEN")
        if not path or not token:
            raise AnsibleError(
                "bastide_secret: no bastide key agent for this run (BASTIDE_KEYS_SOCKET and "
                "BASTIDE_KEYS_TOKEN are not set); run the playbook through `bastide deploy`"
            )
        try:
            answer = _ask(path, token, scope, name)
        except (OSError, ValueError) as error:
            raise AnsibleError(
                f"bastide_secret: the bastide key agent at {path} did not answer "
                f"({error.__class__.__name__}); it lives only as long as the `bastide deploy` that started it"
            ) from None
        if "value" in answer:
            try:
                return [base64.b64decode(answer["value"]).decode("utf-8")]
            except (ValueError, UnicodeDecodeError):
                raise AnsibleError(
                    f"bastide_secret: {scope}/{name} is not text; it cannot be used in a template"
                ) from None
        error = answer.get("error")
        if error == "unknown" and "default" in kwargs:
            return [str(kwargs["default"])]
        if error == "controller-only":
            raise AnsibleError(f"bastide_secret: {name!r} never leaves the controller (docs/backups.md)")
        if error == "unknown":
            raise AnsibleError(
                f"bastide_secret: the keyring has no secret {name!r} for {scope!r}; "
                "`bastide keys status INVENTORY` lists the secrets it holds"
            )
        if error == "denied":
            raise AnsibleError("bastide_secret: the key agent refused the request (wrong BASTIDE_KEYS_TOKEN)")
        if error == "corrupt":
            raise AnsibleError(f"bastide_secret: {scope}/{name} failed its integrity check in the keyring")
        raise AnsibleError(f"bastide_secret: the key agent could not answer ({error})")
