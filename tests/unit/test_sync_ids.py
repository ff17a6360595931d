"""Syncthing device IDs computed by bastide (on the controller, and by the hubs' configuration
tool on the hosts) are the ones the real ``syncthing`` binary (Debian's 1.19.2) computes, for
certificates Syncthing made itself and for the keyring's ``x509-identity`` values."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from bastide.core.keys.generate import generate
from bastide.core.sync import ids

REPO = Path(__file__).resolve().parents[2]
APPLY = REPO / "roles" / "drive" / "files" / "bastide-sync-apply"


@pytest.fixture(scope="module")
def syncthing() -> str:
    found = shutil.which("syncthing")
    assert found, "these tests need Debian's syncthing: apt-get install syncthing"
    return found


def _syncthing_id(binary: str, home: Path) -> str:
    done = subprocess.run(
        [binary, f"--home={home}", "--device-id"], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def _apply_tool() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("bastide_sync_apply", str(APPLY))
    spec = importlib.util.spec_from_loader("bastide_sync_apply", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_same_id_as_syncthing_for_its_own_certificate(syncthing: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    subprocess.run(
        [syncthing, "generate", f"--home={home}", "--no-default-folder", "--skip-port-probing"],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    cert = (home / "cert.pem").read_text()
    expected = _syncthing_id(syncthing, home)
    assert re.fullmatch(r"[A-Z2-7]{7}(-[A-Z2-7]{7}){7}", expected), expected
    assert ids.device_id(cert) == expected
    assert _apply_tool().device_id(cert) == expected


def test_same_id_as_syncthing_for_a_keyring_identity(syncthing: str, tmp_path: Path) -> None:
    """The keyring's identities (PKCS#8 EC P-384 key, then the self-signed certificate) load in
    Syncthing as its own key and certificate, and give the ID bastide prints."""
    pem = generate("x509-identity").decode("ascii")
    key = re.search(r"-----BEGIN PRIVATE KEY-----[\s\S]*?-----END PRIVATE KEY-----\n", pem)
    cert = re.search(r"-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n", pem)
    assert key and cert
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "key.pem").write_text(key.group(0))
    (home / "cert.pem").write_text(cert.group(0))
    expected = _syncthing_id(syncthing, home)
    assert ids.device_id(pem) == expected  # the whole value: the certificate is found in it
    assert _apply_tool().device_id(pem) == expected


def test_normalise_accepts_what_syncthing_accepts_and_refuses_typos() -> None:
    good = ids.from_digest(bytes(range(32)))
    assert ids.normalise(good) == good
    assert ids.normalise(good.lower().replace("-", " ")) == good
    typed = good.replace("O", "0").replace("I", "1").replace("B", "8")
    assert ids.normalise(typed) == good
    # One character changed: a check character no longer matches.
    wrong = ("C" if good[0] != "C" else "D") + good[1:]
    with pytest.raises(ids.InvalidDeviceId) as raised:
        ids.normalise(wrong)
    assert raised.value.reason == "check"
    for bad in ("", "ABC", good[:-1], good + "A", good.replace(good[0], "?", 1)):
        with pytest.raises(ids.InvalidDeviceId) as raised:
            ids.normalise(bad)
        assert raised.value.reason == "syntax"
