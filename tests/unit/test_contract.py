"""The service contract (``meta/bastide.yml``): the tests' whoami loads and makes the catalogue,
and every bad field of a contract is refused with the file it is in.

Roles with a contract are looked for in bastide's roles and in ``BASTIDE_ROLES_PATH``; the tests
set it to ``tests/roles`` (tests/conftest.py). Here other roles are built in ``tmp_path`` and the
variable pointed at them: discovery is cached by the tuple of directories, so a new directory
gives a fresh result.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from bastide.commands import main
from bastide.core import contract
from bastide.core.contract import ContractError
from bastide.core.inventory import Commune, catalogue, load
from bastide.errors import EXIT_BAD_INPUT, InputError
from bastide.paths import roles_dir

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
WHOAMI = TESTS / "roles" / "whoami"
WHOAMI_CONTRACT = yaml.safe_load((WHOAMI / "meta" / "bastide.yml").read_text(encoding="utf-8"))
DRIVE = REPO / "roles" / "drive"


def make_role(base: Path, role: str, data: Any, *, checks: str | None = "tests/test_service.py") -> Path:
    """A role directory with ``data`` as its contract (YAML text if a string) and a checks file."""
    path = base / role
    (path / "meta").mkdir(parents=True)
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    (path / "meta" / "bastide.yml").write_text(text, encoding="utf-8")
    if checks is not None:
        (path / checks).parent.mkdir(parents=True, exist_ok=True)
        (path / checks).write_text('"""Checks."""\n', encoding="utf-8")
    return path


def service(name: str, subdomain: str, **changes: Any) -> dict[str, Any]:
    """whoami's contract under another name, with ``changes`` applied."""
    data = copy.deepcopy(WHOAMI_CONTRACT)
    data.update(service=name, subdomain=subdomain, checks="tests/test_service.py")
    data.update(changes)
    return data


def on_path(monkeypatch: pytest.MonkeyPatch, *dirs: Path) -> None:
    monkeypatch.setenv(contract.EXTRA_ROLES_ENV, os.pathsep.join(str(d) for d in dirs))


# --------------------------------------------------------------- the tests' service


def test_the_whoami_contract_loads() -> None:
    found = contract.read(WHOAMI)
    assert (found.role, found.name, found.path) == ("whoami", "whoami", WHOAMI)
    declared = found.contract
    assert declared.service == "whoami" and declared.subdomain == "whoami"
    assert declared.needs == ("postgresql", "redis")
    assert [(loc.path, loc.auth) for loc in declared.locations] == [
        ("/", "sso"),
        ("/dav/", "basic"),
        ("/public/", "public"),
        ("/oidc/", "oidc"),
    ]
    assert declared.oidc is not None and declared.oidc.redirect_paths == ("/oidc/callback",)
    assert declared.upstream.socket == "/run/bastide-whoami/{commune}/http.sock"
    assert declared.upstream.port is None
    assert declared.health == "/healthz"
    assert [(u.name, u.memory_max) for u in declared.units] == [("bastide-whoami@{commune}.service", "64M")]
    assert declared.data.databases == ("postgresql",)
    assert declared.description.fr and declared.description.en
    assert found.checks == [WHOAMI / "tests" / "test_whoami.py"] and found.checks[0].is_file()


def test_the_tests_roles_are_on_the_path() -> None:
    assert str(TESTS / "roles") in os.environ[contract.EXTRA_ROLES_ENV].split(os.pathsep)
    dirs = contract.role_dirs()
    assert dirs[0] == roles_dir()  # bastide's own roles come first
    assert TESTS / "roles" in dirs[1:]
    services = contract.services()
    # bastide's own service first (its roles directory comes first), then the tests' one.
    assert list(services) == ["calendars", "drive", "rdv", "whoami"]
    assert services["drive"].path == DRIVE
    assert services["whoami"].path == WHOAMI


