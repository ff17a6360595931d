"""The contract's newer parts: ``settings`` (JSON Schemas of the inventory sections), ``secrets``
(generated in the keyring) and ``syndicat_part`` (a part run once for the syndicat), from the
contract file to the rendered inventory and the keyring.

As in test_contract.py, roles are built in ``tmp_path`` and ``BASTIDE_ROLES_PATH`` pointed at
them: the catalogue is cached per tuple of role directories, so a new directory is read afresh.
"""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bastide.core import contract
from bastide.core.ansible.render import SYNDICAT_PARTS_GROUP, host_variables, render
from bastide.core.contract import ContractError
from bastide.core.inventory import catalogue, load
from bastide.core.keys.required import required_secrets
from bastide.errors import EXIT_BAD_INPUT

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
SYNDICAT = TESTS / "fixtures" / "syndicat"
WHOAMI_CONTRACT = yaml.safe_load(
    (TESTS / "roles" / "whoami" / "meta" / "bastide.yml").read_text(encoding="utf-8")
)
DRIVE_CONTRACT = yaml.safe_load(
    (REPO / "roles" / "drive" / "meta" / "bastide.yml").read_text(encoding="utf-8")
)

HUB_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["hub"],
    "properties": {
        "hub": {"type": "string", "format": "bastide-host"},
        "port": {"type": "integer", "default": 22067},
    },
}


def relais(**changes: Any) -> dict[str, Any]:
    """A service with a syndicat-wide part (whoami's contract otherwise), with ``changes``."""
    data = copy.deepcopy(WHOAMI_CONTRACT)
    data.update(
        service="relais",
        subdomain="relais",
        needs=[],
        checks="tests/test_service.py",
        settings={"syndicat": copy.deepcopy(HUB_SCHEMA)},
        secrets=[{"name": "relais-identity", "kind": "x509-identity", "scope": "syndicat"}],
        syndicat_part={"role": "relais_hub", "host_setting": "hub", "ports": [22067, 22070]},
    )
    data.update(changes)
    return data


