"""The inventory model, its loader and the catalogues, on the demo inventory (and the tests' syndicat,
the demo with the test-only service whoami on every commune)."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from bastide.core.inventory import Commune, Inventory, catalogue, load
from bastide.core.inventory.yamlsource import field_path, read

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "inventories" / "demo"
SYNDICAT = REPO / "tests" / "fixtures" / "syndicat"


@pytest.fixture(scope="module")
def demo() -> Inventory:
    return load(DEMO)


def test_demo_loads(demo: Inventory) -> None:
    assert demo.root == DEMO
    assert demo.syndicat.siren == "200070019"
    assert [host.name for host in demo.hosts] == ["srv-ours-1", "srv-ours-2"]
    assert {host.provider for host in demo.hosts} <= {"ovhcloud", "scaleway"}
    assert len(demo.communes) == 4
    assert demo.settings.ssh.user == "dsi-demo"
    assert demo.settings.ssh.bootstrap_user == "root"
    assert demo.settings.tls.mode == "acme"
    assert [target.name for target in demo.backup_targets] == ["principal"]
    assert demo.lab is False
    assert demo.summary() == {
        "syndicat": "Syndicat numérique de la Vallée de l'Ours",
        "hosts": 2,
        "communes": 4,
        "agents": 8,
        "backup_targets": 1,
    }


def test_demo_has_a_corsican_and_an_overseas_commune(demo: Inventory) -> None:
    codes = {commune.insee for commune in demo.communes}
    assert any(code.startswith(("2A", "2B")) for code in codes)
    assert any(code.startswith("97") for code in codes)


def test_lookups(demo: Inventory) -> None:
    assert demo.host("srv-ours-2").region == "fr-par"
    assert demo.commune("ours-les-bains").insee == "38123"
    assert [c.slug for c in demo.communes_on("srv-ours-1")] == ["ours-les-bains", "saint-aubin-des-combes"]
    assert demo.communes_on("nowhere") == []
    assert demo.backup_target("principal").bucket == "vallee-ours-sauvegardes"
    with pytest.raises(KeyError):
        demo.host("srv-ours-9")
    with pytest.raises(KeyError):
        demo.commune("nowhere")


def test_commune_source_and_sites(demo: Inventory) -> None:
    commune = demo.commune("ours-les-bains")
    assert commune.source == DEMO / "communes" / "ours-les-bains.yml"
    # The demo's communes run the drive, bastide's own service, at its subdomain.
    assert commune.services == ["drive", "calendars", "rdv"]
    assert [(site.service, site.fqdn) for site in commune.sites()] == [
        ("drive", "documents.ours-les-bains.example.fr"),
        ("calendars", "agenda.ours-les-bains.example.fr"),
        ("rdv", "rdv.ours-les-bains.example.fr"),
    ]
    commune = load(SYNDICAT).commune("ours-les-bains")
    assert commune.source == SYNDICAT / "communes" / "ours-les-bains.yml"
    assert [(site.service, site.fqdn) for site in commune.sites()] == [
        ("drive", "documents.ours-les-bains.example.fr"),
        ("whoami", "whoami.ours-les-bains.example.fr"),
    ]


def test_the_demo_drive_settings(demo: Inventory) -> None:
    """The commune's `drive:` section, with the contract's defaults for what it leaves out, and
    the syndicat's."""
    assert demo.commune("ours-les-bains").service_settings("drive") == {
        "quota": "20G",
        "restricted": ["État civil"],
        "devices": [],
    }
    # A commune without a section gets the defaults alone.
    assert demo.commune("anse-aux-ours").service_settings("drive") == {
        "quota": "10G",
        "restricted": [],
        "devices": [],
    }
    assert demo.service_settings == {"drive": {"sync_host": "srv-ours-1"}}


def test_models_are_frozen(demo: Inventory) -> None:
    with pytest.raises(pydantic.ValidationError):
        demo.commune("ours-les-bains").name = "Autre"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        demo.hosts[0].address = "192.0.2.99"  # type: ignore[misc]


def test_commune_model_refuses_unknown_keys_and_bad_values() -> None:
    good = {
        "slug": "ours",
        "name": "Ours",
        "insee": "38123",
        "domain": "ours.example.fr",
        "host": "h",
        "services": ["whoami"],
        "backup_target": "t",
    }
    assert Commune.model_validate(good).agents == []
    with pytest.raises(pydantic.ValidationError, match="extra"):
        Commune.model_validate({**good, "colour": "blue"})
    with pytest.raises(pydantic.ValidationError, match="must be 5 characters"):
        Commune.model_validate({**good, "insee": "381"})
    with pytest.raises(pydantic.ValidationError):
        Commune.model_validate({**good, "insee": 38123})
    # A source cannot be smuggled in through the file.
    with pytest.raises(pydantic.ValidationError):
        Commune.model_validate({**good, "source": "/etc/passwd"})


def test_domain_is_normalised_to_lowercase() -> None:
    commune = Commune.model_validate(
        {
            "slug": "ours",
            "name": "Ours",
            "insee": "2b104",
            "domain": "Ours.Example.FR",
            "host": "h",
            "services": [],
            "backup_target": "t",
        }
    )
    assert commune.domain == "ours.example.fr"
    assert commune.insee == "2B104"


def test_catalogue_providers() -> None:
    providers = catalogue.providers()
    for name in ("ovhcloud", "scaleway", "outscale", "cloud-temple", "orange-business"):
        assert providers[name].jurisdiction == "FR"
    for name in ("aws", "azure", "gcp"):
        assert providers[name].jurisdiction == "US"
        assert any(region.country == "FR" for region in providers[name].regions.values())
    assert providers["aws"].regions["eu-west-3"].country == "FR"
    assert providers["hetzner"].jurisdiction == "DE"
    assert list(providers["lab"].regions) == ["lab-local"]


def test_catalogue_services() -> None:
    services = catalogue.services()
    # bastide's own drive, and the tests' whoami (on BASTIDE_ROLES_PATH).
    assert set(services) == {"calendars", "drive", "rdv", "whoami"}
    drive = services["drive"]
    assert (drive.subdomain, drive.needs, drive.ports) == ("documents", (), (443, 80))
    whoami = services["whoami"]
    assert (whoami.subdomain, whoami.needs, whoami.ports) == ("whoami", ("postgresql", "redis"), (443, 80))
    assert whoami.contract["role"] == "whoami"
    for service in services.values():
        assert set(service.needs) <= {"postgresql", "redis"}
        assert 443 in service.ports
        assert set(service.description) == {"en", "fr"}


def test_yaml_lines_and_paths(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text("a:\n  b:\n    - c: 1\n    - c: 2\n      d: 3\n", encoding="utf-8")
    source, problems = read(path, "x.yml")
    assert problems == []
    assert source is not None
    assert source.line(("a", "b", 1, "d")) == 5
    assert source.line(("a", "b", 1, "missing")) == 4
    assert source.line(("a", "b", 0)) == 3
    assert field_path(("hosts", 1, "region")) == "hosts[1].region"
    assert field_path(("a", 0, 2, "b")) == "a[0][2].b"


def test_yaml_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_bytes("\ufeffname: Ours-lès-Bains\n".encode())
    source, problems = read(path, "x.yml")
    assert problems == []
    assert source is not None
    assert source.data == {"name": "Ours-lès-Bains"}


def test_yaml_not_utf8_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_bytes("name: Ours\nother: Ours-lès-Bains\n".encode("cp1252"))
    _source, problems = read(path, "x.yml")
    assert [p.line for p in problems] == [2]
    assert "UTF-8" in problems[0].message
