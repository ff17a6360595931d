"""The Ansible inventory bastide renders from the tests' syndicat (the demo, where every commune
runs the drive and whoami)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bastide.core.ansible import resolve_limit
from bastide.core.ansible.render import render
from bastide.core.inventory import load
from bastide.errors import InputError

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "inventories" / "demo"
SYNDICAT = REPO / "tests" / "fixtures" / "syndicat"


@pytest.fixture(scope="module")
def rendered() -> dict:
    return render(load(SYNDICAT))


def test_every_host_with_its_connection_and_communes(rendered: dict) -> None:
    inventory = load(SYNDICAT)
    hosts = rendered["all"]["hosts"]
    assert set(hosts) == {h.name for h in inventory.hosts}
    for host in inventory.hosts:
        variables = hosts[host.name]
        assert variables["ansible_host"] == host.address
        assert variables["ansible_user"] == "dsi-demo"
        assert variables["ansible_become"] is True
        expected = [c.slug for c in inventory.communes_on(host.name)]
        assert [c["slug"] for c in variables["bastide_communes"]] == expected


def test_bootstrap_user_override_drops_become(rendered: dict) -> None:
    hosts = render(load(SYNDICAT), {"srv-ours-1": "root"})["all"]["hosts"]
    assert hosts["srv-ours-1"]["ansible_user"] == "root"
    assert "ansible_become" not in hosts["srv-ours-1"]
    assert hosts["srv-ours-2"]["ansible_user"] == "dsi-demo"


def test_groups_per_commune_service_and_backend(rendered: dict) -> None:
    inventory = load(SYNDICAT)
    groups = rendered["all"]["children"]
    for commune in inventory.communes:
        assert list(groups["commune_" + commune.slug.replace("-", "_")]["hosts"]) == [commune.host]
    assert set(groups["frontend"]["hosts"]) == {c.host for c in inventory.communes}
    # whoami needs postgresql and redis: every host with a commune on whoami gets both backends.
    with_whoami = {c.host for c in inventory.communes if "whoami" in c.services}
    assert with_whoami == {h.name for h in inventory.hosts}
    assert set(groups["service_whoami"]["hosts"]) == with_whoami
    assert set(groups["backend_postgresql"]["hosts"]) == with_whoami
    assert set(groups["backend_redis"]["hosts"]) == with_whoami
    assert all(name.isidentifier() for name in groups)


def without_services(root: Path) -> None:
    """No host and no commune of the inventory at ``root`` runs a service."""
    syndicat = root / "syndicat.yml"
    data = yaml.safe_load(syndicat.read_text(encoding="utf-8"))
    for host in data["hosts"]:
        host["services"] = []
    syndicat.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for path in (root / "communes").glob("*.yml"):
        commune = yaml.safe_load(path.read_text(encoding="utf-8"))
        commune["services"] = []
        for section in ("drive", "calendars", "rdv"):
            commune.pop(section, None)
        path.write_text(yaml.safe_dump(commune, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_no_service_no_service_nor_backend_group(tmp_path: Path) -> None:
    """Communes that run no service: frontends and communes, but no service nor backend."""
    root = tmp_path / "inventory"
    shutil.copytree(DEMO, root)
    without_services(root)
    rendered = render(load(root))
    groups = rendered["all"]["children"]
    assert "frontend" in groups and "commune_ours_les_bains" in groups
    assert not [name for name in groups if name.startswith(("service_", "backend_"))]
    assert rendered["all"]["vars"]["bastide_sites"] == []
    assert rendered["all"]["vars"]["bastide_syndicat_parts"] == []
    for host in rendered["all"]["hosts"].values():
        assert all(commune["sites"] == [] for commune in host["bastide_communes"])
        assert all(commune["settings"] == {} for commune in host["bastide_communes"])


def test_the_demo_services_and_their_backend() -> None:
    """The demo's communes run the drive, the calendars and the booking; only the booking needs
    a backend (PostgreSQL), Redis none of them."""
    rendered = render(load(DEMO))
    groups = rendered["all"]["children"]
    assert set(groups["service_drive"]["hosts"]) == {"srv-ours-1", "srv-ours-2"}
    assert sorted(name for name in groups if name.startswith(("service_", "backend_"))) == [
        "backend_postgresql", "service_calendars", "service_drive", "service_rdv"
    ]
    assert {s["fqdn"] for s in rendered["all"]["vars"]["bastide_sites"]} == {
        f"{sub}.{c.domain}" for c in load(DEMO).communes for sub in ("documents", "agenda", "rdv")
    }


def test_sites_and_catalogue_reach_the_roles(rendered: dict) -> None:
    variables = rendered["all"]["vars"]
    assert variables["bastide_services"]["whoami"]["needs"] == ["postgresql", "redis"]
    assert variables["bastide_services"]["whoami"]["subdomain"] == "whoami"
    assert variables["bastide_services"]["drive"]["subdomain"] == "documents"
    commune = rendered["all"]["hosts"]["srv-ours-1"]["bastide_communes"][0]
    assert commune["sites"] == [
        {"service": "drive", "fqdn": "documents." + commune["domain"]},
        {"service": "whoami", "fqdn": "whoami." + commune["domain"]},
    ]
    assert {(s["commune"], s["fqdn"]) for s in variables["bastide_sites"]} == {
        (c.slug, f"{sub}.{c.domain}") for c in load(SYNDICAT).communes for sub in ("documents", "whoami")
    }
    assert variables["bastide_hardening_level"] == "intermediary"
    assert variables["bastide_lab"] is False


def test_rendering_is_plain_yaml_without_secrets(rendered: dict) -> None:
    text = yaml.safe_dump(rendered, allow_unicode=True)
    assert "password" not in text.lower()
    assert yaml.safe_load(text) == rendered


def test_limit_accepts_a_commune_or_a_host() -> None:
    inventory = load(SYNDICAT)
    commune = inventory.communes[0]
    assert resolve_limit(inventory, commune.slug) == [commune.host]
    assert resolve_limit(inventory, "srv-ours-2") == ["srv-ours-2"]
    both = resolve_limit(inventory, f"{commune.slug},srv-ours-2,srv-ours-2")
    assert both == list(dict.fromkeys([commune.host, "srv-ours-2"]))
    with pytest.raises(InputError):
        resolve_limit(inventory, "srv-ours-2,atlantis")
    assert resolve_limit(inventory, None) is None
    with pytest.raises(InputError) as error:
        resolve_limit(inventory, "atlantis")
    assert error.value.problems[0].field == "limit"


def test_admin_networks_reach_the_firewall(tmp_path: Path) -> None:
    root = tmp_path / "inventory"
    shutil.copytree(SYNDICAT, root)
    data = yaml.safe_load((root / "syndicat.yml").read_text())
    data["settings"]["admin_networks"] = ["192.0.2.0/24", "2001:db8:1::/48", "203.0.113.7"]
    (root / "syndicat.yml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    variables = render(load(root))["all"]["vars"]
    # A bare address is that address alone, written so nftables and fail2ban read it the same.
    assert variables["bastide_admin_networks"] == ["192.0.2.0/24", "2001:db8:1::/48", "203.0.113.7/32"]
    assert render(load(SYNDICAT))["all"]["vars"]["bastide_admin_networks"] == ["198.51.100.0/24"]


def test_internal_mode_makes_the_hosts_trust_the_syndicat_ca(tmp_path: Path) -> None:
    """The SSO handlers reach the portal over HTTPS: with the syndicat's own CA, every host
    must trust it (the base role installs bastide_extra_cas into the system store)."""
    from bastide.core import pki

    root = tmp_path / "inventory"
    shutil.copytree(SYNDICAT, root)
    acme = render(load(root))["all"]["vars"]["bastide_extra_cas"]
    assert "syndicat-internal-ca" not in {ca["name"] for ca in acme}
    data = yaml.safe_load((root / "syndicat.yml").read_text(encoding="utf-8"))
    data["settings"]["tls"] = {"mode": "internal"}
    (root / "syndicat.yml").write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    from cryptography.hazmat.primitives import serialization

    certificate = pki.build_ca_certificate(pki.new_ca_key(), syndicat_name="Test", domains=["example.fr"])
    pki.ca_certificate_path(root).parent.mkdir(exist_ok=True)
    pki.ca_certificate_path(root).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    cas = {ca["name"]: ca["pem"] for ca in render(load(root))["all"]["vars"]["bastide_extra_cas"]}
    assert cas["syndicat-internal-ca"] == pki.ca_certificate_path(root).read_text(encoding="ascii")
