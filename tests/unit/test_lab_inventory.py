"""The lab inventory: an inventory moved onto the lab hosts and pointed at the lab services."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from bastide.core.inventory import load
from bastide.core.lab import acme, inventory_writer
from bastide.core.lab.info import AcmeInfo, LabInfo, S3Info, SmtpInfo
from bastide.core.lab.plan import plan
from bastide.errors import InputError

LAB_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDKIC3QJD1L4Dow2JJvN6QFhSaZQx/DATlOzT+zwE0FK bastide-lab-0"
SMALL = Path(__file__).resolve().parent.parent / "fixtures" / "lab" / "small"


def lab_info(tmp_path: Path, hosts: int = 2) -> LabInfo:
    pems = {}
    for index, name in enumerate(("site-proxy-ca.crt", "server-ca.pem", "issuer-root.pem")):
        # Real certificates: the inventory model checks that each CA file holds one.
        made = acme.ensure_server_ca(plan(index, 1), tmp_path / f"ca{index}")
        pems[name] = tmp_path / name
        shutil.copyfile(made, pems[name])
    (tmp_path / "secret").write_text("not-shown\n")
    return LabInfo(
        lab_id=0,
        hosts=[(f"lab0-h{i}", f"10.77.0.{10 + i}") for i in range(1, hosts + 1)],
        gateway="10.77.0.1",
        gateway_name="gateway.lab0.bastide.test",
        ssh_key=str(tmp_path / "id_ed25519"),
        ssh_public_key=LAB_KEY,
        known_hosts=str(tmp_path / "known_hosts"),
        ssh_user="root",
        proxy_url="http://10.77.0.1:3129",
        s3=S3Info(
            endpoint="http://10.77.0.1:7480",
            access_key="BASTIDELABX",
            secret_key_file=str(tmp_path / "secret"),
        ),
        acme=AcmeInfo(
            directory="https://10.77.0.1:14000/dir",
            server_ca_pem=str(pems["server-ca.pem"]),
            issuer_root_pem=str(pems["issuer-root.pem"]),
            dns_server="10.77.0.1:53",
        ),
        smtp=SmtpInfo(host="10.77.0.1", port=25, maildir=str(tmp_path / "mail")),
        extra_cas=[str(pems["site-proxy-ca.crt"])],
        state_dir=str(tmp_path),
    )


def test_lab_inventory_is_valid_and_points_at_the_lab(tmp_path: Path) -> None:
    source = inventory_writer.read_source(SMALL)
    info = lab_info(tmp_path)
    out = inventory_writer.write(source, info, tmp_path / "inventories" / "lab")
    inventory = load(out)  # the inventory model accepts it as it is
    assert inventory.lab is True
    assert [(h.name, h.address, h.provider, h.region) for h in inventory.hosts] == [
        ("srv-essai-1", "10.77.0.11", "lab", "lab-local"),
        ("srv-essai-2", "10.77.0.12", "lab", "lab-local"),
    ]
    assert "lab" in inventory.residency.providers and "lab-local" in inventory.residency.regions
    settings = inventory.settings
    assert settings.smtp_relay.host == "gateway.lab0.bastide.test" and settings.smtp_relay.port == 25
    assert settings.tls.acme_directory == "https://10.77.0.1:14000/dir"
    assert settings.http_proxy == "http://10.77.0.1:3129"
    # The machine that administers the lab is in the administration networks (never banned).
    assert [str(n) for n in settings.admin_networks][-1] in ("10.77.0.1/32", "10.77.0.1")
    assert settings.ssh.private_key_file == info.ssh_key
    admins = {admin.name: admin.ssh_keys for admin in settings.admins}
    assert admins["dsi-essai"] == [info.ssh_public_key]  # the account bastide connects as
    assert admins["dsi-autre"] != [info.ssh_public_key]
    assert sorted(settings.extra_trusted_cas) == [
        "cas/lab-acme-issuer-root.pem",
        "cas/lab-acme-server-ca.pem",
        "cas/site-proxy-ca.pem",
    ]
    for relative in settings.extra_trusted_cas:
        assert (out / relative).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert [t.endpoint for t in inventory.backup_targets] == ["http://10.77.0.1:7480"]
    assert {c.slug for c in inventory.communes} == {"essai-haut", "essai-bas"}
    assert "not-shown" not in "".join(p.read_text() for p in out.rglob("*.yml"))


def test_domains_map_communes_onto_the_lab_host_of_their_server() -> None:
    source = inventory_writer.read_source(SMALL)
    assert source.domains(["lab0-h1", "lab0-h2"]) == {
        "essai-haut.example.fr": "lab0-h1",
        "essai-bas.example.fr": "lab0-h2",
    }


def test_too_few_hosts_is_refused_with_the_fix(tmp_path: Path) -> None:
    source = inventory_writer.read_source(SMALL)
    with pytest.raises(InputError) as error:
        inventory_writer.write(source, lab_info(tmp_path, hosts=1), tmp_path / "out")
    problem = error.value.problems[0]
    assert problem.field == "hosts" and problem.file.endswith("syndicat.yml")
    assert "--hosts 2" in problem.fix
    assert not (tmp_path / "out").exists()


def test_rewriting_keeps_the_keyring_and_drops_stale_communes(tmp_path: Path) -> None:
    source = inventory_writer.read_source(SMALL)
    out = tmp_path / "lab"
    inventory_writer.write(source, lab_info(tmp_path), out)
    (out / "keyring").mkdir()
    (out / "keyring" / "secrets.age").write_text("encrypted")
    (out / "communes" / "gone.yml").write_text("slug: gone\n")
    inventory_writer.write(source, lab_info(tmp_path), out)
    assert (out / "keyring" / "secrets.age").read_text() == "encrypted"
    assert not (out / "communes" / "gone.yml").exists()


def test_a_bad_source_is_reported_before_anything_starts(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(SMALL, broken)
    data = yaml.safe_load((broken / "syndicat.yml").read_text())
    data["hosts"][0]["region"] = "us-east-1"
    (broken / "syndicat.yml").write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(InputError):
        inventory_writer.read_source(broken)
    with pytest.raises(InputError) as missing:
        inventory_writer.read_source(tmp_path / "nowhere")
    assert "--from" in missing.value.problems[0].fix


def test_write_and_record_saves_the_host_mapping(tmp_path: Path) -> None:
    source = inventory_writer.read_source(SMALL)
    info = inventory_writer.write_and_record(source, lab_info(tmp_path), tmp_path / "lab")
    assert info.inventory == str((tmp_path / "lab").resolve())
    assert info.inventory_hosts == {"srv-essai-1": "lab0-h1", "srv-essai-2": "lab0-h2"}
    again = LabInfo.from_dict(json.loads((tmp_path / "lab.json").read_text()))
    assert again == info


def test_browser_access_sends_each_domain_to_its_lab_host() -> None:
    from bastide.core.inventory import load
    from bastide.core.lab import browse

    # The demo with the tests' service on every commune, so that the communes have sites.
    inventory = load(Path(__file__).resolve().parents[1] / "fixtures" / "syndicat")
    found = browse.access(inventory, "/var/lib/bastide/lab/0/acme/issuer-root.pem")
    ours = inventory.host("srv-ours-1").address
    assert found.domains["ours-les-bains.example.fr"] == ours
    assert found.domains["auth.vallee-ours.example.fr"] == ours
    assert "https://whoami.ours-les-bains.example.fr/" in found.urls
    assert f"MAP *.ours-les-bains.example.fr {ours}" in found.local_command
    port = found.forwards[ours]
    assert f"-L {port}:{ours}:443" in found.ssh_command
    assert f"MAP *.ours-les-bains.example.fr 127.0.0.1:{port}" in found.remote_command
    assert found.issuer_root_pem.endswith("issuer-root.pem")
