"""Which secrets an inventory needs: derived from the communes and the service catalogue.

For every commune and every service it runs:

- ``app-<service>``: the application's own secret (signing/encryption key);
- ``<backend>-<service>`` for every backend the service needs (the contract's ``needs``),
  e.g. ``postgresql-docs`` (the database role's password) and ``redis-docs``;

the secrets the service's contract declares (``secrets``, per commune or once for the
syndicat), and per commune ``backup-repository``: the password of its backup repository, so that each
commune's backups are encrypted with a key of its own.

With an ``identity`` section, the directory's service accounts: per commune
``directory-reader`` (its read-only account, confined to its branch) and ``_syndicat``'s
``directory-portal`` (the portal's), ``_syndicat``'s ``sso-key`` (the SSO portal's and handlers'
key), ``oidc-signing-key`` (the key its OpenID Connect tokens are signed with), and per commune
``sso-header`` (the secret header its backends require) and ``oidc-<service>`` for each service
that speaks OpenID Connect (its client secret). People's one-time
passwords are made by ``bastide agent password``, not here.

Secrets made elsewhere (the internal CA key, S3 credentials from the provider) are stored
with ``Keyring.put`` and are not listed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SSO_KEY = "sso-key"
BACKEND_HEADER_SECRET = "sso-header"
OIDC_SIGNING_KEY = "oidc-signing-key"


def oidc_client_secret(service: str) -> str:
    """The keyring name (commune scope) of a service's OpenID Connect client secret."""
    return f"oidc-{service}"


@dataclass(frozen=True, order=True)
class SecretSpec:
    """A secret bastide generates: where it lives (scope, name) and what kind of value it is."""

    scope: str
    name: str
    kind: str = "password"


def _catalogue_needs() -> dict[str, Sequence[str]]:
    from bastide.core.inventory import catalogue

    return {name: service.needs for name, service in catalogue.services().items()}


def _declared_secrets() -> dict[str, list[dict[str, str]]]:
    """The secrets each service's contract declares (``secrets``: name, kind, scope)."""
    from bastide.core.inventory import catalogue

    services = catalogue.services()
    return {name: list(service.contract.get("secrets") or []) for name, service in services.items()}


def _oidc_services() -> set[str]:
    from bastide.core.inventory import catalogue

    return {name for name, service in catalogue.services().items() if service.contract.get("oidc")}


def required_secrets(inventory: Any, needs: Mapping[str, Sequence[str]] | None = None) -> list[SecretSpec]:
    """Every generated secret ``inventory`` needs, sorted. ``needs`` maps a service to the
    backends it needs; by default it comes from the services' contracts."""
    from_catalogue = needs is None
    needs = _catalogue_needs() if needs is None else needs
    specs: set[SecretSpec] = set()
    from bastide.core.identity.directory import SYNDICAT_SCOPE

    declared = _declared_secrets() if from_catalogue else {}
    for commune in inventory.communes:
        for service in commune.services:
            for secret in declared.get(service, ()):
                scope = commune.slug if secret["scope"] == "commune" else SYNDICAT_SCOPE
                specs.add(SecretSpec(scope, secret["name"], secret["kind"]))
        specs.add(SecretSpec(commune.slug, "backup-repository", "password"))
        for service in commune.services:
            specs.add(SecretSpec(commune.slug, f"app-{service}", "app-secret"))
            for backend in needs.get(service, ()):
                specs.add(SecretSpec(commune.slug, f"{backend}-{service}", "password"))
    if getattr(inventory, "identity", None) is not None:
        from bastide.core.identity import directory

        specs.add(SecretSpec(directory.SYNDICAT_SCOPE, directory.PORTAL_SECRET, "password"))
        # LemonLDAP::NG's own key, the same for the portal and every handler.
        specs.add(SecretSpec(directory.SYNDICAT_SCOPE, SSO_KEY, "app-secret"))
        # The key the portal signs OpenID Connect tokens with.
        specs.add(SecretSpec(directory.SYNDICAT_SCOPE, OIDC_SIGNING_KEY, "rsa-key"))
        oidc = _oidc_services() if from_catalogue else set()
        for commune in inventory.communes:
            for service in commune.services:
                if service in oidc:
                    specs.add(SecretSpec(commune.slug, oidc_client_secret(service), "app-secret"))
            specs.add(SecretSpec(commune.slug, directory.READER_SECRET, "password"))
            # The header nginx adds to every request it sends to the commune's backends.
            specs.add(SecretSpec(commune.slug, BACKEND_HEADER_SECRET, "app-secret"))
    return sorted(specs)
