"""Single sign-on on the deployed lab, through the real TLS front door, with a real browser
(Debian's chromium and chromedriver, driven by Selenium): an agent logs in on the portal with a
one-time password, must change it, and enters their commune's site, and not another commune's;
an agent of a commune that requires a second factor cannot enter without a TOTP code and
enters with one. Then the requests a browser would not make: forged identity headers, HTTP
Basic on the protocol path, and repeated wrong passwords (the directory locks the account,
fail2ban bans the source).

The test service (tests/roles/whoami) runs on every commune's site of the session's lab and
shows the identity nginx passed on. Screenshots of each step are kept in
``BASTIDE_TEST_ARTIFACTS`` (default: ``test-artifacts/`` at the top of the repository).
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from lab_browser import Browser, change_password, one_time_password, request, site, wait_text
from lab_browser import inventory as lab_inventory
from lab_fixtures import Deployed, Env, admin_host, assert_no_secret_leaked, bastide, on_host

pytestmark = pytest.mark.lab

# New at each session: the directory refuses a person's last five passwords.
NEW_PASSWORD = f"Mairie-{int(time.time())}-Ours"


def _site(env: Env, commune: str) -> str:
    return site(env, commune, "whoami")


@pytest.fixture(scope="module", autouse=True)
def _converged(converged: None) -> None:
    """Single sign-on spans every host: all of them deployed (lab_fixtures.converged)."""


@pytest.fixture()
def browser(request: pytest.FixtureRequest, deploy_env: Env) -> Iterator[Browser]:
    opened = Browser(deploy_env, request.node.name.removeprefix("test_")[:40], "sso")
    try:
        yield opened
    finally:
        opened.shot("end")
        opened.quit()


def test_an_agent_changes_their_one_time_password_and_enters_only_their_commune(
    first_deploy: Deployed, deploy_env: Env, browser: Browser
) -> None:
    otp = one_time_password(deploy_env, "ours-les-bains", "karim.benali")
    browser.open(_site(deploy_env, "ours-les-bains") + "/registre")
    field = browser.wait_login_form()
    assert "auth." in browser.driver.current_url, "a protected page without a session goes to the portal"
    assert field.get_attribute("placeholder") == "Identifiant", "the portal speaks French"
    assert "Se connecter" in wait_text(browser, "Se connecter")
    browser.shot("portal")
    browser.login("karim.benali", otp)
    assert "doit être changé" in wait_text(browser, "doit être changé")
    browser.shot("must-change")
    browser.change_password(NEW_PASSWORD)
    browser.wait_login_form()
    browser.shot("changed")
    browser.login("karim.benali", NEW_PASSWORD)
    text = wait_text(browser, "Karim Benali", "ours-les-bains")
    browser.shot("own-commune")
    assert "Bonjour Karim Benali" in text, text
    assert browser.driver.find_element(By.ID, "Remote-User").text == "karim.benali"
    assert "/registre" in browser.driver.current_url

    # Another commune on the other host, and one on the same host: the same session is refused.
    for other in ("anse-aux-ours", "saint-aubin-des-combes"):
        browser.open(_site(deploy_env, other) + "/")
        text = wait_text(browser, "Accès refusé")
        browser.shot(f"refused-{other}")
        assert "Accès refusé" in text and "Karim" not in text

    # The one-time password is spent: the keyring never kept the new one.
    keyring_values = [v.decode() for v in _keyring_values(deploy_env)]
    assert NEW_PASSWORD not in keyring_values


def _keyring_values(env: Env) -> list[bytes]:
    from lab_fixtures import private_keyring

    keyring = private_keyring(env)
    return [keyring.get(info.scope, info.name) for info in keyring.secrets()]


def test_a_commune_that_requires_totp_lets_nobody_in_without_the_code(
    first_deploy: Deployed, deploy_env: Env, browser: Browser
) -> None:
    commune, login = "ortu-di-l-orsu", "gp.santoni"
    site = _site(deploy_env, commune)
    # A lab kept up from an earlier session may remember an enrolled app: start without one.
    identity = lab_inventory(deploy_env).identity
    sessions_tool = "/usr/share/lemonldap-ng/bin/lemonldap-ng-sessions"
    on_host(deploy_env, identity.host, ["sudo", sessions_tool, "secondfactors", "delType", login, "TOTP"])
    otp = one_time_password(deploy_env, commune, login)
    browser.open(site + "/")
    browser.login(login, otp)
    browser.change_password(NEW_PASSWORD)
    browser.login(login, NEW_PASSWORD)
    # No second factor yet: the portal asks to enrol one and opens nothing.
    browser.wait_for(By.CSS_SELECTOR, "a[href='/2fregisters/totp']")
    browser.shot("must-enrol")
    browser.open(site + "/")
    browser.wait_login_form()
    assert "auth." in browser.driver.current_url, "no session without the second factor"
    browser.login(login, NEW_PASSWORD)
    browser.wait_for(By.CSS_SELECTOR, "a[href='/2fregisters/totp']").click()
    secret = browser.wait_for(By.ID, "secret")
    WebDriverWait(browser.driver, 20).until(lambda d: d.find_element(By.ID, "secret").text.strip())
    totp = pyotp.TOTP(secret.text.replace(" ", ""))
    browser.shot("enrol")
    browser.driver.find_element(By.ID, "code").send_keys(totp.now())
    browser.driver.find_element(By.ID, "verify").click()
    time.sleep(2)
    browser.shot("enrolled")

    # Log in again: the password alone is not enough, a wrong code is refused, the right one opens.
    browser.driver.delete_all_cookies()
    browser.open(site + "/")
    browser.login(login, NEW_PASSWORD)
    code = browser.wait_for(By.NAME, "code")
    browser.shot("asks-code")
    code.send_keys("000000" if totp.now() != "000000" else "111111")
    code.submit()
    time.sleep(1)
    browser.shot("wrong-code")
    assert "whoami" not in browser.driver.current_url.split("?")[0].split("/")[2]
    browser.open(site + "/")
    browser.login(login, NEW_PASSWORD)
    code = browser.wait_for(By.NAME, "code")
    code.send_keys(totp.now())
    code.submit()
    text = wait_text(browser, "Ghjuvan Petru Santoni")
    browser.shot("entered")
    assert "Bonjour Ghjuvan Petru Santoni" in text, text


# ------------------------------------------------------------------ requests no browser makes


def _request(
    env: Env,
    url: str,
    headers: dict[str, str] | None = None,
    user: str = "",
    password: str = "",
    data: dict[str, str] | None = None,
) -> tuple[int, str, dict[str, str]]:
    """One request from the controller to a lab site or the portal (lab_browser.request); a POST
    of the form ``data`` if given. Header names come back in lowercase."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    sent = dict(headers or {})
    if body is not None:
        sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
    status, answer, got = request(
        env, "POST" if body is not None else "GET", url, body=body, headers=sent,
        auth=(user, password) if user else None, timeout=30,
    )  # fmt: skip
    return status, answer.decode("utf-8", "replace"), got


