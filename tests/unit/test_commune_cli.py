"""`bastide commune add|list|import|remove` on copies of the tests' syndicat (the demo with whoami)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from bastide.commands import main
from bastide.core.inventory import load
from bastide.core.inventory.csvimport import split_list

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "inventories" / "demo"
SYNDICAT = REPO / "tests" / "fixtures" / "syndicat"
CSV = REPO / "tests" / "fixtures" / "csv"


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    root = tmp_path / "inv"
    shutil.copytree(SYNDICAT, root)
    return root


def run(*args: str | Path) -> Result:
    return CliRunner(env={"COLUMNS": "400"}).invoke(main, [str(arg) for arg in args])


def flat(text: str) -> str:
    return " ".join(text.split())


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- list


def test_list_json(inv: Path) -> None:
    result = run("commune", "list", inv, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["slug"] for row in rows] == [
        "anse-aux-ours",
        "ortu-di-l-orsu",
        "ours-les-bains",
        "saint-aubin-des-combes",
    ]
    ortu = rows[1]
    assert ortu["insee"] == "2A321"
    assert ortu["host"] == "srv-ours-2"
    assert ortu["services"] == ["drive", "whoami"]
    # One site per service, at the service's subdomain (the drive's is `documents`).
    assert ortu["sites"] == ["documents.ortu-di-l-orsu.example.fr", "whoami.ortu-di-l-orsu.example.fr"]


def without_services(path: Path) -> None:
    """The commune file at ``path`` runs no service (and has no service section)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["services"] = []
    for section in ("drive", "calendars", "rdv"):
        data.pop(section, None)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_list_json_of_a_commune_without_services(tmp_path: Path) -> None:
    shutil.copytree(DEMO, tmp_path / "demo")
    without_services(tmp_path / "demo" / "communes" / "ortu-di-l-orsu.yml")
    result = run("commune", "list", tmp_path / "demo", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    ortu = rows[1]
    assert (ortu["slug"], ortu["services"], ortu["sites"]) == ("ortu-di-l-orsu", [], [])
    # The other communes of the demo keep their drive.
    assert rows[2]["sites"] == [
        f"{sub}.ours-les-bains.example.fr" for sub in ("documents", "agenda", "rdv")
    ]


def test_list_table(inv: Path) -> None:
    result = run("commune", "list", inv)
    assert result.exit_code == 0
    assert "ours-les-bains" in result.stdout and "2A321" in result.stdout and "srv-ours-2" in result.stdout


def test_list_on_an_invalid_inventory_fails(inv: Path) -> None:
    (inv / "syndicat.yml").write_text("", encoding="utf-8")
    result = run("commune", "list", inv, "--json")
    assert result.exit_code == 2
    assert "the file is empty" in result.stderr


# ---------------------------------------------------------------- add


def test_add_writes_a_valid_commune(inv: Path) -> None:
    result = run(
        "commune", "add", inv,
        "--name", "Saint-Étienne-d'Ours",
        "--insee", "38600",
        "--domain", "st-etienne-ours.example.fr",
        "--host", "srv-ours-1",
        "--services", "whoami",
        "--agent", "Anne Roy <anne.roy@st-etienne-ours.example.fr> (Accueil)",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    path = inv / "communes" / "saint-etienne-d-ours.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data == {
        "slug": "saint-etienne-d-ours",
        "name": "Saint-Étienne-d'Ours",
        "insee": "38600",
        "domain": "st-etienne-ours.example.fr",
        "host": "srv-ours-1",
        "services": ["whoami"],
        "backup_target": "principal",
        "agents": [
            {"name": "Anne Roy", "email": "anne.roy@st-etienne-ours.example.fr", "service": "Accueil"}
        ],
    }
    assert load(inv).commune("saint-etienne-d-ours").host == "srv-ours-1"


def host_without_services(root: Path, host: str) -> None:
    """``host`` of the inventory at ``root`` runs no service, nor do the communes on it."""
    syndicat = root / "syndicat.yml"
    data = yaml.safe_load(syndicat.read_text(encoding="utf-8"))
    for entry in data["hosts"]:
        if entry["name"] == host:
            entry["services"] = []
    syndicat.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for path in (root / "communes").glob("*.yml"):
        if yaml.safe_load(path.read_text(encoding="utf-8"))["host"] == host:
            without_services(path)


@pytest.mark.parametrize(
    ("base", "bare", "services"),
    [(SYNDICAT, False, ["drive", "whoami"]), (DEMO, False, ["drive", "calendars", "rdv"]), (DEMO, True, [])],
    ids=["drive-whoami", "demo", "none"],
)
def test_add_defaults_services_to_the_hosts(
    tmp_path: Path, base: Path, bare: bool, services: list[str]
) -> None:
    inv = tmp_path / "inv"
    shutil.copytree(base, inv)
    if bare:
        host_without_services(inv, "srv-ours-2")
    result = run("commune", "add", inv, "--name", "Val", "--insee", "38601", "--domain", "val.example.fr",
                 "--host", "srv-ours-2", "--slug", "val")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert load(inv).commune("val").services == services


def test_add_rejects_bad_values_and_writes_nothing(inv: Path) -> None:
    before = snapshot(inv)
    result = run("commune", "add", inv, "--name", "X", "--insee", "20600", "--domain", "bad_domain",
                 "--host", "srv-9", "--agent", "no email here")  # fmt: skip
    assert result.exit_code == 2
    stderr = flat(result.stderr)
    assert "--insee: INSEE code `20600`: Corsican communes use 2A" in stderr
    assert "--domain: `bad_domain` is not a valid domain name" in stderr
    assert "--host: host `srv-9` is not in syndicat.yml" in stderr
    assert "--agent: agents must be written" in stderr
    assert snapshot(inv) == before


def test_add_refuses_an_existing_slug_or_domain(inv: Path) -> None:
    before = snapshot(inv)
    result = run("commune", "add", inv, "--name", "Ours-les-Bains", "--insee", "38999",
                 "--domain", "ours-les-bains.example.fr", "--host", "srv-ours-1")  # fmt: skip
    assert result.exit_code == 2
    stderr = flat(result.stderr)
    assert "slug `ours-les-bains` is already used" in stderr
    assert "domain `ours-les-bains.example.fr` is already used" in stderr
    assert snapshot(inv) == before


# ---------------------------------------------------------------- remove


def test_remove_needs_yes_when_not_interactive(inv: Path) -> None:
    result = run("commune", "remove", inv, "anse-aux-ours")
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert (inv / "communes" / "anse-aux-ours.yml").exists()


def test_remove_with_yes(inv: Path) -> None:
    result = run("commune", "remove", inv, "anse-aux-ours", "--yes")
    assert result.exit_code == 0, result.output
    assert not (inv / "communes" / "anse-aux-ours.yml").exists()
    assert [c.slug for c in load(inv).communes] == [
        "ortu-di-l-orsu",
        "ours-les-bains",
        "saint-aubin-des-combes",
    ]


@pytest.mark.parametrize("slug", ["nowhere", "../syndicat"])
def test_remove_unknown(inv: Path, slug: str) -> None:
    before = snapshot(inv)
    result = run("commune", "remove", inv, slug, "--yes")
    assert result.exit_code == 2
    assert f"no commune `{slug}`" in result.stderr
    assert snapshot(inv) == before


# ---------------------------------------------------------------- import


def test_import_french_cp1252_semicolons(inv: Path) -> None:
    result = run("commune", "import", inv, CSV / "communes-fr-cp1252.csv")
    assert result.exit_code == 0, result.output
    loaded = load(inv)
    commune = loaded.commune("bethencourt-sur-ours")
    assert commune.name == "Béthencourt-sur-Ours"
    assert commune.services == ["whoami"]
    assert [a.name for a in commune.agents] == ["Hélène Faure", "Noël Perrin"]
    assert commune.agents[0].service == "Secrétariat de mairie"
    assert loaded.commune("l-ile-d-ourson").name == "L'Île-d'Ourson"
    # An empty services cell takes every service its host runs.
    corse = loaded.commune("sainte-agnes-en-combe")
    assert corse.insee == "2B104"
    assert corse.services == ["drive", "whoami"]


def test_import_utf8_bom_commas(inv: Path) -> None:
    result = run("commune", "import", inv, CSV / "communes-en-utf8-bom.csv")
    assert result.exit_code == 0, result.output
    loaded = load(inv)
    assert loaded.commune("val-d-ours").services == ["whoami"]
    assert loaded.commune("combe-noire").backup_target == "principal"


def test_import_dry_run_writes_nothing(inv: Path) -> None:
    before = snapshot(inv)
    result = run("commune", "import", inv, CSV / "communes-en-utf8-bom.csv", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "val-d-ours.yml" in result.stdout
    assert snapshot(inv) == before


def test_import_reports_every_bad_row_with_line_and_column(inv: Path) -> None:
    before = snapshot(inv)
    csv_file = CSV / "communes-bad.csv"
    result = run("commune", "import", inv, csv_file)
    assert result.exit_code == 2
    stderr = flat(result.stderr)
    assert f"{csv_file}:3 column insee: INSEE code `20123`" in stderr
    assert f"{csv_file}:4 column hote: host `srv-ours-9` is not in syndicat.yml" in stderr
    assert (
        f"{csv_file}:5 column domaine: domain `bonne-commune.example.fr` is already used by {csv_file}:2"
        in stderr
    )
    assert f"{csv_file}:6 column services (services[1]): unknown service `visio`" in stderr
    # The good row on line 2 is not written either: all or nothing.
    assert snapshot(inv) == before


def test_import_refuses_an_existing_commune(inv: Path) -> None:
    result = run("commune", "import", inv, CSV / "communes-existing.csv")
    assert result.exit_code == 2
    assert "slug `ours-les-bains` is already used by" in flat(result.stderr)


def test_import_unknown_column_suggests(inv: Path) -> None:
    result = run("commune", "import", inv, CSV / "communes-unknown-column.csv")
    assert result.exit_code == 2
    stderr = flat(result.stderr)
    assert ":1 column domian: unknown column `domian`" in stderr
    assert "closest: domain" in stderr
    assert "required column `domain` is missing" in stderr
    assert "required field is missing" not in stderr


def test_import_host_option(inv: Path) -> None:
    csv_file = CSV / "communes-no-host.csv"
    result = run("commune", "import", inv, csv_file)
    assert result.exit_code == 2
    assert flat(result.stderr).count("no host for this commune") == 2
    result = run("commune", "import", inv, csv_file, "--host", "srv-ours-2", "--services", "whoami")
    assert result.exit_code == 0, result.output
    commune = load(inv).commune("pre-vert")
    assert commune.name == "Pré-Vert"
    assert (commune.host, commune.services) == ("srv-ours-2", ["whoami"])


def test_import_splits_lists_on_spaces_commas_and_bars() -> None:
    assert split_list(" whoami, visio;agenda | chat+wiki\n") == ["whoami", "visio", "agenda", "chat", "wiki"]
    assert split_list("") == []


def test_import_in_french(inv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    result = run("commune", "import", inv, CSV / "communes-no-host.csv")
    assert result.exit_code == 2
    assert "aucun hôte pour cette commune" in flat(result.stderr)


def test_import_excel_sep_line_keeps_line_numbers(inv: Path) -> None:
    csv_file = CSV / "communes-excel-sep.csv"
    result = run("commune", "import", inv, csv_file)
    assert result.exit_code == 2
    assert f"{csv_file}:4 column insee: INSEE code `20540`" in flat(result.stderr)
    assert not (inv / "communes" / "col-blanc.yml").exists()
