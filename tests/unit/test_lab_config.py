"""What the lab writes for its services and into its hosts (pure rendering)."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from bastide.core.lab import acme, dns, machines, proxy, s3, sshkeys
from bastide.core.lab.plan import plan


def test_proxy_listens_on_the_gateway_only_for_the_lab_and_caches_debs(tmp_path: Path) -> None:
    lab = plan(2, 2)
    text = proxy.render_config(lab, tmp_path / "work", tmp_path / "cache")
    assert "http_port 10.77.2.1:3129" in text
    assert "acl lab src 10.77.2.0/24" in text
    assert text.index("http_access allow lab") < text.index("http_access deny all")
    assert f"cache_dir ufs {tmp_path / 'cache'}" in text
    assert "refresh_pattern \\.(deb|udeb)$ 525600" in text
    assert proxy.proxy_url(lab) == "http://10.77.2.1:3129"


def test_dns_answers_for_hosts_and_commune_domains_only() -> None:
    lab = plan(1, 2)
    text = dns.render_config(lab, {"ours-les-bains.example.fr": "10.77.1.11"})
    assert "listen-address=10.77.1.1" in text and "bind-interfaces" in text
    assert "no-resolv" in text  # nothing forwarded outside the lab
    assert "address=/ours-les-bains.example.fr/10.77.1.11" in text
    assert "host-record=lab1-h2,10.77.1.12" in text
    assert "host-record=gateway.lab1.bastide.test,10.77.1.1" in text
    # Read as root before dnsmasq drops privileges: no file of its own to read or write later.
    assert "addn-hosts" not in text and "log-facility=-" in text


def test_ceph_runs_one_node_in_memory_on_the_gateway(tmp_path: Path) -> None:
    lab = plan(4, 1)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(s3.render_config(lab, tmp_path, "fsid-1"))
    config = parser["global"]
    assert config["osd_objectstore"] == "memstore"
    assert config["osd_pool_default_size"] == "1"
    assert config["mon_host"] == "10.77.4.1:6789"
    assert config["auth_client_required"] == "none"
    assert parser["client.rgw"]["rgw_frontends"] == "beast endpoint=10.77.4.1:7480"
    assert s3.endpoint(lab) == "http://10.77.4.1:7480"


def test_the_s3_store_size_is_2_gib_or_what_the_environment_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    from bastide.errors import BastideError

    monkeypatch.delenv("BASTIDE_LAB_S3_GB", raising=False)
    assert s3.memory_bytes() == 2 << 30
    monkeypatch.setenv("BASTIDE_LAB_S3_GB", "4")
    assert s3.memory_bytes() == 4 << 30
    for wrong in ("0", "huge", "100"):
        monkeypatch.setenv("BASTIDE_LAB_S3_GB", wrong)
        with pytest.raises(BastideError, match="BASTIDE_LAB_S3_GB") as raised:
            s3.memory_bytes()
        assert raised.value.exit_code == 2


def test_pebble_serves_on_the_gateway_and_validates_on_port_80(tmp_path: Path) -> None:
    lab = plan(0, 1)
    config = acme.render_config(lab, tmp_path / "c.pem", tmp_path / "k.pem")["pebble"]
    assert config["listenAddress"] == "10.77.0.1:14000"  # type: ignore[index]
    assert config["httpPort"] == 80  # type: ignore[index]
    assert acme.directory_url(lab) == "https://10.77.0.1:14000/dir"


def test_pebble_tls_certificate_is_valid_for_the_gateway(tmp_path: Path) -> None:
    from cryptography import x509

    lab = plan(5, 1)
    ca_path = acme.ensure_server_ca(lab, tmp_path)
    cert_path, key_path = acme.issue_server_certificate(lab, tmp_path)
    ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "gateway.lab5.bastide.test" in names.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["10.77.5.1"]
    assert key_path.stat().st_mode & 0o077 == 0
    # The CA stays across runs: hosts that trust it keep trusting pebble.
    assert acme.ensure_server_ca(lab, tmp_path).read_bytes() == ca_path.read_bytes()


def test_hosts_use_the_proxy_for_apt_and_pip() -> None:
    apt = machines.apt_proxy_conf("http://10.77.0.1:3129")
    assert 'Acquire::http::Proxy "http://10.77.0.1:3129";' in apt
    pip = configparser.ConfigParser()
    pip.read_string(machines.pip_conf("http://10.77.0.1:3129"))
    assert pip["global"]["proxy"] == "http://10.77.0.1:3129"
    assert pip["global"]["cert"] == "/etc/ssl/certs/ca-certificates.crt"


def test_host_files_name_every_lab_host_and_the_gateway() -> None:
    lab = plan(0, 2)
    text = machines.hosts_file(lab, lab.hosts[1])
    assert "127.0.1.1\tlab0-h2" in text
    assert "10.77.0.11\tlab0-h1" in text and "10.77.0.1\tgateway.lab0.bastide.test" in text


def test_known_hosts_pins_each_host_by_name_and_address() -> None:
    text = sshkeys.known_hosts_text([(["lab0-h1", "10.77.0.11"], "ssh-ed25519 AAAAkey root@lab0-h1")])
    assert text == "lab0-h1,10.77.0.11 ssh-ed25519 AAAAkey\n"
    options = sshkeys.ssh_options(Path("/k"), Path("/kh"))
    assert "StrictHostKeyChecking=yes" in options and "UserKnownHostsFile=/kh" in options