def test_the_catalogue_holds_whoami() -> None:
    services = catalogue.services()
    shipped = sorted(p.parent.parent.name for p in (REPO / "roles").glob("*/meta/bastide.yml"))
    assert {services[n].contract["role"] for n in services} == {*shipped, "whoami"}
    whoami = services["whoami"]
    assert whoami.name == "whoami" and whoami.subdomain == "whoami"
    assert whoami.needs == ("postgresql", "redis")
    assert whoami.ports == (443, 80)
    assert set(whoami.description) == {"fr", "en"}
    assert whoami.describe() == WHOAMI_CONTRACT["description"]["en"]
    described = whoami.as_dict()
    assert described["role"] == "whoami"
    assert described["ports"] == [443, 80] and described["needs"] == ["postgresql", "redis"]
    assert described["upstream"] == {"socket": "/run/bastide-whoami/{commune}/http.sock", "port": None}
    assert described["locations"][0] == {
        "path": "/", "auth": "sso", "strip_prefix": False, "embeddable": False, "log": True
    }
    assert described["backup"]["quiesce"] == "systemctl stop bastide-whoami@{commune}.service"


def test_the_description_follows_the_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert catalogue.services()["whoami"].describe() == WHOAMI_CONTRACT["description"]["fr"]


def test_bastide_ships_the_roles_with_a_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without BASTIDE_ROLES_PATH, the catalogue is exactly bastide's roles that have a contract:
    today the drive, the calendars and the booking."""
    monkeypatch.delenv(contract.EXTRA_ROLES_ENV)
    assert contract.role_dirs() == [roles_dir()]
    with_contract = {p.parent.parent.name for p in roles_dir().glob("*/meta/bastide.yml")}
    assert with_contract == {"calendars", "drive", "rdv"}
    services = catalogue.services()
    shipped = {contract.read(roles_dir() / role).name for role in with_contract}
    assert set(services) == shipped == {"calendars", "drive", "rdv"}
    drive = services["drive"]
    assert drive.contract["role"] == "drive" and drive.subdomain == "documents"
    assert [(loc["path"], loc["auth"]) for loc in drive.contract["locations"]] == [
        ("/", "sso"),
        ("/dav/", "basic"),
        ("/partage/", "public"),
    ]


# --------------------------------------------------------------- services from elsewhere


def test_a_role_on_the_path_joins_the_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A service plugs in by its contract alone; its sites answer at its subdomain, not its name."""
    changed = service("agenda", "prise", needs=["postgresql"], data={}, backup={})
    make_role(tmp_path, "bastide-agenda", changed)
    on_path(monkeypatch, TESTS / "roles", tmp_path)
    services = catalogue.services()
    assert sorted(services) == ["agenda", "calendars", "drive", "rdv", "whoami"]
    agenda = services["agenda"]
    assert (agenda.subdomain, agenda.needs, agenda.ports) == ("prise", ("postgresql",), (443, 80))
    assert agenda.contract["role"] == "bastide-agenda"  # the role's directory, not the service
    commune = Commune.model_validate(
        {
            "slug": "ours",
            "name": "Ours",
            "insee": "38123",
            "domain": "ours.example.fr",
            "host": "h",
            "services": ["agenda", "whoami"],
            "backup_target": "t",
        }
    )
    assert [(s.service, s.fqdn) for s in commune.sites()] == [
        ("agenda", "prise.ours.example.fr"),
        ("whoami", "whoami.ours.example.fr"),
    ]


def test_a_role_without_a_contract_is_no_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "helper" / "tasks").mkdir(parents=True)
    (tmp_path / "helper" / "tasks" / "main.yml").write_text("[]\n")
    (tmp_path / "not-a-role.yml").write_text("service: nope\n")
    on_path(monkeypatch, tmp_path)
    # Only bastide's own service: neither the helper role nor the stray file is one.
    assert list(catalogue.services()) == ["calendars", "drive", "rdv"]


