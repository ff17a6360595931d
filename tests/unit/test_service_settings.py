"""The services' own sections of the inventory (``drive:`` in a commune's file and in
syndicat.yml), checked against the JSON Schemas of their contracts (``settings``): every kind of
problem through `bastide validate` (exit 2, file, line, field path, fix; French and English), the
inventory's own formats, and the defaults the roles receive."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from bastide.commands import main
from bastide.core.inventory import load, service_settings
from bastide.core.inventory.yamlsource import read
from bastide.errors import EXIT_BAD_INPUT, Problem

REPO = Path(__file__).resolve().parents[2]
SYNDICAT = REPO / "tests" / "fixtures" / "syndicat"
OURS = "communes/ours-les-bains.yml"
ANSE = "communes/anse-aux-ours.yml"
S = "syndicat.yml"
DEVICE_ID = "AAAAAAA-BBBBBBB-CCCCCCC-DDDDDDD-EEEEEEE-FFFFFFF-GGGGGGG-HHHHHHH"


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    root = tmp_path / "inv"
    shutil.copytree(SYNDICAT, root)
    return root


def change(root: Path, file: str, old: str, new: str) -> int:
    """Replace ``old`` by ``new`` in ``file``; the line (from 1) where ``new`` starts."""
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, (file, old)
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return text[: text.index(new)].count("\n") + 1


def line_of(root: Path, file: str, text: str) -> int:
    content = (root / file).read_text(encoding="utf-8")
    assert text in content, (file, text)
    return content[: content.index(text)].count("\n") + 1


def validate(root: Path, *options: str, lang: str = "C.UTF-8") -> Result:
    return CliRunner(env={"COLUMNS": "400", "LANG": lang}).invoke(main, ["validate", str(root), *options])


def flat(text: str) -> str:
    return " ".join(text.split())


def only_problem(root: Path) -> dict:
    """The one problem `bastide validate --json` reports (and its exit code is 2)."""
    result = validate(root, "--json")
    assert result.exit_code == EXIT_BAD_INPUT == 2, result.output
    document = json.loads(result.stdout)
    assert document["valid"] is False and document["summary"] is None
    [problem] = document["problems"]
    return problem


# ------------------------------------------------------------------ every kind of problem

# name: (file, old text, new text, text on the line reported (None: where new starts), field, message, fix)
CASES: dict[str, tuple[str, str, str, str | None, str, str, str]] = {
    "unknown-key": (
        OURS, "quota: 20G", "quota: 20G\n  quotas: 30G", "quotas:", "drive.quotas",
        "unknown key `quotas`", "remove it; the keys allowed here are: devices, quota, restricted",
    ),
    "wrong-type": (
        OURS, "quota: 20G", "quota: 20", None, "drive.quota",
        "must be text, not a whole number", "a size: a number followed by M, G or T (for example 50G)",
    ),
    "pattern-with-its-help": (
        OURS, "quota: 20G", "quota: 20 Go", None, "drive.quota",
        "invalid value ('20 Go')", "a size: a number followed by M, G or T (for example 50G)",
    ),
    "list-expected": (
        OURS, "restricted: [État civil]", "restricted: État civil", None, "drive.restricted",
        "must be a list, not text", "services of the commune's agents (their `service` field) whose folder",
    ),
    "section-not-a-mapping": (
        OURS, "drive:\n  quota: 20G\n  restricted: [État civil]\n", "drive: 20G\n", None, "drive",
        "must be a mapping of keys and values, not text", "correct the value's type",
    ),
    "unknown-agent-service": (
        OURS, "restricted: [État civil]", "restricted: [Etat-civil]", None, "drive.restricted[0]",
        "`Etat-civil` is not one of the values allowed here",
        "use one of: Secrétariat de mairie, Urbanisme, État civil",
    ),
    "unknown-person": (
        OURS, "restricted: [État civil]",
        f"restricted: [État civil]\n  devices:\n    - {{agent: personne, id: {DEVICE_ID}}}",
        "- {agent: personne", "drive.devices[0].agent",
        "`personne` is not one of the values allowed here",
        "the login of someone of the commune (bastide agent list)",
    ),
    "missing-required-in-an-item": (
        OURS, "restricted: [État civil]", "restricted: [État civil]\n  devices:\n    - {agent: marie.dupont}",
        "- {agent: marie.dupont}", "drive.devices[0]",
        "required field is missing (`id`)", "the device ID Syncthing shows (8 groups of 7 characters",
    ),
    "unknown-key-in-an-item": (
        OURS, "restricted: [État civil]",
        f"restricted: [État civil]\n  devices:\n    - agent: marie.dupont\n"
        f"      id: {DEVICE_ID}\n      owner: x",
        "owner: x", "drive.devices[0].owner",
        "unknown key `owner`", "remove it; the keys allowed here are: agent, id, name",
    ),
    "section-of-a-service-not-run": (
        OURS, "services: [drive, whoami]", "services: [whoami]", "drive:", "drive",
        "section `drive:` of a service the commune does not run",
        "add `drive` to the commune's `services`, or remove the section",
    ),
    "unknown-host": (
        S, "sync_host: srv-ours-1", "sync_host: srv-ours-3", None, "drive.sync_host",
        "`srv-ours-3` is not one of the values allowed here",
        "the name of a host of the inventory (`hosts`), which runs the sync discovery and relay servers",
    ),
    "missing-required": (
        S, "drive:\n  sync_host: srv-ours-1\n", "drive: {}\n", None, "drive",
        "required field is missing (`sync_host`)", "the name of a host of the inventory (`hosts`)",
    ),
    "unknown-syndicat-key": (
        S, "sync_host: srv-ours-1", "sync_host: srv-ours-1\n  relais: srv-ours-2", "relais:", "drive.relais",
        "unknown key `relais`", "remove it; the keys allowed here are: sync_host",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_problem_has_its_file_line_field_and_fix(inv: Path, case: str) -> None:
    file, old, new, on_line, field, message, fix = CASES[case]
    line = change(inv, file, old, new)
    if on_line is not None:
        line = line_of(inv, file, on_line)
    problem = only_problem(inv)
    assert problem["file"] == str(inv / file)
    assert (problem["field"], problem["line"]) == (field, line)
    assert message in problem["message"]
    assert fix in problem["fix"]
    # The same through the terminal: file:line field: message, then the fix.
    result = validate(inv)
    assert result.exit_code == 2 and result.stdout == ""
    stderr = flat(result.stderr)
    assert f"{inv / file}:{line} {field}: {message}" in stderr
    assert f"→ {fix}" in stderr
    assert "Traceback" not in result.output


def test_the_problems_are_in_french(inv: Path) -> None:
    quota = change(inv, OURS, "quota: 20G", "quota: 20 Go")
    restricted = line_of(inv, OURS, "restricted:")
    change(inv, OURS, "restricted: [État civil]", "restricted: [Etat-civil]")
    host = change(inv, S, "sync_host: srv-ours-1", "sync_host: srv-ours-3")
    result = validate(inv, lang="fr_FR.UTF-8")
    assert result.exit_code == 2
    stderr = flat(result.stderr)
    assert "3 problème(s) dans l'entrée" in stderr
    assert (
        f"{inv / OURS}:{quota} drive.quota: valeur invalide ('20 Go') "
        "→ une taille : un nombre suivi de M, G ou T (par exemple 50G)"
    ) in stderr
    assert (
        f"{inv / OURS}:{restricted} drive.restricted[0]: `Etat-civil` ne fait pas partie des valeurs "
        "permises ici → utilisez l'une de ces valeurs : Secrétariat de mairie, Urbanisme, État civil"
    ) in stderr
    assert (
        f"{inv / S}:{host} drive.sync_host: `srv-ours-3` ne fait pas partie des valeurs permises ici"
        in stderr
    )
    assert "→ le nom d'un serveur de l'inventaire (`hosts`)" in stderr


def test_a_section_for_a_service_not_run_in_french(inv: Path) -> None:
    change(inv, OURS, "services: [drive, whoami]", "services: [whoami]")
    result = validate(inv, lang="fr_FR.UTF-8")
    assert result.exit_code == 2
    stderr = flat(result.stderr)
    assert "drive: section `drive:` d'un service que la commune ne fait pas tourner" in stderr
    assert "→ ajoutez `drive` aux `services` de la commune, ou supprimez la section" in stderr


def test_every_problem_of_every_section_is_reported_at_once(inv: Path) -> None:
    change(inv, OURS, "quota: 20G", "quota: beaucoup\n  colour: blue")
    change(inv, S, "sync_host: srv-ours-1", "sync_host: 42")
    result = validate(inv, "--json")
    assert result.exit_code == 2
    fields = sorted((Path(p["file"]).name, p["field"]) for p in json.loads(result.stdout)["problems"])
    assert fields == [
        ("ours-les-bains.yml", "drive.colour"),
        ("ours-les-bains.yml", "drive.quota"),
        ("syndicat.yml", "drive.sync_host"),
    ]


def test_the_syndicat_section_is_required_when_a_commune_runs_the_service(inv: Path) -> None:
    change(inv, S, "drive:\n  sync_host: srv-ours-1\n", "")
    problem = only_problem(inv)
    assert (Path(problem["file"]).name, problem["field"]) == ("syndicat.yml", "drive")
    assert "required field is missing (`sync_host`)" in problem["message"]


def test_no_syndicat_section_is_needed_when_no_commune_runs_the_service(inv: Path) -> None:
    change(inv, S, "drive:\n  sync_host: srv-ours-1\n", "")
    for path in (inv / "communes").glob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["services"] = [s for s in data["services"] if s != "drive"]
        data.pop("drive", None)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    loaded = load(inv)
    assert loaded.service_settings == {}
    assert all(c.service_settings("drive") == {} for c in loaded.communes)


def test_a_valid_device_is_accepted(inv: Path) -> None:
    change(
        inv, OURS, "restricted: [État civil]",
        "restricted: [État civil]\n  devices:\n"
        f"    - {{agent: helene.martin, id: {DEVICE_ID}, name: Tablette}}",
    )  # fmt: skip
    # An elected official's device too: `bastide-person` is anyone of the commune.
    assert load(inv).commune("ours-les-bains").service_settings("drive")["devices"] == [
        {"agent": "helene.martin", "id": DEVICE_ID, "name": "Tablette"}
    ]


# ------------------------------------------------------------------ defaults


def test_defaults_are_applied() -> None:
    inventory = load(SYNDICAT)
    # Written: quota and restricted; devices from the contract's default.
    assert inventory.commune("ours-les-bains").service_settings("drive") == {
        "quota": "20G",
        "restricted": ["État civil"],
        "devices": [],
    }
    # No section at all: every default.
    for slug in ("anse-aux-ours", "ortu-di-l-orsu", "saint-aubin-des-combes"):
        assert inventory.commune(slug).service_settings("drive") == {
            "quota": "10G",
            "restricted": [],
            "devices": [],
        }
    # A service without a schema has no settings.
    assert inventory.commune("ours-les-bains").service_settings("whoami") == {}
    assert inventory.service_settings == {"drive": {"sync_host": "srv-ours-1"}}


def test_defaults_are_fresh_copies(inv: Path) -> None:
    """Two communes' defaults are not one list, which a role's change to one would change."""
    inventory = load(inv)
    first = inventory.commune("anse-aux-ours").service_settings("drive")
    second = inventory.commune("ortu-di-l-orsu").service_settings("drive")
    assert first["restricted"] == second["restricted"] == []
    assert first["restricted"] is not second["restricted"]


def test_defaults_inside_list_items() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "default": [],
                "items": {"type": "object", "properties": {"mode": {"type": "string", "default": "ro"}}},
            }
        },
    }
    assert service_settings.with_defaults(schema, {}) == {"items": []}
    assert service_settings.with_defaults(schema, {"items": [{}, {"mode": "rw"}]}) == {
        "items": [{"mode": "ro"}, {"mode": "rw"}]
    }


# ------------------------------------------------------------------ the inventory's own formats


def _check(tmp_path: Path, schema: dict, value: object, choices: dict) -> tuple[object, list[Problem]]:
    path = tmp_path / "commune.yml"
    path.write_text(yaml.safe_dump({"svc": value}, allow_unicode=True), encoding="utf-8")
    source, problems = read(path, "commune.yml")
    assert source is not None and problems == []
    found: list[Problem] = []
    checked = service_settings.check(schema, source.data["svc"], source, ("svc",), choices, found)
    return checked, found


FORMATS = {
    "type": "object",
    "properties": {
        "owner": {"type": "string", "format": "bastide-agent"},
        "reader": {"type": "string", "format": "bastide-person"},
        "team": {"type": "string", "format": "bastide-agent-service"},
        "host": {"type": "string", "format": "bastide-host"},
    },
}


@pytest.mark.parametrize(
    ("key", "good", "bad"),
    [
        ("owner", "marie.dupont", "helene.martin"),  # an elected official is no agent
        ("reader", "helene.martin", "jp.roux"),  # someone of another commune
        ("team", "Urbanisme", "Accueil"),  # another commune's service
        ("host", "srv-ours-2", "srv-ours-3"),
    ],
)
def test_each_inventory_format_allows_the_commune_s_values_only(
    tmp_path: Path, key: str, good: str, bad: str
) -> None:
    inventory = load(SYNDICAT)
    choices = service_settings.commune_choices(
        inventory.commune("ours-les-bains"), [h.name for h in inventory.hosts]
    )
    checked, problems = _check(tmp_path, FORMATS, {key: good}, choices)
    assert (checked, problems) == ({key: good}, [])
    checked, problems = _check(tmp_path, FORMATS, {key: bad}, choices)
    assert checked is None
    [problem] = problems
    assert problem.field == f"svc.{key}" and problem.line == 2
    assert f"`{bad}` is not one of the values allowed here" in problem.message
    assert good in problem.fix  # the values allowed, as the schema gives no help


def test_the_commune_s_choices() -> None:
    inventory = load(SYNDICAT)
    choices = service_settings.commune_choices(inventory.commune("ours-les-bains"), ["srv-ours-1"])
    assert sorted(choices["bastide-agent"]) == ["karim.benali", "marie.dupont", "sophie.lefevre"]
    assert sorted(choices["bastide-person"]) == [
        "helene.martin", "karim.benali", "marie.dupont", "nadia.haddad", "paul.girard", "sophie.lefevre"
    ]  # fmt: skip
    assert sorted(choices["bastide-agent-service"]) == ["Secrétariat de mairie", "Urbanisme", "État civil"]
    assert list(choices["bastide-host"]) == ["srv-ours-1"]


def test_a_value_of_another_type_is_left_to_the_type_check(tmp_path: Path) -> None:
    """The formats judge strings only: a number is the type's problem, reported once."""
    schema = {"type": "object", "properties": {"host": {"type": "string", "format": "bastide-host"}}}
    checked, problems = _check(tmp_path, schema, {"host": 12}, {"bastide-host": ["srv-ours-1"]})
    assert checked is None
    [problem] = problems
    assert problem.field == "svc.host" and "must be text, not a whole number" in problem.message