def make_role(base: Path, role: str, data: dict[str, Any]) -> Path:
    path = base / role
    (path / "meta").mkdir(parents=True)
    (path / "meta" / "bastide.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (path / "tests").mkdir()
    (path / "tests" / "test_service.py").write_text('"""Checks."""\n', encoding="utf-8")
    return path


def refused(tmp_path: Path, data: dict[str, Any]) -> str:
    role = make_role(tmp_path, "relais", data)
    with pytest.raises(ContractError) as raised:
        contract.read(role)
    assert raised.value.exit_code == EXIT_BAD_INPUT
    message = str(raised.value)
    assert message.startswith(f"{role / 'meta' / 'bastide.yml'}: ")
    return message


# ------------------------------------------------------------------ the contract file


def test_the_good_contract_loads(tmp_path: Path) -> None:
    found = contract.read(make_role(tmp_path, "relais", relais()))
    declared = found.contract
    assert declared.settings.syndicat == HUB_SCHEMA and declared.settings.commune is None
    assert [(s.name, s.kind, s.scope) for s in declared.secrets] == [
        ("relais-identity", "x509-identity", "syndicat")
    ]
    assert declared.syndicat_part is not None
    assert (declared.syndicat_part.role, declared.syndicat_part.host_setting) == ("relais_hub", "hub")
    assert declared.syndicat_part.ports == (22067, 22070)


def test_the_drive_contract_declares_its_settings_and_secrets() -> None:
    declared = contract.read(REPO / "roles" / "drive").contract
    commune = declared.settings.commune
    assert commune is not None and commune["type"] == "object"
    assert set(commune["properties"]) == {"quota", "restricted", "devices"}
    syndicat = declared.settings.syndicat
    assert syndicat is not None and syndicat["required"] == ["sync_host"]
    assert syndicat["properties"]["sync_host"]["format"] == "bastide-host"
    assert {(s.name, s.kind, s.scope) for s in declared.secrets} >= {
        ("drive-sync-identity", "x509-identity", "commune"),
        ("drive-discovery-identity", "x509-identity", "syndicat"),
        ("drive-relay-identity", "x509-identity", "syndicat"),
    }


def test_a_secret_s_scope_defaults_to_the_commune(tmp_path: Path) -> None:
    data = relais(secrets=[{"name": "relais-key", "kind": "password"}])
    [secret] = contract.read(make_role(tmp_path, "relais", data)).contract.secrets
    assert secret.scope == "commune"


BAD: dict[str, tuple[dict[str, Any], str]] = {
    "schema-not-an-object": (
        {"settings": {"commune": {"type": "array", "items": {"type": "string"}}}},
        "settings.commune: Value error, the schema of a section is of type object",
    ),
    "schema-without-a-type": (
        {"settings": {"commune": {"properties": {"quota": {"type": "string"}}}}},
        "settings.commune: Value error, the schema of a section is of type object",
    ),
    "schema-invalid": (
        {"settings": {"commune": {"type": "object", "properties": {"quota": {"type": "size"}}}}},
        "settings.commune: Value error, not a JSON Schema:",
    ),
    "schema-invalid-required": (
        {"settings": {"syndicat": {**HUB_SCHEMA, "required": "hub"}}},
        "settings.syndicat: Value error, not a JSON Schema:",
    ),
    "settings-unknown-level": (
        {"settings": {"host": {"type": "object"}}},
        "settings.host: Extra inputs are not permitted",
    ),
    "host-setting-not-required": (
        {"settings": {"syndicat": {**HUB_SCHEMA, "required": []}}},
        "syndicat_part.host_setting 'hub' must be a required property of settings.syndicat",
    ),
    "host-setting-without-syndicat-settings": (
        {"settings": {}},
        "syndicat_part.host_setting 'hub' must be a required property of settings.syndicat",
    ),
    "host-setting-misnamed": (
        {"syndicat_part": {"role": "relais_hub", "host_setting": "host", "ports": [22067]}},
        "syndicat_part.host_setting 'host' must be a required property of settings.syndicat",
    ),
    "part-role-name": (
        {"syndicat_part": {"role": "Relais Hub", "host_setting": "hub"}},
        "syndicat_part.role: String should match pattern",
    ),
    "secret-kind": (
        {"secrets": [{"name": "relais-identity", "kind": "ssh-key"}]},
        "secrets.0.kind: Input should be 'password', 'app-secret', 'rsa-key' or 'x509-identity'",
    ),
    "secret-scope": (
        {"secrets": [{"name": "relais-identity", "kind": "password", "scope": "host"}]},
        "secrets.0.scope: Input should be 'commune' or 'syndicat'",
    ),
    "secret-name": (
        {"secrets": [{"name": "Relais_Identity", "kind": "password"}]},
        "secrets.0.name: String should match pattern",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_bad_settings_secrets_or_part_is_refused_with_the_file(tmp_path: Path, case: str) -> None:
    changes, expected = BAD[case]
    assert expected in refused(tmp_path, relais(**changes))


def test_a_bad_schema_on_the_path_breaks_the_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_role(tmp_path, "relais", relais(settings={"commune": {"type": "string"}}))
    monkeypatch.setenv(contract.EXTRA_ROLES_ENV, os.pathsep.join([str(TESTS / "roles"), str(tmp_path)]))
    with pytest.raises(ContractError, match="the schema of a section is of type object"):
        catalogue.services()


# ------------------------------------------------------------------ a syndicat part in the inventory


def inventory_with_relais(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, run: bool = True) -> Path:
    """The tests' syndicat with the relais service on srv-ours-2 (Ortu-di-l'Orsu runs it when
    ``run``) and its syndicat section naming srv-ours-2 as its hub."""
    roles = tmp_path / "roles"
    make_role(roles, "relais", relais())
    monkeypatch.setenv(contract.EXTRA_ROLES_ENV, os.pathsep.join([str(TESTS / "roles"), str(roles)]))
    root = tmp_path / "inventory"
    shutil.copytree(SYNDICAT, root)
    syndicat = yaml.safe_load((root / "syndicat.yml").read_text(encoding="utf-8"))
    syndicat["hosts"][1]["services"].append("relais")
    syndicat["relais"] = {"hub": "srv-ours-2"}
    (root / "syndicat.yml").write_text(
        yaml.safe_dump(syndicat, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    if run:
        ortu = root / "communes" / "ortu-di-l-orsu.yml"
        data = yaml.safe_load(ortu.read_text(encoding="utf-8"))
        data["services"].append("relais")
        ortu.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


def test_a_syndicat_part_is_rendered_on_the_host_its_settings_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = render(load(inventory_with_relais(tmp_path, monkeypatch)))
    variables = rendered["all"]["vars"]
    # (Other services of the fixture may declare parts of their own: only relais's is known here.)
    parts = {part["service"]: part for part in variables["bastide_syndicat_parts"]}
    assert parts["relais"] == {
        "service": "relais",
        "role": "relais_hub",
        "host": "srv-ours-2",
        "ports": [22067, 22070],
    }
    group = set(rendered["all"]["children"][SYNDICAT_PARTS_GROUP]["hosts"])
    assert "srv-ours-2" in group and group == {part["host"] for part in parts.values()}
    # The syndicat's sections of every service, with their defaults.
    assert variables["bastide_service_settings"]["relais"] == {"hub": "srv-ours-2", "port": 22067}
    assert variables["bastide_service_settings"]["drive"] == {"sync_host": "srv-ours-1"}
    # The roles receive the contract, without its schemas; the part and the secrets are in it.
    described = variables["bastide_services"]["relais"]
    assert "settings" not in described and "service" not in described
    assert described["syndicat_part"] == {
        "role": "relais_hub",
        "host_setting": "hub",
        "ports": [22067, 22070],
    }
    assert described["role"] == "relais" and described["ports"] == [443, 80]
    # The part's host gets the variable like every host (the play filters on its own name).
    assert parts["relais"] in host_variables(rendered, "srv-ours-1")["bastide_syndicat_parts"]


def test_the_syndicat_part_s_secrets_are_generated_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = required_secrets(load(inventory_with_relais(tmp_path, monkeypatch)))
    assert [(s.scope, s.kind) for s in specs if s.name == "relais-identity"] == [
        ("_syndicat", "x509-identity")
    ]


def test_no_commune_running_the_service_no_syndicat_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = render(load(inventory_with_relais(tmp_path, monkeypatch, run=False)))
    parts = rendered["all"]["vars"]["bastide_syndicat_parts"]
    assert "relais" not in {part["service"] for part in parts}
    group = rendered["all"]["children"].get(SYNDICAT_PARTS_GROUP, {"hosts": {}})
    assert set(group["hosts"]) == {part["host"] for part in parts}  # srv-ours-2 only for relais
    # Its section is still checked and passed on (a host may be chosen before the first commune).
    assert rendered["all"]["vars"]["bastide_service_settings"]["relais"] == {
        "hub": "srv-ours-2",
        "port": 22067,
    }


def test_the_tests_syndicat_has_no_syndicat_part_unless_a_contract_declares_one() -> None:
    rendered = render(load(SYNDICAT))
    declared = any(s.contract.get("syndicat_part") for s in catalogue.services().values())
    assert bool(rendered["all"]["vars"]["bastide_syndicat_parts"]) == declared
    assert (SYNDICAT_PARTS_GROUP in rendered["all"]["children"]) == declared


def test_the_communes_settings_reach_their_host() -> None:
    rendered = render(load(SYNDICAT))
    communes = {c["slug"]: c for c in rendered["all"]["hosts"]["srv-ours-1"]["bastide_communes"]}
    # One entry per service the commune runs: a service without a schema has no settings.
    assert communes["ours-les-bains"]["settings"] == {
        "drive": {"quota": "20G", "restricted": ["État civil"], "devices": []},
        "whoami": {},
    }
    assert communes["saint-aubin-des-combes"]["settings"] == {
        "drive": {"quota": "10G", "restricted": [], "devices": []},
        "whoami": {},
    }
    marie = communes["ours-les-bains"]["agents"][0]
    assert (marie["service_slug"], marie["disabled"]) == ("secretariat-de-mairie", False)
    assert rendered["all"]["vars"]["bastide_service_settings"] == {"drive": {"sync_host": "srv-ours-1"}}


def test_a_commune_s_section_of_a_service_with_a_commune_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service plugged in by its contract alone gets its own commune section checked and
    passed to the role, like the drive's."""
    roles = tmp_path / "roles"
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "owner": {"type": "string", "format": "bastide-agent"},
            "seats": {"type": "integer", "default": 5},
        },
    }
    make_role(roles, "agenda", relais(service="agenda", subdomain="prise", settings={"commune": schema},
                                      secrets=[], syndicat_part=None))  # fmt: skip
    monkeypatch.setenv(contract.EXTRA_ROLES_ENV, os.pathsep.join([str(TESTS / "roles"), str(roles)]))
    root = tmp_path / "inventory"
    shutil.copytree(SYNDICAT, root)
    syndicat = yaml.safe_load((root / "syndicat.yml").read_text(encoding="utf-8"))
    syndicat["hosts"][0]["services"].append("agenda")
    (root / "syndicat.yml").write_text(
        yaml.safe_dump(syndicat, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    ours = root / "communes" / "ours-les-bains.yml"
    data = yaml.safe_load(ours.read_text(encoding="utf-8"))
    data["services"].append("agenda")
    data["agenda"] = {"owner": "karim.benali"}
    ours.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    commune = load(root).commune("ours-les-bains")
    assert commune.service_settings("agenda") == {"owner": "karim.benali", "seats": 5}
    data["agenda"] = {"owner": "helene.martin"}  # an elected official, not an agent
    ours.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    from bastide.errors import InputError

    with pytest.raises(InputError) as raised:
        load(root)
    [problem] = raised.value.problems
    assert (
        problem.field == "agenda.owner"
        and "`helene.martin` is not one of the values allowed here" in problem.message
    )
    assert "marie.dupont" in problem.fix


# ------------------------------------------------------------------ the drive's secrets


def test_the_drive_s_declared_secrets_are_required_with_their_scopes() -> None:
    inventory = load(SYNDICAT)
    specs = {(s.scope, s.name): s.kind for s in required_secrets(inventory)}
    for secret in DRIVE_CONTRACT["secrets"]:
        scopes = (
            [c.slug for c in inventory.communes if "drive" in c.services]
            if secret.get("scope", "commune") == "commune"
            else ["_syndicat"]
        )
        for scope in scopes:
            assert specs[(scope, secret["name"])] == secret["kind"]
    # Per commune, the sync hub's identity; once for the syndicat, the discovery and relay servers'.
    for commune in inventory.communes:
        assert specs[(commune.slug, "drive-sync-identity")] == "x509-identity"
        assert (commune.slug, "drive-relay-identity") not in specs
    assert specs[("_syndicat", "drive-discovery-identity")] == "x509-identity"
    assert specs[("_syndicat", "drive-relay-identity")] == "x509-identity"
    assert ("_syndicat", "drive-sync-identity") not in specs


def test_a_commune_without_the_drive_has_none_of_its_secrets(tmp_path: Path) -> None:
    root = tmp_path / "inventory"
    shutil.copytree(SYNDICAT, root)
    for path in (root / "communes").glob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["services"] = ["whoami"]
        data.pop("drive", None)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    names = {s.name for s in required_secrets(load(root))}
    assert not {n for n in names if n.startswith("drive-") or n == "app-drive"}