def test_two_roles_declaring_one_service_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = make_role(tmp_path / "a", "agenda", service("agenda", "prise"))
    second = make_role(tmp_path / "b", "agenda-bis", service("agenda", "agenda"))
    on_path(monkeypatch, tmp_path / "a", tmp_path / "b")
    with pytest.raises(ContractError) as raised:
        contract.services()
    message = str(raised.value)
    assert str(second / "meta" / "bastide.yml") in message
    assert "service 'agenda' is already declared by" in message
    assert str(first / "meta" / "bastide.yml") in message


def test_two_services_at_one_subdomain_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two services at one name would give nginx two server blocks for one site."""
    clash = make_role(tmp_path, "agenda", service("agenda", "whoami"))
    on_path(monkeypatch, TESTS / "roles", tmp_path)
    with pytest.raises(ContractError) as raised:
        contract.services()
    message = str(raised.value)
    assert str(clash / "meta" / "bastide.yml") in message
    assert "subdomain 'whoami' is already the one of service 'whoami'" in message


def test_a_role_redeclaring_the_tests_service_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_of = make_role(tmp_path, "whoami-copy", service("whoami", "qui"))
    on_path(monkeypatch, TESTS / "roles", tmp_path)
    with pytest.raises(ContractError, match="already declared by") as raised:
        catalogue.services()
    assert str(copy_of / "meta" / "bastide.yml") in str(raised.value)
    assert str(WHOAMI / "meta" / "bastide.yml") in str(raised.value)


def test_a_bad_contract_on_the_path_fails_validate_with_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = service("agenda", "prise", upstream={"port": 8000, "socket": "/run/x"})
    bad = make_role(tmp_path, "agenda", changed)
    on_path(monkeypatch, TESTS / "roles", tmp_path)
    result = CliRunner(env={"COLUMNS": "400"}).invoke(main, ["validate", str(REPO / "inventories" / "demo")])
    assert result.exit_code == EXIT_BAD_INPUT == 2
    stderr = " ".join(result.stderr.split())
    assert str(bad / "meta" / "bastide.yml") in stderr
    assert "give exactly one of socket or port" in stderr
    assert "Traceback" not in result.output


def test_the_inventory_sees_the_services_on_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without tests/roles on the path, whoami is an unknown service of the tests' syndicat."""
    make_role(tmp_path, "agenda", service("agenda", "prise"))
    on_path(monkeypatch, tmp_path)
    with pytest.raises(InputError) as raised:
        load(TESTS / "fixtures" / "syndicat")
    problems = raised.value.problems
    assert len(problems) == 2 + 4  # each host's and each commune's services[1] (after drive)
    assert all(p.field.endswith("services[1]") for p in problems)
    assert all("unknown service `whoami`" in p.message for p in problems)


# --------------------------------------------------------------- bad contracts


def _drop_root(data: dict[str, Any]) -> None:
    data["locations"] = [loc for loc in data["locations"] if loc["path"] != "/"]


