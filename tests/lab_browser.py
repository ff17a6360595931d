"""A real browser for the lab tests (Debian's chromium and chromedriver, driven by Selenium),
and the lab's sites and people as the tests need them. Screenshots of each step are kept under
``BASTIDE_TEST_ARTIFACTS`` (default: ``test-artifacts/`` at the top of the repository)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from bastide.core.inventory import load
from lab_fixtures import REPO, Env, bastide

ARTIFACTS = Path(os.environ.get("BASTIDE_TEST_ARTIFACTS", REPO / "test-artifacts"))


def inventory(env: Env) -> Any:
    return load(Path(env["BASTIDE_INVENTORY"]))


def site(env: Env, commune: str, service: str) -> str:
    """The address of one service of one commune of the session's lab."""
    found = inventory(env).commune(commune)
    return "https://" + next(s.fqdn for s in found.sites() if s.service == service)


def one_time_password(env: Env, commune: str, login: str) -> str:
    # Printed alone on standard output (the explanations go to standard error).
    return bastide("agent", "password", env["BASTIDE_INVENTORY"], commune, login, env=env).stdout.strip()


def address_of(env: Env, fqdn: str) -> str:
    """The lab address that answers for a site or the portal."""
    found = inventory(env)
    if found.identity is not None and fqdn == found.identity.portal:
        return str(found.host(found.identity.host).address)
    commune = next(c for c in found.communes if fqdn == c.domain or fqdn.endswith("." + c.domain))
    return str(found.host(commune.host).address)


@contextlib.contextmanager
def lab_names(env: Env) -> Iterator[None]:
    """Python clients (caldav, requests) resolve the lab's sites to the lab hosts, as a DNS
    server would, for the duration of the block."""
    found = inventory(env)
    names = {s.fqdn: address_of(env, s.fqdn) for c in found.communes for s in c.sites()}
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real(names.get(host, host), *args, **kwargs)

    socket.getaddrinfo = resolve
    try:
        yield
    finally:
        socket.getaddrinfo = real


def request(
    env: Env,
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    timeout: float = 60,
) -> tuple[int, bytes, dict[str, str]]:
    """One request from the controller to a lab site or the portal, at the address the inventory
    gives it (the TLS name is the site's; the certificate is checked by the pki and nginx
    checks, not here); redirects are not followed."""
    import base64
    import http.client
    import socket
    import ssl

    parts = urllib.parse.urlsplit(url)
    fqdn = parts.hostname or ""
    address = address_of(env, fqdn)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    class _FrontDoor(http.client.HTTPSConnection):
        def connect(self) -> None:
            raw = socket.create_connection((address, parts.port or 443), timeout=timeout)
            self.sock = context.wrap_socket(raw, server_hostname=fqdn)

    sent = dict(headers or {})
    if auth is not None:
        sent["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    connection = _FrontDoor(fqdn, parts.port or 443, context=context, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path or "/", body=body, headers=sent)
        answer = connection.getresponse()
        return answer.status, answer.read(), {k.lower(): v for k, v in answer.getheaders()}
    finally:
        connection.close()


def wait_text(browser: Browser, *needles: str, timeout: float = 20) -> str:
    end = time.monotonic() + timeout
    while True:
        text = browser.text()
        if all(n in text for n in needles) or time.monotonic() > end:
            return text
        time.sleep(0.3)


class Browser:
    """Headless chromium that resolves the lab's names to the lab hosts, in French, keeping a
    screenshot of each step."""

    def __init__(self, env: Env, name: str, area: str, downloads: Path | None = None) -> None:
        found = inventory(env)
        mapping = {c.domain: found.host(c.host).address for c in found.communes}
        assert found.identity is not None
        mapping[found.identity.portal] = found.host(found.identity.host).address
        rules = ", ".join(f"MAP {d} {a}, MAP *.{d} {a}" for d, a in mapping.items())
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        # The lab's ACME CA (pebble) is new at every lab start and not in chromium's store;
        # the certificates themselves are checked by the nginx and pki checks.
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--ignore-certificate-errors",
            f"--host-resolver-rules={rules}",
            "--window-size=1200,900",
            "--lang=fr-FR",
        ):
            options.add_argument(argument)  # fmt: skip
        prefs: dict[str, Any] = {"intl.accept_languages": "fr-FR,fr"}
        if downloads is not None:
            prefs["download.default_directory"] = str(downloads)
            prefs["download.prompt_for_download"] = False
        options.add_experimental_option("prefs", prefs)
        # Every request the page makes, for the tests that check which origins it contacts.
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.name = name
        self.step = 0
        self.artifacts = ARTIFACTS / area
        self.artifacts.mkdir(parents=True, exist_ok=True)

    def shot(self, what: str) -> None:
        self.step += 1
        self.driver.save_screenshot(str(self.artifacts / f"{self.name}-{self.step:02d}-{what}.png"))

    def origins(self) -> set[str]:
        """The origins (scheme://host[:port]) of every request made since the last call."""
        found = set()
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                url = urllib.parse.urlsplit(message["params"]["request"]["url"])
                if url.scheme in ("http", "https", "ws", "wss"):
                    found.add(f"{url.scheme}://{url.netloc}")
        return found

    def open(self, url: str) -> None:
        self.driver.get(url)

    def wait_for(self, by: str, value: str) -> Any:
        return WebDriverWait(self.driver, 20).until(
            expected_conditions.presence_of_element_located((by, value))
        )

    def text(self) -> str:
        try:
            return str(self.driver.find_element(By.TAG_NAME, "body").text)
        except (StaleElementReferenceException, NoSuchElementException):  # the page is being replaced
            return ""

    def wait_login_form(self) -> Any:
        """The portal's login form, translated (its placeholders are set by the portal's script)."""
        WebDriverWait(self.driver, 20).until(
            lambda d: (
                d.find_elements(By.ID, "passwordfield")
                and not d.find_elements(By.ID, "newpassword")
                and d.find_element(By.ID, "userfield").get_attribute("placeholder")
            )
        )
        return self.driver.find_element(By.ID, "userfield")

    def login(self, user: str, password: str) -> None:
        field = self.wait_login_form()
        if not field.get_attribute("value"):
            field.send_keys(user)
        self.driver.find_element(By.ID, "passwordfield").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "#lform button[type=submit]").click()

    def change_password(self, new: str) -> None:
        self.wait_for(By.ID, "newpassword").send_keys(new)
        self.driver.find_element(By.ID, "confirmpassword").send_keys(new)
        self.driver.find_element(By.CSS_SELECTOR, "#formpass button[type=submit]").click()

    def quit(self) -> None:
        self.driver.quit()


def change_password(env: Env, commune: str, login: str, old: str, new: str, service: str = "whoami") -> None:
    """What the person does on the portal, coming from one of their commune's sites (the browser
    tests cover the pages themselves)."""
    browser = Browser(env, f"password-{login}", "passwords")
    try:
        browser.open(site(env, commune, service) + "/")
        browser.login(login, old)
        browser.change_password(new)
        browser.wait_login_form()
        browser.shot("changed")
    finally:
        browser.quit()


def calendar_event(uid: str, summary: str) -> str:
    """One event (iCalendar), as a CalDAV client sends it."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bastide//tests//FR\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20270104T080000Z\r\n"
        "DTSTART:20270111T090000Z\r\nDTEND:20270111T100000Z\r\n"
        f"SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
