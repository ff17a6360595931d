"""Validation rules between values, on inventories built from the demo in a temporary dir."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bastide.core.inventory import load
from inventory_edits import DEMO, copy_demo, edit, problems


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    return copy_demo(tmp_path)


def test_every_problem_in_every_file_is_reported_at_once(inv: Path) -> None:
    edit(inv / "syndicat.yml", lambda d: d["syndicat"].update(siren="123456789"))
    edit(inv / "communes" / "ours-les-bains.yml", lambda d: d.update(insee="20123"))
    edit(inv / "communes" / "anse-aux-ours.yml", lambda d: d.update(host="srv-inconnu"))
    found = problems(inv)
    assert {(Path(p.file).name, p.field) for p in found} == {
        ("syndicat.yml", "syndicat.siren"),
        ("ours-les-bains.yml", "insee"),
        ("anse-aux-ours.yml", "host"),
    }
    assert all(p.line for p in found)
    # Sorted: syndicat.yml first, then communes in file order.
    assert Path(found[0].file).name == "syndicat.yml"


def test_a_commune_on_an_invalid_host_is_not_also_on_an_unknown_host(inv: Path) -> None:
    edit(inv / "syndicat.yml", lambda d: d["hosts"][1].update(address="not an address"))
    found = problems(inv)
    assert [(p.field, "neither an IP" in p.message) for p in found] == [("hosts[1].address", True)]


def test_lab_flag_and_private_key_file_are_accepted(inv: Path) -> None:
    def change(data: dict) -> None:
        data["lab"] = True
        data["settings"]["ssh"]["private_key_file"] = "keys/id_ed25519"

    edit(inv / "syndicat.yml", change)
    loaded = load(inv)
    assert loaded.lab is True
    assert loaded.settings.ssh.private_key_file == "keys/id_ed25519"
    assert loaded.ssh_private_key_path() == inv.resolve() / "keys" / "id_ed25519"


def test_private_key_file_absolute_or_home(inv: Path) -> None:
    edit(inv / "syndicat.yml", lambda d: d["settings"]["ssh"].update(private_key_file="~/.ssh/id_ed25519"))
    assert load(inv).ssh_private_key_path() == Path.home() / ".ssh" / "id_ed25519"
    edit(inv / "syndicat.yml", lambda d: d["settings"]["ssh"].update(private_key_file="/srv/keys/lab"))
    assert load(inv).ssh_private_key_path() == Path("/srv/keys/lab")
    assert load(DEMO).ssh_private_key_path() is None


def test_internal_tls_needs_no_acme_settings(inv: Path) -> None:
    edit(inv / "syndicat.yml", lambda d: d["settings"].update(tls={"mode": "internal"}))
    assert load(inv).settings.tls.mode == "internal"


def test_defaults(inv: Path) -> None:
    def change(data: dict) -> None:
        for key in ("hardening_level", "extra_trusted_cas", "http_proxy"):
            del data["settings"][key]
        del data["settings"]["ssh"]["port"]
        del data["settings"]["ssh"]["bootstrap_user"]
        del data["settings"]["smtp_relay"]["port"]

    edit(inv / "syndicat.yml", change)
    settings = load(inv).settings
    assert settings.hardening_level == "intermediary"
    assert settings.extra_trusted_cas == []
    assert settings.http_proxy == ""
    assert settings.ssh.port == 22
    assert settings.ssh.bootstrap_user == "root"
    assert settings.smtp_relay.port == 25


def _ca_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Proxy CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_extra_trusted_ca_relative_to_the_inventory(inv: Path) -> None:
    (inv / "certs").mkdir()
    (inv / "certs" / "proxy-ca.pem").write_bytes(_ca_pem())
    edit(inv / "syndicat.yml", lambda d: d["settings"].update(extra_trusted_cas=["certs/proxy-ca.pem"]))
    assert load(inv).settings.extra_trusted_cas == ["certs/proxy-ca.pem"]


def test_a_policy_that_allows_a_hyperscaler_accepts_it(inv: Path) -> None:
    def change(data: dict) -> None:
        data["residency"]["providers"].append("aws")
        data["residency"]["regions"].append("eu-west-3")
        data["hosts"][1].update(provider="aws", region="eu-west-3")

    edit(inv / "syndicat.yml", change)
    assert load(inv).host("srv-ours-2").provider == "aws"


def test_policy_names_an_unknown_provider(inv: Path) -> None:
    edit(inv / "syndicat.yml", lambda d: d["residency"]["providers"].append("ovh"))
    [problem] = problems(inv)
    assert problem.field == "residency.providers[4]"
    assert "ovhcloud" in problem.fix


def test_hosts_outside_french_regions_of_a_french_provider(inv: Path) -> None:
    def change(data: dict) -> None:
        data["residency"]["regions"].append("de-lim")
        data["hosts"][0].update(region="ca-bhs")

    edit(inv / "syndicat.yml", change)
    [problem] = problems(inv)
    assert problem.field == "hosts[0].region"
    assert "(CA)" in problem.message


def test_no_communes_and_no_hosts_is_valid(inv: Path) -> None:
    shutil.rmtree(inv / "communes")
    # The drive's section names a host: it goes with the hosts.
    edit(
        inv / "syndicat.yml",
        lambda d: (d.update(hosts=[], backup_targets=[]), d.pop("identity"), d.pop("drive")),
    )
    loaded = load(inv)
    assert loaded.communes == [] and loaded.hosts == []
    assert loaded.service_settings == {}


def test_a_service_section_naming_a_host_that_is_gone(inv: Path) -> None:
    """A service's section of syndicat.yml is checked even when no commune runs the service."""
    shutil.rmtree(inv / "communes")
    edit(inv / "syndicat.yml", lambda d: (d.update(hosts=[], backup_targets=[]), d.pop("identity")))
    [problem] = problems(inv)
    assert (problem.file.endswith("syndicat.yml"), problem.field) == (True, "drive.sync_host")
    assert "`srv-ours-1` is not one of the values allowed here" in problem.message