BAD: dict[str, tuple[Any, str]] = {
    "location-without-trailing-slash": (
        lambda d: d["locations"].__setitem__(1, {"path": "/dav", "auth": "basic"}),
        "locations.1.path: Value error, a path starts and ends with /",
    ),
    "location-relative": (
        lambda d: d["locations"].__setitem__(1, {"path": "dav/", "auth": "basic"}),
        "locations.1.path: Value error, a path starts and ends with /",
    ),
    "auth-magic": (
        lambda d: d["locations"].__setitem__(0, {"path": "/", "auth": "magic"}),
        "locations.0.auth: Input should be 'sso', 'basic', 'oidc' or 'public'",
    ),
    "no-root-location": (_drop_root, "locations must include the path /"),
    "location-twice": (
        lambda d: d["locations"].append({"path": "/dav/", "auth": "public"}),
        "a path is listed twice in locations",
    ),
    "socket-and-port": (
        lambda d: d.__setitem__("upstream", {"socket": "/run/x/{commune}.sock", "port": 8000}),
        "upstream: Value error, give exactly one of socket or port",
    ),
    "neither-socket-nor-port": (
        lambda d: d.__setitem__("upstream", {}),
        "upstream: Value error, give exactly one of socket or port",
    ),
    "socket-outside-run": (
        lambda d: d.__setitem__("upstream", {"socket": "/tmp/{commune}.sock"}),
        "a socket lives under /run/",
    ),
    "privileged-port": (
        lambda d: d.__setitem__("upstream", {"port": 80}),
        "upstream.port: Input should be greater than or equal to 1024",
    ),
    "unknown-backend": (lambda d: d.__setitem__("needs", ["mysql"]), "needs.0: Input should be"),
    "service-name": (lambda d: d.__setitem__("service", "Who_Ami"), "service: String should match pattern"),
    "subdomain": (lambda d: d.__setitem__("subdomain", "who.ami"), "subdomain: String should match pattern"),
    "health-relative": (lambda d: d.__setitem__("health", "healthz"), "health: String should match pattern"),
    "memory-limit": (
        lambda d: d["units"][0].__setitem__("memory_max", "64MB"),
        "units.0.memory_max: String should match pattern",
    ),
    "description-without-french": (
        lambda d: d["description"].pop("fr"),
        "description.fr: Field required",
    ),
    "database-not-postgresql": (
        lambda d: d["data"].__setitem__("databases", ["redis"]),
        "data.databases.0: Input should be 'postgresql'",
    ),
    "unknown-key": (lambda d: d.__setitem__("colour", "blue"), "colour: Extra inputs are not permitted"),
    "checks-outside-tests": (
        lambda d: d.__setitem__("checks", "checks.py"),
        "checks.0: String should match pattern",
    ),
    "missing-upstream": (lambda d: d.pop("upstream"), "upstream: Field required"),
    "strip-prefix-at-root": (
        lambda d: d["locations"].__setitem__(0, {"path": "/", "auth": "sso", "strip_prefix": True}),
        "strip_prefix needs a path other than /",
    ),
    "redirect-elsewhere": (
        lambda d: d.__setitem__("redirects", {"/.well-known/caldav": "https://evil.example/"}),
        "redirects map a path to a path of the same site",
    ),
    "settings-check-not-python": (
        lambda d: d.__setitem__("settings", {"check": "meta/check.sh"}),
        "settings.check: String should match pattern",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_bad_field_is_refused_with_the_file(tmp_path: Path, case: str) -> None:
    change, expected = BAD[case]
    data = service("agenda", "prise")
    change(data)
    role = make_role(tmp_path, "agenda", data)
    with pytest.raises(ContractError) as raised:
        contract.read(role)
    message = str(raised.value)
    assert message.startswith(f"{role / 'meta' / 'bastide.yml'}: ")
    assert expected in message
    assert raised.value.exit_code == EXIT_BAD_INPUT


def test_the_good_contract_of_the_bad_cases_loads(tmp_path: Path) -> None:
    """The cases above differ from a valid contract by their one defect only."""
    assert contract.read(make_role(tmp_path, "agenda", service("agenda", "prise"))).name == "agenda"


def test_a_port_upstream_is_accepted(tmp_path: Path) -> None:
    found = contract.read(make_role(tmp_path, "agenda", service("agenda", "prise", upstream={"port": 8100})))
    assert (found.contract.upstream.port, found.contract.upstream.socket) == (8100, None)


def test_a_checks_file_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    role = make_role(tmp_path, "agenda", service("agenda", "prise", checks="tests/test_agenda.py"))
    with pytest.raises(ContractError) as raised:
        contract.read(role)
    message = str(raised.value)
    assert message.startswith(f"{role / 'meta' / 'bastide.yml'}: checks: ")
    assert f"{role / 'tests' / 'test_agenda.py'} does not exist" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("service: [unclosed\n", "while parsing"),
        ("- service: agenda\n", "(file): Input should be a valid dictionary"),
        ("", "service: Field required"),
    ],
    ids=["yaml-syntax", "not-a-mapping", "empty"],
)
def test_an_unreadable_contract_is_refused_with_the_file(tmp_path: Path, text: str, expected: str) -> None:
    role = make_role(tmp_path, "agenda", text)
    with pytest.raises(ContractError) as raised:
        contract.read(role)
    assert str(raised.value).startswith(f"{role / 'meta' / 'bastide.yml'}: ")
    assert expected in str(raised.value)


