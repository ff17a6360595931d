"""nginx is the single front door: one HTTPS virtual host per commune site with ANSSI TLS (1.2
and 1.3 only), HSTS and security headers, no server tokens, no default site, HTTP redirected
to HTTPS except ACME challenges, and each site behind the SSO handler: without a session,
people are sent to the portal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def _sites(communes: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    sites = [(c, s) for c in communes for s in c["sites"]]
    if not sites:
        pytest.skip("this host serves no commune site")
    return sites


def _names(hostvars: dict[str, Any], communes: list[dict[str, Any]]) -> list[str]:
    """Every name nginx answers over HTTPS here: the communes' sites, and the portal on the
    identity host."""
    names = [s["fqdn"] for c in communes for s in c["sites"]]
    identity = hostvars.get("bastide_identity") or {}
    if identity.get("host") == hostvars["inventory_hostname"]:
        names.append(identity["portal"])
    if not names:
        pytest.skip("this host answers no name over HTTPS")
    return names


def test_nginx_running_without_default_site(host: Any) -> None:
    assert host.service("nginx").is_running
    assert host.service("nginx").is_enabled
    assert not host.file("/etc/nginx/sites-enabled/default").exists
    with host.sudo():
        dump = host.check_output("nginx -T 2>/dev/null")
    assert "server_tokens off;" in dump


def test_https_headers_and_login_redirect(
    hostvars: dict[str, Any], communes: list[dict[str, Any]], web_get: Callable[..., Any]
) -> None:
    portal = hostvars["bastide_identity"]["portal"]
    for _commune, site in _sites(communes):
        locations = hostvars["bastide_services"][site["service"]]["locations"]
        if next(loc["auth"] for loc in locations if loc["path"] == "/") != "sso":
            continue
        answer = web_get(site["fqdn"], "https", "/some/page?x=1")
        headers = answer["headers"]
        assert answer["status"] == 302, (site, answer["status"])
        assert headers["location"].startswith(f"https://{portal}/?url="), headers["location"]
        assert answer["tls"] in ("TLSv1.2", "TLSv1.3")
        assert int(headers["strict-transport-security"].split("max-age=")[1].split(";")[0]) >= 31536000
        assert headers["x-content-type-options"] == "nosniff"
        assert headers.get("x-frame-options") == "DENY"
        assert headers["referrer-policy"]
        assert headers["server"] == "nginx", "the version must not be disclosed"


def test_http_redirects_to_https_except_acme(
    hostvars: dict[str, Any], communes: list[dict[str, Any]], web_get: Callable[..., Any]
) -> None:
    for fqdn in _names(hostvars, communes):
        answer = web_get(fqdn, "http", "/some/page?x=1")
        assert answer["status"] == 301
        assert answer["headers"]["location"] == f"https://{fqdn}/some/page?x=1"
        challenge = web_get(fqdn, "http", "/.well-known/acme-challenge/bastide-probe")
        assert challenge["status"] == 404, "ACME challenges must be answered over HTTP, not redirected"


def _handshake(host: Any, fqdn: str, version: str) -> Any:
    # SECLEVEL=0 lets this OpenSSL client offer TLS 1.1 at all: the refusal must come from nginx.
    return host.run(
        f"openssl s_client -connect 127.0.0.1:443 -servername {fqdn} -{version} "
        "-cipher 'DEFAULT:@SECLEVEL=0' </dev/null"
    )


def test_tls_versions(host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]) -> None:
    for fqdn in _names(hostvars, communes):
        for old in ("tls1", "tls1_1"):
            refused = _handshake(host, fqdn, old)
            assert refused.rc != 0, f"{fqdn} accepts {old}"
            # the client did offer the old version: the refusal is nginx's
            assert "no protocols available" not in refused.stderr, refused.stderr
        for good in ("tls1_2", "tls1_3"):
            accepted = _handshake(host, fqdn, good)
            assert accepted.rc == 0, f"{fqdn} refuses {good}: {accepted.stderr}"


def test_tls12_only_ecdhe_aead(host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]) -> None:
    fqdn = _names(hostvars, communes)[0]
    weak = host.run(
        f"openssl s_client -connect 127.0.0.1:443 -servername {fqdn} -tls1_2 "
        "-cipher 'AES256-SHA256:AES128-SHA:DHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-SHA384:"
        "ECDHE-RSA-AES128-SHA:@SECLEVEL=0' </dev/null"
    )
    assert weak.rc != 0, "nginx negotiated a TLS 1.2 suite without ECDHE or without AEAD"


def test_unknown_name_gets_no_certificate(host: Any) -> None:
    result = host.run("openssl s_client -connect 127.0.0.1:443 -servername unknown.invalid </dev/null")
    assert result.rc != 0