def test_forged_identity_headers_are_refused(first_deploy: Deployed, deploy_env: Env) -> None:
    forged = {"Remote-User": "helene.martin", "Remote-Groups": "ours-les-bains", "X-Bastide-Secret": "guess"}
    # From the controller, through the front door: no session, so off to the portal.
    status, _body, headers = _request(deploy_env, _site(deploy_env, "ours-les-bains") + "/", forged)
    assert status == 302 and "/?url=" in headers["location"], (status, headers)
    # From the controller, the upstream itself: a unix socket, nothing listens for it on the
    # network besides nginx.
    # From the host itself, straight to the upstream's socket: refused without the secret.
    probe = (
        "import http.client, socket, sys, json\n"
        "c = http.client.HTTPConnection('localhost'); c.sock = socket.socket(socket.AF_UNIX)\n"
        "c.sock.connect(sys.argv[1]); c.request('GET', '/', headers=json.loads(sys.argv[2]))\n"
        "r = c.getresponse(); print(r.status)\n"
    )
    done = on_host(
        deploy_env,
        lab_inventory(deploy_env).commune("ours-les-bains").host,
        ["sudo", "python3", "-c", probe, "/run/bastide-whoami/ours-les-bains/http.sock", json.dumps(forged)],
    )
    assert done.stdout.strip() == "403", done.stdout + done.stderr


