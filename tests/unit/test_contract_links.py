"""The contract's links between services and with the front door: ``requires`` (a commune
running one service must run another), ``settings.check`` (a service's own checks of its
inventory section, beyond its schema), and the locations' ``strip_prefix`` and ``embeddable``
and the site's ``redirects`` as nginx writes them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from click.testing import CliRunner
from test_contract import REPO, TESTS, WHOAMI, make_role, on_path, service

from bastide.commands import main
from bastide.core import contract
from bastide.core.contract import ContractError
from bastide.core.inventory import load
from bastide.errors import InputError

NGINX_TEMPLATES = REPO / "roles" / "nginx" / "templates"

CHECK = """
def check(section, commune):
    names = [c["name"] for c in section.get("counters", [])]
    for index, counter in enumerate(section.get("counters", [])):
        if not counter.get("agents"):
            yield (("counters", index, "agents"),
                   {"fr": f"personne ne tient {counter['name']}", "en": f"nobody staffs {counter['name']}"},
                   {"fr": "nommez un agent", "en": "name an agent"})
    if len(set(names)) != len(names):
        yield (("counters",), {"fr": "nom répété", "en": "repeated name"}, {"fr": "renommez", "en": "rename"})
    assert commune["slug"] and all("login" in a for a in commune["agents"])