def test_not_a_directory(tmp_path: Path) -> None:
    [problem] = problems(tmp_path / "nowhere")
    assert "no inventory directory" in problem.message


def test_the_same_agent_twice_in_one_commune(inv: Path) -> None:
    def change(data: dict) -> None:
        data["agents"].append(dict(data["agents"][0]))

    edit(inv / "communes" / "ours-les-bains.yml", change)
    [problem] = problems(inv)
    assert problem.field == "agents[3].email"


def test_syndicat_must_be_a_mapping(inv: Path) -> None:
    (inv / "syndicat.yml").write_text("- just\n- a list\n", encoding="utf-8")
    found = problems(inv)
    assert any("must hold a mapping" in p.message for p in found)


def test_hosts_must_be_a_list(inv: Path) -> None:
    edit(inv / "syndicat.yml", lambda d: d.update(hosts={"name": "srv"}))
    found = problems(inv)
    assert any(p.field == "hosts" and "must be a list" in p.message for p in found)


def test_logins_default_to_the_email_and_the_identity_names_derive_from_the_portal(inv: Path) -> None:
    loaded = load(inv)
    ours = loaded.commune("ours-les-bains")
    assert [a.login for a in ours.agents][:2] == ["marie.dupont", "karim.benali"]
    assert ours.elus[0].login == "helene.martin"  # given with id: (maire@ makes a poor login)
    assert len(loaded.people()) == len(loaded.agents()) + sum(len(c.elus) for c in loaded.communes)
    identity = loaded.identity
    assert identity is not None and identity.host == "srv-ours-1"
    assert identity.directory == "ldap.vallee-ours.example.fr"
    assert identity.base_dn == "dc=vallee-ours,dc=example,dc=fr"


def test_the_identity_reaches_ansible(inv: Path) -> None:
    from bastide.core.ansible.render import host_variables, render

    rendered = render(load(inv))
    variables = host_variables(rendered, "srv-ours-2")
    assert variables["bastide_identity"]["base_dn"] == "dc=vallee-ours,dc=example,dc=fr"
    ortu = next(c for c in variables["bastide_communes"] if c["slug"] == "ortu-di-l-orsu")
    assert ortu["second_factor"] == "required"
    assert ortu["elus"] == [
        {
            "name": "Antone Filippi",
            "email": "antone.filippi@ortu-di-l-orsu.example.fr",
            "login": "antone.filippi",
            "mandate": "maire",
            "disabled": False,
        }
    ]
    assert all("login" in agent for agent in ortu["agents"])


def test_an_agent_login_may_not_be_an_elus_login_of_another_commune(inv: Path) -> None:
    def change(data: dict) -> None:
        data["agents"][0]["id"] = "helene.martin"

    # Communes are read in file name order: the later one is reported.
    edit(inv / "communes" / "saint-aubin-des-combes.yml", change)
    [problem] = problems(inv)
    assert problem.file.endswith("saint-aubin-des-combes.yml")
    assert problem.field == "agents[0].id" and "helene.martin" in problem.message
    assert "ours-les-bains.yml" in problem.message
