"""The calendars' authentication plugin (roles/calendars/files/bastide_radicale_auth.py): nginx's
Remote-User is believed only beside the commune's secret, and the host's trusted programs'
logins (``_rdv``) only on requests that did not come through nginx."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "roles" / "calendars" / "files" / "bastide_radicale_auth.py"
SECRET = "s3cret-of-the-commune"


class _BaseAuth:
    """What the plugin uses of radicale.auth.BaseAuth (3.9.0), when Radicale is not installed."""

    def __init__(self, configuration: Any) -> None:
        self.configuration = configuration


@pytest.fixture()
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    try:
        import radicale.auth  # noqa: F401
    except ImportError:
        stub = types.ModuleType("radicale")
        stub_auth = types.ModuleType("radicale.auth")
        stub_auth.BaseAuth = _BaseAuth  # type: ignore[attr-defined]
        stub.auth = stub_auth  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "radicale", stub)
        monkeypatch.setitem(sys.modules, "radicale.auth", stub_auth)
    (tmp_path / "secret").write_text(SECRET + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    spec = importlib.util.spec_from_file_location("bastide_radicale_auth_under_test", PLUGIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _who(plugin: ModuleType, environ: dict[str, Any]) -> str:
    """Who Radicale would serve: its login flow is get_external_login, then _login when the
    login is not empty."""
    auth = object.__new__(plugin.Auth)
    auth._expected = SECRET.encode()
    found = auth.get_external_login(environ)
    assert found != (), "HTTP Basic must never be looked at"
    login, password = found
    return auth._login(login, password) if login else ""


def test_the_login_is_believed_with_the_secret(plugin: ModuleType) -> None:
    environ = {"HTTP_REMOTE_USER": "marie.dupont", "HTTP_X_BASTIDE_SECRET": SECRET, plugin.PROXIED: True}
    assert _who(plugin, environ) == "marie.dupont"


@pytest.mark.parametrize("given", [None, "", "guess", SECRET + "x", SECRET[:-1]])
def test_the_login_is_refused_without_the_right_secret(plugin: ModuleType, given: str | None) -> None:
    environ = {"HTTP_REMOTE_USER": "marie.dupont"}
    if given is not None:
        environ["HTTP_X_BASTIDE_SECRET"] = given
    assert _who(plugin, environ) == ""


def test_http_basic_is_never_looked_at(plugin: ModuleType) -> None:
    environ = {"HTTP_AUTHORIZATION": "Basic bWFyaWUuZHVwb250OnBhc3M=", "HTTP_X_BASTIDE_SECRET": SECRET}
    assert _who(plugin, environ) == ""


def test_the_booking_application_is_believed_only_directly(plugin: ModuleType) -> None:
    direct = {"HTTP_REMOTE_USER": "_rdv", "HTTP_X_BASTIDE_SECRET": SECRET}
    assert _who(plugin, direct) == "_rdv"
    assert _who(plugin, {**direct, plugin.PROXIED: True}) == ""


def test_the_verdict_cannot_be_sent_as_a_password(plugin: ModuleType) -> None:
    auth = object.__new__(plugin.Auth)
    assert auth._login("marie.dupont", "bastide-verified") == ""


def test_an_empty_secret_stops_the_instance(tmp_path: Path, plugin: ModuleType) -> None:
    (tmp_path / "secret").write_text("\n")
    with pytest.raises(RuntimeError, match="empty"):
        plugin.Auth(object())
