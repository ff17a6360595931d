"""The directory's content from the inventory, one-time passwords and their sheet, and the
agent commands' refusals (exit 2, nothing run)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bastide.commands import main
from bastide.core.identity import directory, passwords, state
from bastide.core.inventory import load
from bastide.errors import InputError

DEMO = Path(__file__).resolve().parents[2] / "inventories" / "demo"


def test_each_commune_gets_its_people_and_groups() -> None:
    content = directory.content(load(DEMO))
    ours = next(c for c in content["communes"] if c["slug"] == "ours-les-bains")
    logins = [p["login"] for p in ours["people"]]
    assert logins == [
        "marie.dupont",
        "karim.benali",
        "sophie.lefevre",
        "helene.martin",
        "paul.girard",
        "nadia.haddad",
    ]
    groups = {g["name"]: g["members"] for g in ours["groups"]}
    assert groups["ours-les-bains"] == logins
    assert groups["service-etat-civil"] == ["karim.benali"]
    assert groups[directory.COUNCIL_GROUP] == ["helene.martin", "paul.girard", "nadia.haddad"]
    helene = next(p for p in ours["people"] if p["login"] == "helene.martin")
    assert (helene["kind"], helene["mandate"], helene["given_name"], helene["surname"]) == (
        "elu",
        "maire",
        "Hélène",
        "Martin",
    )
    aubin = next(c for c in content["communes"] if c["slug"] == "anse-aux-ours")
    assert directory.COUNCIL_GROUP in {g["name"] for g in aubin["groups"]}


def test_a_group_without_members_is_not_made(tmp_path: Path) -> None:
    root = tmp_path / "inv"
    shutil.copytree(DEMO, root)
    path = root / "communes" / "anse-aux-ours.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.pop("elus")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    anse = next(c for c in directory.content(load(root))["communes"] if c["slug"] == "anse-aux-ours")
    assert directory.COUNCIL_GROUP not in {g["name"] for g in anse["groups"]}


def test_one_time_passwords_are_long_mixed_and_unambiguous() -> None:
    seen = {passwords.new_password() for _ in range(200)}
    assert len(seen) == 200
    for password in seen:
        assert len(password) == 19 and password.count("-") == 3
        assert any(c.islower() for c in password) and any(c.isupper() for c in password)
        assert any(c.isdigit() for c in password)
        assert not set(password) & set("0O1lI")


def test_the_sheet_is_french_first_and_holds_what_the_person_needs() -> None:
    inventory = load(DEMO)
    target = passwords.find(inventory, "ours-les-bains", "helene.martin")
    assert (
        target.dn
        == "uid=helene.martin,ou=people,ou=ours-les-bains,ou=communes,dc=vallee-ours,dc=example,dc=fr"
    )
    text = passwords.sheet(inventory, target, "Abcd-Efgh-2345-wxyz")
    assert text.index("Identifiant :   helene.martin") < text.index("Login:     helene.martin")
    assert text.count("Abcd-Efgh-2345-wxyz") == 2
    assert text.count("https://auth.vallee-ours.example.fr/") == 2


def test_a_sheet_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "sheet.txt"
    path.write_text("old")
    path.chmod(0o644)
    passwords.write_sheet(path, "new")
    assert path.read_text() == "new" and path.stat().st_mode & 0o077 == 0


def test_unknown_people_and_communes_are_refused() -> None:
    inventory = load(DEMO)
    with pytest.raises(InputError) as raised:
        passwords.find(inventory, "ours-les-bains", "jp.roux")  # of another commune
    [problem] = raised.value.problems
    assert "jp.roux" in problem.message and "marie.dupont" in problem.fix
    with pytest.raises(InputError) as raised:
        passwords.find(inventory, "ours-les-thermes", "marie.dupont")
    assert "ours-les-bains" in raised.value.problems[0].fix


def test_agent_password_refuses_bad_input_before_anything(tmp_path: Path) -> None:
    runs = tmp_path / "state"
    result = CliRunner(env={"BASTIDE_STATE_DIR": str(runs)}).invoke(
        main, ["agent", "password", str(DEMO), "ours-les-bains", "nobody"]
    )
    assert result.exit_code == 2, result.output
    assert "nobody" in result.stderr and "Nothing was changed" in result.stderr
    assert not runs.exists(), "no run was started"


def test_no_identity_section_no_password(tmp_path: Path) -> None:
    root = tmp_path / "inv"
    shutil.copytree(DEMO, root)
    data = yaml.safe_load((root / "syndicat.yml").read_text(encoding="utf-8"))
    data.pop("identity")
    (root / "syndicat.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    for path in (root / "communes").glob("*.yml"):
        commune = yaml.safe_load(path.read_text(encoding="utf-8"))
        commune.pop("second_factor", None)
        path.write_text(yaml.safe_dump(commune, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError) as raised:
        passwords.find(load(root), "ours-les-bains", "marie.dupont")
    assert raised.value.problems[0].field == "identity"


def test_ldif_from_ldapsearch_is_read_with_base64_values() -> None:
    text = (
        "dn: uid=a,ou=people,ou=x,ou=communes,dc=s,dc=fr\nuid: a\npwdAccountLockedTime: 000001010000Z\n\n"
        "dn:: dWlkPcOpLG91PXBlb3BsZQ==\ncn:: w4lsb2RpZQ==\n"
    )
    entries = state.parse_ldif(text)
    assert entries[0]["pwdAccountLockedTime"] == [state.DISABLED]
    assert entries[1] == {"dn": ["uid=é,ou=people"], "cn": ["Élodie"]}


def test_disabling_someone_keeps_the_file_as_written(tmp_path: Path) -> None:
    from bastide.core.inventory.people import set_disabled

    root = tmp_path / "inv"
    shutil.copytree(DEMO, root)
    path = root / "communes" / "ortu-di-l-orsu.yml"
    original = path.read_text(encoding="utf-8")
    assert set_disabled(root, "ortu-di-l-orsu", "laetitia.mattei", True) == (path, True)
    changed = path.read_text(encoding="utf-8")
    assert changed.count("\n") == original.count("\n") + 1  # one line added, nothing else moved
    assert '"2A321"' in changed and "# Every login of this commune" in changed
    laetitia = next(a for a in load(root).commune("ortu-di-l-orsu").agents if a.login == "laetitia.mattei")
    assert laetitia.disabled
    assert set_disabled(root, "ortu-di-l-orsu", "laetitia.mattei", True) == (path, False)
    assert set_disabled(root, "ortu-di-l-orsu", "laetitia.mattei", False) == (path, True)
    assert path.read_text(encoding="utf-8") == original


def test_a_disabled_person_is_in_no_group_and_gets_no_password(tmp_path: Path) -> None:
    from bastide.core.inventory.people import set_disabled

    root = tmp_path / "inv"
    shutil.copytree(DEMO, root)
    set_disabled(root, "ours-les-bains", "karim.benali", True)
    inventory = load(root)
    ours = next(c for c in directory.content(inventory)["communes"] if c["slug"] == "ours-les-bains")
    karim = next(p for p in ours["people"] if p["login"] == "karim.benali")
    assert karim["disabled"] is True, "still in the directory"
    assert all("karim.benali" not in g["members"] for g in ours["groups"])
    assert "service-etat-civil" not in {g["name"] for g in ours["groups"]}
    with pytest.raises(InputError) as raised:
        passwords.find(inventory, "ours-les-bains", "karim.benali")
    assert "agent enable" in raised.value.problems[0].fix
    assert passwords.find(inventory, "ours-les-bains", "karim.benali", allow_disabled=True).person.disabled


def test_disabling_an_unknown_login_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "inv"
    shutil.copytree(DEMO, root)
    before = {p: p.read_bytes() for p in (root / "communes").iterdir()}
    result = CliRunner(env={"BASTIDE_STATE_DIR": str(tmp_path / "state")}).invoke(
        main, ["agent", "disable", str(root), "ours-les-bains", "nobody"]
    )
    assert result.exit_code == 2, result.output
    assert {p: p.read_bytes() for p in (root / "communes").iterdir()} == before
    assert not (tmp_path / "state").exists()


def test_disabling_keeps_a_file_written_by_a_program_as_it_was(tmp_path: Path) -> None:
    """Files written by `bastide lab up` or a script (lists not indented) keep their layout too."""
    from bastide.core.inventory.people import set_disabled

    root = tmp_path / "inv"
    shutil.copytree(DEMO, root)
    path = root / "communes" / "ours-les-bains.yml"
    path.write_text(
        yaml.safe_dump(yaml.safe_load(path.read_text(encoding="utf-8")), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    original = path.read_text(encoding="utf-8")
    set_disabled(root, "ours-les-bains", "paul.girard", True)
    assert path.read_text(encoding="utf-8").count("\n") == original.count("\n") + 1
    set_disabled(root, "ours-les-bains", "paul.girard", False)
    assert path.read_text(encoding="utf-8") == original


def test_sync_of_a_broken_inventory_stops_before_any_run(tmp_path: Path) -> None:
    """`agent sync` validates the whole inventory first: exit 2 naming the file, no run started."""
    root = tmp_path / "inv"
    shutil.copytree(DEMO, root)
    path = root / "communes" / "ours-les-bains.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["agents"][0]["email"] = "not-an-address"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = CliRunner(env={"BASTIDE_STATE_DIR": str(tmp_path / "state"), "LANG": "C.UTF-8"}).invoke(
        main, ["agent", "sync", str(root)]
    )
    assert result.exit_code == 2, result.output
    assert "ours-les-bains.yml" in result.output
    assert not (tmp_path / "state").exists()