def test_a_bad_contract_on_the_path_breaks_the_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = service("agenda", "prise")
    data["locations"][1]["auth"] = "magic"
    role = make_role(tmp_path, "agenda", data)
    on_path(monkeypatch, tmp_path)
    with pytest.raises(ContractError, match=r"locations\.1\.auth") as raised:
        catalogue.services()
    assert str(role / "meta" / "bastide.yml") in str(raised.value)


# --------------------------------------------------------------- plugging in by the contract alone


def test_a_copied_service_role_plugs_in_with_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second service made by copying the test service's role and changing its contract only:
    the rendered inventory gives nginx its sites, the playbook includes its role, the keyring
    makes its secrets and verify runs its checks, without a line of bastide changed."""
    import shutil

    from bastide.core import verify
    from bastide.core.ansible.render import render
    from bastide.core.keys.required import required_secrets

    copy_dir = tmp_path / "roles"
    shutil.copytree(WHOAMI, copy_dir / "quisuisje")
    (copy_dir / "quisuisje" / "tests" / "test_whoami.py").rename(
        copy_dir / "quisuisje" / "tests" / "test_quisuisje.py"
    )
    changed = service("quisuisje", "qui", needs=["redis"])
    changed["checks"] = "tests/test_quisuisje.py"
    (copy_dir / "quisuisje" / "meta" / "bastide.yml").write_text(yaml.safe_dump(changed), encoding="utf-8")
    on_path(monkeypatch, TESTS / "roles", copy_dir)

    inventory_dir = tmp_path / "inventory"
    shutil.copytree(TESTS / "fixtures" / "syndicat", inventory_dir)
    commune_file = inventory_dir / "communes" / "ours-les-bains.yml"
    commune_file.write_text(
        commune_file.read_text(encoding="utf-8").replace(
            "services: [drive, whoami]", "services: [drive, whoami, quisuisje]"
        ),
        encoding="utf-8",
    )
    syndicat_file = inventory_dir / "syndicat.yml"
    syndicat_file.write_text(
        syndicat_file.read_text(encoding="utf-8").replace(
            "services: [drive, whoami]", "services: [drive, whoami, quisuisje]"
        ),
        encoding="utf-8",
    )
    inventory = load(inventory_dir)
    assert [s.fqdn for s in inventory.commune("ours-les-bains").sites()] == [
        "documents.ours-les-bains.example.fr",
        "whoami.ours-les-bains.example.fr",
        "qui.ours-les-bains.example.fr",
    ]
    rendered = render(inventory)
    everything = rendered["all"]
    assert everything["vars"]["bastide_services"]["quisuisje"]["role"] == "quisuisje"
    assert "qui.ours-les-bains.example.fr" in {s["fqdn"] for s in everything["vars"]["bastide_sites"]}
    host = inventory.commune("ours-les-bains").host
    assert host in everything["children"]["service_quisuisje"]["hosts"]
    assert host in everything["children"]["backend_redis"]["hosts"]
    secrets = {(s.scope, s.name) for s in required_secrets(inventory)}
    assert {("ours-les-bains", "app-quisuisje"), ("ours-les-bains", "redis-quisuisje")} <= secrets
    assert ("ours-les-bains", "postgresql-quisuisje") not in secrets
    checks = verify.host_tests(everything["children"], host)
    assert copy_dir / "quisuisje" / "tests" / "test_quisuisje.py" in checks
    assert WHOAMI / "tests" / "test_whoami.py" in checks
    # The playbook includes each service's role by the name the contract's render gives it.
    site = yaml.safe_load((REPO / "playbooks" / "site.yml").read_text(encoding="utf-8"))
    [services_play] = [p for p in site if p["name"] == "The communes' services"]
    assert services_play["tasks"][0]["ansible.builtin.include_role"]["name"] == (
        "{{ bastide_services[bastide_service].role }}"
    )