def test_protocol_clients_log_in_with_http_basic_on_their_commune_only(
    first_deploy: Deployed, deploy_env: Env
) -> None:
    otp = one_time_password(deploy_env, "ours-les-bains", "nadia.haddad")
    ours, anse = _site(deploy_env, "ours-les-bains"), _site(deploy_env, "anse-aux-ours")
    # No credentials: the client is asked for them (not sent to a login page it cannot follow).
    status, _body, headers = _request(deploy_env, ours + "/dav/")
    assert status == 401 and headers.get("www-authenticate", "").startswith("Basic"), (status, headers)
    # A one-time password must first be changed on the portal: Basic refuses it meanwhile.
    status, _body, _headers = _request(deploy_env, ours + "/dav/", user="nadia.haddad", password=otp)
    assert status == 401
    change_password(deploy_env, "ours-les-bains", "nadia.haddad", otp, NEW_PASSWORD)
    status, body, _headers = _request(
        deploy_env, ours + "/dav/x.json", user="nadia.haddad", password=NEW_PASSWORD
    )
    assert status == 200, (status, body)
    assert json.loads(body)["Remote-User"] == "nadia.haddad"
    status, body, _headers = _request(
        deploy_env, anse + "/dav/x.json", user="nadia.haddad", password=NEW_PASSWORD
    )
    assert status == 403, (status, body)
    status, _body, _headers = _request(
        deploy_env, ours + "/dav/", user="nadia.haddad", password="Faux-mot-2-passe"
    )
    assert status == 401


# Runs on the attacking host: HTTP Basic requests with the wrong passwords given on standard
# input (one per line) to a site's protocol path; prints each answer's status, or the error once
# the connection is refused.
_BASIC = r"""
import base64, json, sys, urllib.error, urllib.request
url, user = sys.argv[1:3]
out = []
for password in sys.stdin.read().split():
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(url, headers={"Authorization": "Basic " + token})
    try:
        out.append(urllib.request.urlopen(request, timeout=10).status)
    except urllib.error.HTTPError as error:
        out.append(error.code)
    except OSError as error:
        out.append(type(error).__name__)
print(json.dumps(out))
"""


def test_repeated_wrong_passwords_lock_the_account_and_ban_the_source(
    first_deploy: Deployed, deploy_env: Env
) -> None:
    """From another host of the syndicat (a source no other test has used): five wrong
    passwords over HTTP Basic lock the account in the directory, and fail2ban bans the source
    from the front door."""
    inventory = lab_inventory(deploy_env)
    commune = "saint-aubin-des-combes"
    login = inventory.commune(commune).agents[0].login
    target = inventory.host(inventory.commune(commune).host)
    attacker = next(h for h in inventory.hosts if h.name != target.name)
    host = admin_host(deploy_env, target.name)
    bastide("agent", "password", deploy_env["BASTIDE_INVENTORY"], commune, login, env=deploy_env)
    try:
        wrong = "\n".join(f"Faux-{i}-passe" for i in range(5))
        done = on_host(
            deploy_env,
            attacker.name,
            ["python3", "-c", _BASIC, _site(deploy_env, commune) + "/dav/", login],
            stdin=wrong,
        )
        assert json.loads(done.stdout) == [401] * 5, done.stdout + done.stderr
        # The directory locked the account (ppolicy), whatever the password now.
        state = json.loads(bastide("agent", "show", deploy_env["BASTIDE_INVENTORY"], commune, login, "--json",
                                   env=deploy_env).stdout)  # fmt: skip
        assert state["state"] == "locked", state
        # fail2ban read nginx's log of the refused logins and banned the source.
        deadline = time.monotonic() + 30
        banned = ""
        while time.monotonic() < deadline and attacker.address not in banned:
            banned = host.check_output("fail2ban-client get bastide-basic-auth banned")
            time.sleep(1)
        assert attacker.address in banned, banned
        again = on_host(
            deploy_env,
            attacker.name,
            ["python3", "-c", _BASIC, _site(deploy_env, commune) + "/dav/", login],
            stdin="Faux-6-passe",
        )
        assert json.loads(again.stdout) != [401], "a banned source reaches the front door no more"
    finally:
        host.run(f"fail2ban-client set bastide-basic-auth unbanip {attacker.address}")
        # Lifts the directory's lock (and spends a new one-time password nobody will use).
        bastide("agent", "password", deploy_env["BASTIDE_INVENTORY"], commune, login, env=deploy_env)
    assert_no_secret_leaked(deploy_env, [])


