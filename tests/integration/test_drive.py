"""The commune drive on the deployed lab, through the real TLS front door, with real clients:
an agent's browser (Debian's chromium, driven by Selenium) uploads, lists and downloads; an
interrupted 200 MB upload resumes; share links work for people without an account, with their
password and until their expiry, audited and revocable from the controller; network drives
(davfs2, and a Python WebDAV client) see the same files with the directory password; a commune
sees nothing of another; a full store refuses uploads with a clear message.

Screenshots are kept under ``BASTIDE_TEST_ARTIFACTS``/drive.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from lab_browser import Browser, address_of, change_password, one_time_password, request, site, wait_text
from lab_browser import inventory as lab_inventory
from lab_fixtures import SMALL_DRIVE, Env, admin_host, assert_no_secret_leaked, bastide

pytestmark = pytest.mark.lab

OURS = "ours-les-bains"
# People the other modules leave alone (test_sso logs in karim.benali, nadia.haddad,
# helene.martin, fabienne.louis-joseph, gp.santoni and saint-aubin's first agent).
AGENT = "sophie.lefevre"  # Urbanisme, Ours-les-Bains
CLERK = "marie.dupont"  # Secrétariat de mairie, Ours-les-Bains
OTHER_COMMUNE, OTHER = "anse-aux-ours", "joel.saint-prix"
SMALL, SMALL_AGENT = SMALL_DRIVE[0], "elodie.garnier"
RUN = int(time.time())
PASSWORD = f"Documents-{RUN}-Ours"
# The names of this session's files (a kept lab holds the previous sessions').
PLAN = f"plan-local-urbanisme-{RUN}.pdf"
STORE = "/var/lib/bastide-drive"
BIG = 200 * 1024 * 1024

_passwords: dict[str, str] = {}
# The share made to expire, checked at the end of the module.
_expiring: dict[str, str] = {}

# Computes, in the page, the SHA-256 of what the browser downloads from a URL.
_DIGEST = """
const done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: 'same-origin'})
  .then(r => { if (!r.ok) throw new Error('HTTP ' + r.status); return r.arrayBuffer(); })
  .then(buf => crypto.subtle.digest('SHA-256', buf))
  .then(d => done(Array.from(new Uint8Array(d)).map(x => x.toString(16).padStart(2, '0')).join('')))
  .catch(e => done('error ' + e));
"""

# Creates a share link from the page, as the drive's own "share" button does (same request).
_SHARE = """
const done = arguments[arguments.length - 1];
fetch(arguments[0] + '?share', {method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify(arguments[1])})
  .then(r => r.text().then(t => done([r.status, t]))).catch(e => done([0, String(e)]));
"""


# A Python WebDAV client (webdav4): lists a folder, uploads a file, reads one back. The password
# comes on standard input.
_WEBDAV_CLIENT = """
import io, sys
from webdav4.client import Client
client = Client({url!r}, auth=({login!r}, sys.stdin.readline().strip()), verify=False)
names = sorted(x["name"].rstrip("/").rsplit("/", 1)[-1] for x in client.ls("services/urbanisme"))
print(" ".join(names))
client.upload_fileobj(io.BytesIO(b"depuis webdav4"), "services/urbanisme/webdav4.txt", overwrite=True)
with client.open("services/urbanisme/compte-rendu.txt", mode="r") as found:
    print(found.read())
"""


@pytest.fixture(scope="module", autouse=True)
def _converged(converged: None) -> None:
    """The drives of every host: all of them deployed (lab_fixtures.converged)."""


def _password(env: Env, commune: str, login: str) -> str:
    """The person's own password: their one-time password changed on the portal, once."""
    if login not in _passwords:
        change_password(
            env, commune, login, one_time_password(env, commune, login), PASSWORD, service="drive"
        )
        _passwords[login] = PASSWORD
    return _passwords[login]


def _drive(env: Env, commune: str) -> str:
    return site(env, commune, "drive")


