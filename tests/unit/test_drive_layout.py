"""The commune drive's layout (roles/drive/filter_plugins/drive.py): the commune's system user,
and its folders with who writes and who reads each, computed from the rendered inventory."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from bastide.core.ansible.render import render
from bastide.core.inventory import load

REPO = Path(__file__).resolve().parents[2]
SYNDICAT = REPO / "tests" / "fixtures" / "syndicat"
PLUGIN = REPO / "roles" / "drive" / "filter_plugins" / "drive.py"


def _plugin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("drive_filters", PLUGIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


drive = _plugin()


def rendered_commune(root: Path, slug: str) -> dict[str, Any]:
    """The commune as the drive role receives it (an entry of its host's bastide_communes)."""
    inventory = load(root)
    host = inventory.commune(slug).host
    communes = render(inventory)["all"]["hosts"][host]["bastide_communes"]
    return next(c for c in communes if c["slug"] == slug)


def by_id(folders: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    ids = [f["id"] for f in folders]
    assert len(ids) == len(set(ids)), ids
    return {f["id"]: f for f in folders}


@pytest.fixture(scope="module")
def ours() -> dict[str, dict[str, Any]]:
    """Ours-les-Bains of the tests' syndicat: three agents (Secrétariat de mairie, État civil,
    Urbanisme), three elected officials, and `drive: {restricted: [État civil]}`."""
    return by_id(drive.drive_folders(rendered_commune(SYNDICAT, "ours-les-bains")))


AGENTS = ["marie.dupont", "karim.benali", "sophie.lefevre"]
ELUS = ["helene.martin", "paul.girard", "nadia.haddad"]


# ------------------------------------------------------------------ folders


def test_one_folder_per_service_the_council_s_and_one_per_person(ours: dict[str, dict[str, Any]]) -> None:
    assert list(ours) == [
        "services-etat-civil",
        "services-secretariat-de-mairie",
        "services-urbanisme",
        "conseil-municipal",
        *(f"agents-{login}" for login in AGENTS + ELUS),
    ]
    assert ours["services-urbanisme"]["path"] == "services/urbanisme"
    assert ours["services-urbanisme"]["label"] == "Urbanisme"
    assert ours["services-urbanisme"]["group"] == "service-urbanisme"


def test_a_service_folder_is_written_by_its_agents_and_read_by_the_commune(
    ours: dict[str, dict[str, Any]],
) -> None:
    urbanisme = ours["services-urbanisme"]
    assert urbanisme["writers"] == ["sophie.lefevre"]
    assert urbanisme["readers"] == ["marie.dupont", "karim.benali", *ELUS]
    assert urbanisme["readers_group"] == "ours-les-bains"


def test_a_restricted_folder_has_no_readers(ours: dict[str, dict[str, Any]]) -> None:
    """`restricted: [État civil]`: its agents alone see the civil status records."""
    etat_civil = ours["services-etat-civil"]
    assert etat_civil["writers"] == ["karim.benali"]
    assert etat_civil["readers"] == [] and etat_civil["readers_group"] == ""
    # The other services' folders are not restricted by it.
    assert ours["services-secretariat-de-mairie"]["readers"] != []


def test_the_council_folder_is_read_by_the_elus_and_written_by_the_secretariat(
    ours: dict[str, dict[str, Any]],
) -> None:
    council = ours["conseil-municipal"]
    assert council["path"] == "conseil-municipal"
    assert council["writers"] == ["marie.dupont"]  # Secrétariat de mairie
    assert council["readers"] == ELUS
    assert council["readers_group"] == "conseil-municipal"
    assert council["group"] == "service-secretariat-de-mairie"


def test_each_person_has_a_private_folder(ours: dict[str, dict[str, Any]]) -> None:
    for login in AGENTS + ELUS:
        folder = ours[f"agents-{login}"]
        assert folder["path"] == f"agents/{login}" and folder["user"] == login
        assert folder["writers"] == [login]
        assert folder["readers"] == [] and folder["readers_group"] == "" and folder["group"] == ""
    assert ours["agents-helene.martin"]["label"] == "Hélène Martin"


def _disable(root: Path, file: str, section: str, login_email: str) -> None:
    path = root / "communes" / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for person in data[section]:
        if person["email"] == login_email:
            person["disabled"] = True
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_disabled_people_have_no_folder_and_no_rights(tmp_path: Path) -> None:
    root = tmp_path / "inv"
    shutil.copytree(SYNDICAT, root)
    _disable(root, "ours-les-bains.yml", "agents", "sophie.lefevre@ours-les-bains.example.fr")
    _disable(root, "ours-les-bains.yml", "elus", "paul.girard@ours-les-bains.example.fr")
    commune = rendered_commune(root, "ours-les-bains")
    assert [a["disabled"] for a in commune["agents"]] == [False, False, True]
    folders = by_id(drive.drive_folders(commune))
    assert "agents-sophie.lefevre" not in folders and "agents-paul.girard" not in folders
    # Her service had no other agent: no folder for it either.
    assert "services-urbanisme" not in folders
    for folder in folders.values():
        assert "sophie.lefevre" not in folder["writers"] + folder["readers"]
        assert "paul.girard" not in folder["writers"] + folder["readers"]
    assert folders["conseil-municipal"]["readers"] == ["helene.martin", "nadia.haddad"]


def test_a_disabled_secretary_no_longer_writes_the_council_folder(tmp_path: Path) -> None:
    root = tmp_path / "inv"
    shutil.copytree(SYNDICAT, root)
    _disable(root, "ours-les-bains.yml", "agents", "marie.dupont@ours-les-bains.example.fr")
    folders = by_id(drive.drive_folders(rendered_commune(root, "ours-les-bains")))
    assert folders["conseil-municipal"]["writers"] == []
    assert "services-secretariat-de-mairie" not in folders


def test_a_commune_without_drive_settings_restricts_nothing() -> None:
    folders = by_id(drive.drive_folders(rendered_commune(SYNDICAT, "saint-aubin-des-combes")))
    services = [f for f in folders.values() if f["id"].startswith("services-")]
    assert [f["label"] for f in services] == ["Accueil", "Secrétariat de mairie"]
    assert all(f["readers"] and f["readers_group"] == "saint-aubin-des-combes" for f in services)


def test_an_agent_without_a_service_has_only_a_private_folder() -> None:
    commune = {
        "slug": "val",
        "agents": [{"name": "Anne Roy", "login": "anne.roy", "service": "", "service_slug": ""}],
        "elus": [],
        "settings": {},
    }
    folders = by_id(drive.drive_folders(commune))
    assert list(folders) == ["conseil-municipal", "agents-anne.roy"]
    assert folders["conseil-municipal"]["writers"] == [] and folders["conseil-municipal"]["readers"] == []


def test_folders_with_commune_pairs_each_folder_with_its_commune() -> None:
    commune = rendered_commune(SYNDICAT, "saint-aubin-des-combes")
    pairs = drive.drive_folders_with_commune(commune)
    assert [folder for _commune, folder in pairs] == drive.drive_folders(commune)
    assert all(pair[0] is commune for pair in pairs)


# ------------------------------------------------------------------ the commune's user

LINUX_USER = re.compile(r"^[a-z_][a-z0-9_-]*$")


def test_a_short_slug_gives_drive_slug() -> None:
    assert drive.drive_user("ours-les-bains") == "drive-ours-les-bains"
    assert drive.drive_user("a" * 26) == "drive-" + "a" * 26  # 32: still whole


@pytest.mark.parametrize(
    "slug",
    ["a" * 27, "saint-remy-en-bouzemont-saint-genest-et-isson", "x" * 200],
)
def test_a_long_slug_gives_a_user_of_at_most_32_characters(slug: str) -> None:
    user = drive.drive_user(slug)
    assert len(user) <= 32 and user.startswith("drive-") and LINUX_USER.match(user)
    assert drive.drive_user(slug) == user  # the same on every run


def test_two_long_slugs_with_the_same_start_give_two_users() -> None:
    first = drive.drive_user("saint-remy-en-bouzemont-saint-genest-et-isson")
    second = drive.drive_user("saint-remy-en-bouzemont-saint-genest-et-ailleurs")
    assert first != second
    assert first[:23] == second[:23]  # the same start, a different digest


def test_the_filters_are_registered() -> None:
    filters = drive.FilterModule().filters()
    assert filters["drive_user"] is drive.drive_user
    assert filters["drive_folders"] is drive.drive_folders
    assert filters["drive_folders_with_commune"] is drive.drive_folders_with_commune