def _verify_id_token(env: Env, token: str, client_id: str, nonce: str) -> dict[str, Any]:
    """The ID token's claims, after checking its RS256 signature against the portal's published
    keys, its issuer, audience, nonce and lifetime."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    def b64(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    portal = lab_inventory(env).identity.portal
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(b64(header_b64))
    assert header["alg"] == "RS256", header
    status, body, _headers = _request(env, f"https://{portal}/oauth2/jwks")
    assert status == 200, body
    [key] = [k for k in json.loads(body)["keys"] if k["kid"] == header["kid"]]
    numbers = rsa.RSAPublicNumbers(int.from_bytes(b64(key["e"]), "big"), int.from_bytes(b64(key["n"]), "big"))
    numbers.public_key().verify(
        b64(signature_b64), f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    claims = json.loads(b64(claims_b64))
    assert claims["iss"] == f"https://{portal}", claims
    assert client_id in ([claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"]), claims
    assert claims["nonce"] == nonce and claims["exp"] > time.time(), claims
    return claims


def test_the_portal_is_an_openid_connect_provider_for_the_communes_services(
    first_deploy: Deployed, deploy_env: Env, browser: Browser
) -> None:
    """The test service's contract says it speaks OpenID Connect: the portal has a client for
    each commune's instance, whose secret is in the commune's keyring. The test plays that client:
    the browser logs in and is sent back with a code, which the client exchanges for tokens."""
    from lab_fixtures import private_keyring

    commune, login = "ours-les-bains", "helene.martin"
    portal = lab_inventory(deploy_env).identity.portal
    site = _site(deploy_env, commune)
    client_id = f"whoami-{commune}"
    secret = private_keyring(deploy_env).get(commune, "oidc-whoami").decode()
    redirect = f"{site}/oidc/callback"
    change_password(deploy_env, commune, login, one_time_password(deploy_env, commune, login), NEW_PASSWORD)

    nonce, state = base64.urlsafe_b64encode(os.urandom(12)).decode(), "etat-1"
    query = urllib.parse.urlencode(
        {"response_type": "code", "client_id": client_id, "redirect_uri": redirect,
         "scope": "openid profile email", "state": state, "nonce": nonce}
    )  # fmt: skip
    browser.open(f"https://{portal}/oauth2/authorize?{query}")
    browser.login(login, NEW_PASSWORD)
    WebDriverWait(browser.driver, 20).until(lambda d: d.current_url.startswith(redirect))
    browser.shot("back-with-code")
    back = urllib.parse.parse_qs(urllib.parse.urlsplit(browser.driver.current_url).query)
    assert back["state"] == [state]
    code = back["code"][0]

    token_url = f"https://{portal}/oauth2/token"
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}
    wrong = "Basic " + base64.b64encode(f"{client_id}:wrong-secret".encode()).decode()
    status, _body, _headers = _request(deploy_env, token_url, {"Authorization": wrong}, data=form)
    assert status in (400, 401), "a wrong client secret gets no token"
    basic = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    status, body, _headers = _request(deploy_env, token_url, {"Authorization": basic}, data=form)
    assert status == 200, body
    tokens = json.loads(body)
    claims = _verify_id_token(deploy_env, tokens["id_token"], client_id, nonce)
    assert claims["sub"] == login
    status, body, _headers = _request(
        deploy_env, f"https://{portal}/oauth2/userinfo", {"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert status == 200, body
    info = json.loads(body)
    assert (info["preferred_username"], info["name"]) == (login, "Hélène Martin"), info
    assert info["email"] == "maire@ours-les-bains.example.fr"
    # A code serves once.
    status, _body, _headers = _request(deploy_env, token_url, {"Authorization": basic}, data=form)
    assert status != 200

    # Someone of another commune gets no code for this commune's service.
    other, other_commune = "fabienne.louis-joseph", "anse-aux-ours"
    otp = one_time_password(deploy_env, other_commune, other)
    change_password(deploy_env, other_commune, other, otp, NEW_PASSWORD)
    browser.open(f"https://{portal}/?logout=1")
    assert "déconnecté" in wait_text(browser, "déconnecté")
    browser.open(f"https://{portal}/oauth2/authorize?{query}")
    browser.login(other, NEW_PASSWORD)
    time.sleep(3)
    browser.shot("other-commune-refused")
    assert not browser.driver.current_url.startswith(redirect), browser.driver.current_url
    assert "pas autorisé" in wait_text(browser, "pas autorisé")