"""


def _copy(tmp_path: Path, name: str, changes: dict[str, Any]) -> Path:
    roles = tmp_path / "roles"
    shutil.copytree(WHOAMI, roles / name)
    (roles / name / "tests" / "test_whoami.py").rename(roles / name / "tests" / "test_service.py")
    (roles / name / "meta" / "bastide.yml").write_text(
        yaml.safe_dump(service(name, name, **changes), allow_unicode=True), encoding="utf-8"
    )
    return roles


def _inventory(tmp_path: Path, services: str, section: str = "", host_services: str = "") -> Path:
    inventory = tmp_path / "inventory"
    shutil.copytree(TESTS / "fixtures" / "syndicat", inventory)
    commune = inventory / "communes" / "ours-les-bains.yml"
    commune.write_text(
        commune.read_text(encoding="utf-8").replace("services: [drive, whoami]", f"services: {services}")
        + section,
        encoding="utf-8",
    )
    syndicat = inventory / "syndicat.yml"
    syndicat.write_text(
        syndicat.read_text(encoding="utf-8").replace(
            "services: [drive, whoami]", f"services: {host_services or services}"
        ),
        encoding="utf-8",
    )
    return inventory


def _problems(inventory: Path) -> list[str]:
    with pytest.raises(InputError) as raised:
        load(inventory)
    return [f"{p.file}:{p.line}: {p.field}: {p.message} -> {p.fix}" for p in raised.value.problems]


def test_a_required_service_the_commune_does_not_run_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roles = _copy(tmp_path, "carnet", {})
    _copy(tmp_path, "guichet", {"requires": ["carnet"]})
    on_path(monkeypatch, TESTS / "roles", roles)
    problems = _problems(
        _inventory(tmp_path, "[drive, whoami, guichet]", host_services="[drive, whoami, carnet, guichet]")
    )
    assert any(
        "ours-les-bains.yml" in p and "services[2]" in p and "needs service carnet" in p and "add carnet" in p
        for p in problems
    ), problems
    assert load(_inventory(tmp_path / "ok", "[drive, whoami, carnet, guichet]")).commune("ours-les-bains")


def test_requiring_a_service_no_role_declares_is_a_contract_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roles = _copy(tmp_path, "guichet", {"requires": ["carnet"]})
    on_path(monkeypatch, TESTS / "roles", roles)
    with pytest.raises(ContractError, match="requires: no role declares the service"):
        contract.services()


def _with_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "counters": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}, "agents": {"type": "array", "default": []}},
                },
            }
        },
    }
    roles = _copy(tmp_path, "carnet", {"settings": {"commune": schema, "check": "meta/settings_check.py"}})
    (roles / "carnet" / "meta" / "settings_check.py").write_text(CHECK, encoding="utf-8")
    on_path(monkeypatch, TESTS / "roles", roles)


def test_a_services_own_check_reports_with_file_line_field_and_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_check(tmp_path, monkeypatch)
    section = (
        "carnet:\n  counters:\n    - name: Guichet 1\n      agents: [marie.dupont]\n    - name: Guichet 2\n"
    )
    inventory = _inventory(tmp_path, "[drive, whoami, carnet]", section)
    problems = _problems(inventory)
    lines = (inventory / "communes" / "ours-les-bains.yml").read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "Guichet 2" in text)
    assert len(problems) == 1, problems
    assert f"ours-les-bains.yml:{line}: carnet.counters[1]" in problems[0]
    assert "nobody staffs Guichet 2 -> name an agent" in problems[0]


def test_the_check_speaks_the_users_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _with_check(tmp_path, monkeypatch)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    section = "carnet:\n  counters:\n    - name: Guichet 1\n    - name: Guichet 1\n      agents: [x]\n"
    problems = _problems(_inventory(tmp_path, "[drive, whoami, carnet]", section))
    assert any("personne ne tient Guichet 1" in p for p in problems), problems
    assert any("nom répété -> renommez" in p for p in problems), problems


def test_a_section_the_check_accepts_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _with_check(tmp_path, monkeypatch)
    section = "carnet:\n  counters:\n    - name: Guichet 1\n      agents: [marie.dupont]\n"
    loaded = load(_inventory(tmp_path, "[drive, whoami, carnet]", section))
    assert loaded.commune("ours-les-bains").service_settings("carnet")["counters"][0]["agents"] == [
        "marie.dupont"
    ]


def test_a_check_file_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    role = make_role(
        tmp_path, "carnet", service("carnet", "guichet", settings={"check": "meta/settings_check.py"})
    )
    with pytest.raises(ContractError, match=r"settings\.check: .* does not exist"):
        contract.read(role)


# --------------------------------------------------------------------------- nginx


def _site(
    locations: list[dict[str, Any]],
    redirects: dict[str, str] | None = None,
    upstream: str = "http://127.0.0.1:5232",
) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(NGINX_TEMPLATES), undefined=jinja2.StrictUndefined, trim_blocks=True
    )
    site = {
        "fqdn": "carnet.ours.example.fr",
        "service": "carnet",
        "commune": "Ours",
        "slug": "ours",
        "cert": "ours",
        "upstream": upstream,
        "health": "/",
        "redirects": redirects or {},
        "locations": [{"strip_prefix": False, "embeddable": False, "log": True, **loc} for loc in locations],
    }
    return env.get_template("site.conf.j2").render(
        item=site,
        ansible_managed="managed",
        ansible_facts={},
        nginx_http_port=80,
        nginx_https_port=443,
        nginx_tls_dir="/etc/bastide/tls",
        nginx_acme_webroot="/var/www/acme",
        nginx_secrets_dir="/etc/nginx/s",
    )


def _block(text: str, opening: str) -> str:
    start = text.index(opening)
    return text[start : text.index("\n    }", start)]


def test_a_stripped_prefix_reaches_the_backend_at_its_root_with_its_name() -> None:
    text = _site([{"path": "/", "auth": "sso"}, {"path": "/dav/", "auth": "basic", "strip_prefix": True}])
    dav = _block(text, "location /dav/ {")
    assert "proxy_set_header X-Script-Name /dav;" in dav
    assert "proxy_pass http://127.0.0.1:5232/;" in dav
    root = _block(text, "location / {\n        include /etc/nginx/snippets/bastide-security")
    assert "proxy_pass http://127.0.0.1:5232;" in root
    assert 'proxy_set_header X-Script-Name "";' in root  # a client cannot name a prefix


def test_a_socket_upstream_with_a_stripped_prefix() -> None:
    text = _site(
        [{"path": "/", "auth": "sso"}, {"path": "/dav/", "auth": "basic", "strip_prefix": True}],
        upstream="http://unix:/run/x/ours/http.sock:",
    )
    assert "proxy_pass http://unix:/run/x/ours/http.sock:/;" in _block(text, "location /dav/ {")


def test_only_embeddable_paths_may_be_framed() -> None:
    text = _site([{"path": "/", "auth": "public", "embeddable": True}, {"path": "/agents/", "auth": "sso"}])
    assert "bastide-security-headers-embeddable.conf" in _block(text, "location / {\n        # Shown")
    assert "bastide-security-headers.conf" in _block(text, "location /agents/ {")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(NGINX_TEMPLATES), trim_blocks=True)
    values = {"ansible_managed": "m", "nginx_hsts_max_age": 1, "nginx_referrer_policy": "no-referrer"}
    plain = env.get_template("security-headers.conf.j2").render(values)
    framed = env.get_template("security-headers.conf.j2").render(values, embeddable=True)
    assert 'X-Frame-Options "DENY"' in plain and "X-Frame-Options" not in framed
    assert "Strict-Transport-Security" in framed and "nosniff" in framed


def test_a_path_carrying_a_credential_is_not_logged() -> None:
    text = _site([{"path": "/", "auth": "public"}, {"path": "/rdv/", "auth": "public", "log": False}])
    assert "access_log off;" in _block(text, "location /rdv/ {")
    assert "access_log off;" not in _block(text, "location / {")


def test_redirects_are_answered_before_any_login() -> None:
    text = _site([{"path": "/", "auth": "sso"}], {"/.well-known/caldav": "/dav/"})
    block = _block(text, "location = /.well-known/caldav {")
    assert "return 301 /dav/;" in block and "auth_request" not in block


# --------------------------------------------------------------------------- one service alone


def test_one_service_converges_on_the_hosts_of_its_communes_and_its_part() -> None:
    from bastide.core.ansible import service_hosts

    demo = load(REPO / "inventories" / "demo")
    assert service_hosts(demo, "drive", None) == ["srv-ours-1", "srv-ours-2"]
    assert service_hosts(demo, "drive", ["srv-ours-2"]) == ["srv-ours-2"]
    assert service_hosts(demo, "rdv", ["srv-ours-1"]) == ["srv-ours-1"]


def test_a_service_no_commune_runs_is_refused_before_anything_runs() -> None:
    result = CliRunner().invoke(main, ["deploy", str(REPO / "inventories" / "demo"), "--service", "whoami"])
    assert result.exit_code == 2, result.output
    assert "no commune of this inventory runs the service 'whoami'" in result.output
    assert "calendars, drive, rdv" in result.output