def _host(env: Env, commune: str) -> Any:
    return admin_host(env, lab_inventory(env).commune(commune).host)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _logged_in(env: Env, name: str, commune: str, login: str, path: str = "/", **kwargs: Any) -> Browser:
    password = _password(env, commune, login)
    browser = Browser(env, name, "drive", **kwargs)
    browser.open(_drive(env, commune) + path)
    browser.login(login, password)
    browser.wait_for(By.ID, "files")
    return browser


def _upload_in_page(browser: Browser, path: Path) -> None:
    """What the agent does: pick the file in the drive's upload field, confirm."""
    browser.driver.find_element(By.ID, "file1").send_keys(str(path))
    browser.wait_for(By.ID, "modal-ok").click()


@pytest.fixture()
def work() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bastide-drive-test-") as found:
        yield Path(found)


def test_an_agent_uploads_lists_and_downloads_in_the_browser(deploy_env: Env, work: Path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    document = work / PLAN
    document.write_bytes(data)
    base = _drive(deploy_env, OURS)
    browser = _logged_in(deploy_env, "web", OURS, AGENT, "/services/urbanisme/")
    try:
        browser.shot("folder")
        assert "précédent" in browser.text(), "the drive speaks French"
        _upload_in_page(browser, document)
        assert "OK" in wait_text(browser, "OK", timeout=60)
        browser.shot("uploaded")
        browser.open(base + "/services/urbanisme/")
        assert document.name in wait_text(browser, document.name)
        browser.shot("listed")
        digest = browser.driver.execute_async_script(_DIGEST, f"{base}/services/urbanisme/{document.name}")
        assert digest == _sha256(data)
        origins = browser.origins()
        portal = lab_inventory(deploy_env).identity.portal
        assert origins <= {base, f"https://{portal}"}, f"the page contacted other origins: {origins}"
    finally:
        browser.shot("end")
        browser.quit()
    with _host(deploy_env, OURS).sudo():
        stored = _host(deploy_env, OURS).file(f"{STORE}/{OURS}/files/services/urbanisme/{document.name}")
        assert stored.sha256sum == _sha256(data)


def _written(env: Env, commune: str, name: str, since: int) -> int:
    """Bytes of ``name`` copyparty wrote since ``since`` (epoch seconds, the host's clock), from
    its log of each chunk it receives."""
    host = _host(env, commune)
    with host.sudo():
        log = host.check_output(f"journalctl -u bastide-drive@{commune} --since @{since} --no-pager -o cat")
    pattern = r"writing '[^']*" + re.escape(name) + r"[^']*' .+?\+(\d+) #"
    return sum(int(size) for size in re.findall(pattern, log))


def _now(env: Env, commune: str) -> int:
    return int(_host(env, commune).check_output("date +%s"))


UPLINK = 16 * 1024 * 1024  # bytes per second: BIG takes over ten seconds


def test_an_interrupted_large_upload_resumes_where_it_stopped(deploy_env: Env, work: Path) -> None:
    document = work / f"deliberations-{RUN}.bin"
    digest = hashlib.sha256()
    with document.open("wb") as out:
        for _ in range(BIG // (4 * 1024 * 1024)):
            block = os.urandom(4 * 1024 * 1024)
            digest.update(block)
            out.write(block)
    folder = f"agents/{AGENT}"

    # First attempt: the browser goes away midway (a closed laptop, a lost connection).
    first = _now(deploy_env, OURS)
    browser = _logged_in(deploy_env, "resume-1", OURS, AGENT, f"/{folder}/")
    try:
        # A town hall's uplink, not the lab's loopback: unthrottled, the whole file could land
        # between two looks at the log and there would be nothing left to resume.
        browser.driver.set_network_conditions(
            offline=False, latency=5, download_throughput=UPLINK, upload_throughput=UPLINK
        )
        _upload_in_page(browser, document)
        deadline = time.monotonic() + 300
        while _written(deploy_env, OURS, document.name, first) < BIG // 4:
            assert time.monotonic() < deadline, "the upload did not start"
            time.sleep(1)
        browser.shot("midway")
    finally:
        browser.quit()
    time.sleep(3)
    before = _written(deploy_env, OURS, document.name, first)
    assert BIG // 4 <= before < BIG, before

    # Second attempt, in a new browser session: the same file again sends only what is missing.
    second = _now(deploy_env, OURS) + 1
    time.sleep(1)
    browser = _logged_in(deploy_env, "resume-2", OURS, AGENT, f"/{folder}/")
    try:
        _upload_in_page(browser, document)
        assert "OK" in wait_text(browser, "OK", timeout=300)
        browser.shot("resumed")
    finally:
        browser.quit()
    host = _host(deploy_env, OURS)
    with host.sudo():
        assert host.file(f"{STORE}/{OURS}/files/{folder}/{document.name}").sha256sum == digest.hexdigest()
    # The chunks in flight when the browser went away are sent again, not the whole file.
    after = _written(deploy_env, OURS, document.name, second)
    assert 0 < after < BIG, (before, after)


def _share(env: Env, commune: str, login: str, path: str, password: str, minutes: int) -> str:
    """A share link an agent creates in their browser; its key."""
    key = f"t{int(time.time() * 1000)}"
    browser = _logged_in(env, f"share-{key}", commune, login, path.rsplit("/", 1)[0] + "/")
    try:
        status, answer = browser.driver.execute_async_script(
            _SHARE, _drive(env, commune) + path.rsplit("/", 1)[0] + "/",
            {"k": key, "vp": [path], "pw": password, "exp": str(minutes), "perms": ["read", "get"]},
        )  # fmt: skip
        browser.shot("shared")
    finally:
        browser.quit()
    assert status == 201, answer
    return key


def _anonymous(env: Env, commune: str, url_path: str) -> tuple[int, bytes]:
    status, body, _headers = request(env, "GET", _drive(env, commune) + url_path)
    return status, body


def _shares(env: Env, commune: str) -> dict[str, Any]:
    result = bastide("drive", "shares", env["BASTIDE_INVENTORY"], commune, "--json", env=env)
    return json.loads(result.stdout)


def test_a_share_link_needs_its_password_and_ends_at_its_expiry_or_when_revoked(deploy_env: Env) -> None:
    secret = f"Partage-{int(time.time())}"
    data = f"Arrêté de voirie {time.time()}\n".encode()
    folder = "/services/urbanisme"
    status, _body, _h = request(
        deploy_env, "PUT", _drive(deploy_env, OURS) + f"/dav{folder}/arrete.txt", body=data,
        auth=(AGENT, _password(deploy_env, OURS, AGENT)),
    )  # fmt: skip
    assert status in (200, 201), status

    expiring = _share(deploy_env, OURS, AGENT, f"{folder}/arrete.txt", secret, minutes=1)
    revoked = _share(deploy_env, OURS, AGENT, f"{folder}/arrete.txt", secret, minutes=0)
    for key in (expiring, revoked):
        assert _anonymous(deploy_env, OURS, f"/partage/{key}/arrete.txt")[0] in (401, 403)
        assert _anonymous(deploy_env, OURS, f"/partage/{key}/arrete.txt?pw=wrong-{secret}")[0] in (401, 403)
        assert _anonymous(deploy_env, OURS, f"/partage/{key}/arrete.txt?pw={secret}") == (200, data)

    listed = {s["key"]: s for s in _shares(deploy_env, OURS)["shares"]}
    assert listed[expiring]["user"] == AGENT and listed[expiring]["state"] == "live"
    assert listed[expiring]["password"] is True and listed[expiring]["expires"]
    assert listed[revoked]["expires"] is None
    assert [d["path"] for d in listed[expiring]["downloads"]] == ["arrete.txt"]

    bastide(
        "drive", "revoke", deploy_env["BASTIDE_INVENTORY"], OURS, revoked, "--by", "dsi-test", env=deploy_env
    )
    assert _anonymous(deploy_env, OURS, f"/partage/{revoked}/arrete.txt?pw={secret}")[0] in (401, 403, 404)
    events = _shares(deploy_env, OURS)["events"]
    assert {"event": "share-revoked", "key": revoked, "user": "dsi-test"}.items() <= next(
        e for e in events if e.get("key") == revoked and e["event"] == "share-revoked"
    ).items()
    created = next(e for e in events if e.get("key") == expiring and e["event"] == "share-created")
    assert created["user"] == AGENT and created["expires_minutes"] == 1

    # The share's password is in no log: neither the drive's journal nor nginx's access log.
    host = _host(deploy_env, OURS)
    with host.sudo():
        journal = host.check_output(f"journalctl -u bastide-drive@{OURS} --no-pager -o cat")
        access = host.check_output("cat /var/log/nginx/access.log")
        audit = host.check_output(f"cat /var/log/bastide-drive/{OURS}/shares.jsonl")
    for text in (journal, access, audit):
        assert secret not in text

    # Its expiry (a minute) is checked by the module's last test: the tests between wait for it.
    _expiring.update(key=expiring, secret=secret)


def _in_namespace(env: Env, commune: str, script: str) -> subprocess.CompletedProcess[str]:
    """``script`` run as root in a mount namespace of its own where the commune's drive site
    resolves to its lab host (davfs2 cannot be told where a name is): nothing of it stays."""
    fqdn = _drive(env, commune).removeprefix("https://")
    with tempfile.NamedTemporaryFile("w", suffix=".hosts", delete=False) as hosts:
        hosts.write(f"127.0.0.1 localhost\n{address_of(env, fqdn)} {fqdn}\n")
    os.chmod(hosts.name, 0o644)  # read by mount.davfs as its own user
    try:
        wrapped = f"mount --bind {shlex.quote(hosts.name)} /etc/hosts\n{script}"
        return subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-ec", wrapped],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    finally:
        os.unlink(hosts.name)


def _sites_ca(env: Env, lab: Any, work: Path) -> Path:
    """The CA the sites' certificates come from: the syndicat's own, or the lab's ACME CA."""
    found = lab_inventory(env)
    if found.settings.tls.mode == "internal":
        pem = (found.root / "pki" / "ca.pem").read_text(encoding="ascii")
    else:
        assert lab.acme is not None
        pem = Path(lab.acme.issuer_root_pem).read_text(encoding="ascii")  # the file's path
    # A copy mount.davfs can read as its own user.
    path = work / "sites-ca.pem"
    path.write_text(pem, encoding="ascii")
    path.chmod(0o644)
    return path


def test_network_drives_see_the_same_files_with_the_directory_password(
    deploy_env: Env, lab: Any, work: Path
) -> None:
    password = _password(deploy_env, OURS, AGENT)
    url = _drive(deploy_env, OURS) + "/dav/"
    # mount.davfs reads the CA as its own user; the secrets file stays root's (it insists).
    work.chmod(0o755)
    secrets = work / "secrets"
    secrets.write_text(f'{url} {AGENT} "{password}"\n', encoding="utf-8")
    secrets.chmod(0o600)
    config = work / "davfs2.conf"
    config.write_text(
        f"secrets {secrets}\ntrust_ca_cert {_sites_ca(deploy_env, lab, work)}\nuse_locks 0\n",
        encoding="utf-8",
    )
    mount = work / "mnt"
    mount.mkdir()
    note = f"Compte rendu de réunion {time.time()}\n"
    # davfs2, the network drive of Linux desktops: write a file, read one the web wrote.
    done = _in_namespace(
        deploy_env,
        OURS,
        f"""
mount -t davfs -o conf={config} {url} {mount}
trap 'umount {mount}' EXIT
printf '%s' {shlex.quote(note)} > {mount}/services/urbanisme/compte-rendu.txt
sha256sum {mount}/services/urbanisme/{PLAN}
""",
    )
    assert done.returncode == 0, done.stderr
    for left in Path("/var/cache/davfs2").glob(f"*{work.name}*"):
        shutil.rmtree(left, ignore_errors=True)
    host = _host(deploy_env, OURS)
    with host.sudo():
        stored = host.file(f"{STORE}/{OURS}/files/services/urbanisme/compte-rendu.txt")
        assert stored.content_string == note
        web_digest = host.file(f"{STORE}/{OURS}/files/services/urbanisme/{PLAN}").sha256sum
    assert done.stdout.split()[0] == web_digest

    # A Python WebDAV client (webdav4): list, upload, download.
    client_script = work / "client.py"
    client_script.write_text(_WEBDAV_CLIENT.format(url=url, login=AGENT), encoding="utf-8")
    import sys

    done = _in_namespace(deploy_env, OURS, f"echo {shlex.quote(password)} | {sys.executable} {client_script}")
    assert done.returncode == 0, done.stderr
    listing, read_back = done.stdout.split("\n", 1)
    assert {"compte-rendu.txt", PLAN} <= set(listing.split())
    assert read_back.strip() == note.strip()
    browser = _logged_in(deploy_env, "dav-on-web", OURS, AGENT, "/services/urbanisme/")
    try:
        assert "webdav4.txt" in wait_text(browser, "webdav4.txt", "compte-rendu.txt")
        browser.shot("dav-files-on-the-web")
    finally:
        browser.quit()


def test_a_commune_sees_nothing_of_another(deploy_env: Env) -> None:
    other = (OTHER, _password(deploy_env, OTHER_COMMUNE, OTHER))
    ours = _drive(deploy_env, OURS)
    for path in (
        "/dav/",
        "/dav/services/urbanisme/",
        "/dav/agents/sophie.lefevre/",
        f"/dav/services/urbanisme/{PLAN}",
    ):
        for method in ("PROPFIND", "GET"):
            status, body, _h = request(deploy_env, method, ours + path, auth=other, headers={"Depth": "1"})
            assert status in (401, 403), (method, path, status)
            assert b"plan-local-urbanisme" not in body
    status, _body, _h = request(
        deploy_env, "PUT", ours + "/dav/services/urbanisme/intrus.txt", body=b"x", auth=other
    )
    assert status in (401, 403)
    browser = _logged_in(deploy_env, "other-commune", OTHER_COMMUNE, OTHER)
    try:
        browser.open(ours + "/services/urbanisme/")
        text = wait_text(browser, "Accès refusé")
        browser.shot("refused")
        assert "Accès refusé" in text and "plan-local-urbanisme" not in text
    finally:
        browser.quit()
    # Inside a commune too: a restricted service's folder is its service's alone.
    status, _body, _h = request(
        deploy_env, "PROPFIND", ours + "/dav/services/etat-civil/", headers={"Depth": "1"},
        auth=(AGENT, _password(deploy_env, OURS, AGENT)),
    )  # fmt: skip
    assert status in (401, 403)


def test_a_full_store_refuses_uploads_with_a_clear_message(deploy_env: Env) -> None:
    auth = (SMALL_AGENT, _password(deploy_env, SMALL, SMALL_AGENT))
    base = _drive(deploy_env, SMALL) + f"/dav/agents/{SMALL_AGENT}"
    status, _body, _h = request(
        deploy_env, "PUT", base + "/petit.bin", body=os.urandom(2 * 1024 * 1024), auth=auth
    )
    assert status in (200, 201)
    status, body, _h = request(
        deploy_env, "PUT", base + "/trop-gros.bin", body=os.urandom(40 * 1024 * 1024), auth=auth
    )
    assert status == 403, status
    message = body.decode("utf-8", "replace")
    assert "Espace de la commune plein" in message and "storage is full" in message, message
    host = _host(deploy_env, SMALL)
    with host.sudo():
        assert not host.file(f"{STORE}/{SMALL}/files/agents/{SMALL_AGENT}/trop-gros.bin").exists


def test_a_share_link_stops_working_at_its_expiry(deploy_env: Env) -> None:
    assert _expiring, "the share test made no share"
    url = f"/partage/{_expiring['key']}/arrete.txt?pw={_expiring['secret']}"
    deadline = time.monotonic() + 150
    while _anonymous(deploy_env, OURS, url)[0] == 200:
        assert time.monotonic() < deadline, "the share outlived its expiry"
        time.sleep(5)
    listed = {s["key"]: s for s in _shares(deploy_env, OURS)["shares"]}
    assert listed.get(_expiring["key"], {"state": "expired"})["state"] == "expired"


def test_no_secret_of_the_keyring_leaked(deploy_env: Env) -> None:
    assert_no_secret_leaked(deploy_env, [])
