"""Public pages in a real browser: axe-core finds no serious or critical violation, a booking
works with the keyboard only, and with JavaScript disabled."""

import json
import shutil
from pathlib import Path

import pytest
from rdv.models import Appointment
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

AXE = Path(__file__).parent / "node_modules/axe-core/axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts/rdv"

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _tools() -> None:
    # A missing browser or axe-core fails these tests: scripts/test.sh installs both.
    assert shutil.which("chromedriver"), "chromium-driver is missing (apps/rdv/scripts/test.sh installs it)"
    assert AXE.exists(), f"{AXE} is missing (apps/rdv/scripts/test.sh runs npm install)"


def _browser(javascript: bool = True) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--lang=fr"):
        options.add_argument(arg)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


@pytest.fixture
def browser():
    driver = _browser()
    yield driver
    driver.quit()


def _until(driver: webdriver.Chrome, condition, what: str) -> None:
    # A click or Enter on a form's button returns before the browser has the next page: wait
    # for it (a loaded machine takes a while), never longer than a citizen would.
    WebDriverWait(driver, 20).until(condition, message=f"waited 20 s for {what}")


def _confirmed(driver: webdriver.Chrome) -> None:
    _until(driver, lambda d: "confirme=1" in d.current_url, "the confirmation page")


def _shot(driver: webdriver.Chrome, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _axe(driver: webdriver.Chrome, name: str) -> None:
    _shot(driver, name)
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
        "'best-practice']}).then(r => done(r.violations)).catch(e => done([{id: 'axe', "
        "impact: 'critical', description: String(e), nodes: []}]));"
    )
    bad = [v for v in result if v.get("impact") in ("serious", "critical")]
    (ARTIFACTS / f"{name}.axe.json").write_text(json.dumps(result, indent=1))
    assert not bad, json.dumps([(v["id"], v["description"], [n["html"] for n in v["nodes"]][:3])
                                for v in bad], ensure_ascii=False, indent=1)


def test_public_pages_have_no_serious_violation(live_server, browser):
    base = live_server.url
    browser.get(base + "/")
    assert browser.title.startswith("Prendre rendez-vous")
    _axe(browser, "01-accueil")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Dossier de mariage").click()
    _axe(browser, "02-creneaux")
    browser.find_element(By.CSS_SELECTOR, ".slots a").click()
    _axe(browser, "03-formulaire")
    browser.find_element(By.ID, "id_email").send_keys("pas-une-adresse")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    _until(browser, lambda d: d.title.startswith("Erreur"), "the page listing the errors")
    _axe(browser, "04-formulaire-erreurs")
    browser.find_element(By.CSS_SELECTOR, "#erreurs a[href='#id_name']").click()
    assert browser.switch_to.active_element.get_attribute("id") == "id_name"
    browser.find_element(By.ID, "id_name").send_keys("Zoé Durand")
    email = browser.find_element(By.ID, "id_email")
    email.clear()
    email.send_keys("zoe@example.org")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    _confirmed(browser)
    _axe(browser, "05-confirmation")
    browser.get(browser.current_url.split("?")[0])
    _axe(browser, "06-gerer")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Déplacer").click()
    _axe(browser, "07-deplacer")
    browser.get(base + "/en/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    _axe(browser, "08-home-en")


def test_keyboard_only_booking(live_server, browser):
    browser.get(live_server.url + "/motif/etat-civil/cni-depot/")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.text == "Aller au contenu"  # skip link first
    for _ in range(40):
        active = browser.switch_to.active_element
        if "reserver/?creneau=" in (active.get_attribute("href") or ""):
            break
        active.send_keys(Keys.TAB)
    else:
        pytest.fail("no slot reachable with Tab")
    _shot(browser, "10-clavier-creneau")
    active.send_keys(Keys.ENTER)
    _until(browser, lambda d: d.find_elements(By.ID, "id_name"), "the booking form")
    for _ in range(20):
        active = browser.switch_to.active_element
        if active.get_attribute("id") == "id_name":
            break
        active.send_keys(Keys.TAB)
    active.send_keys("Karim Clavier", Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.get_attribute("id") == "id_email"
    focused.send_keys("clavier@example.org", Keys.TAB)
    browser.switch_to.active_element.send_keys("0612345678", Keys.TAB)
    submit = browser.switch_to.active_element
    assert submit.tag_name == "button"
    _shot(browser, "11-clavier-formulaire")
    submit.send_keys(Keys.ENTER)
    _confirmed(browser)
    _shot(browser, "12-clavier-confirmation")
    assert Appointment.objects.get().email == "clavier@example.org"


def test_booking_without_javascript(live_server):
    driver = _browser(javascript=False)
    try:
        driver.get(live_server.url + "/")
        driver.find_element(By.PARTIAL_LINK_TEXT, "Carte d").click()
        driver.find_element(By.CSS_SELECTOR, ".slots a").click()
        driver.find_element(By.ID, "id_name").send_keys("Sans Script")
        driver.find_element(By.ID, "id_email").send_keys("noscript@example.org")
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        _confirmed(driver)
        _shot(driver, "20-sans-js-confirmation")
        driver.find_element(By.CSS_SELECTOR, "form button.secondary").click()  # cancel
        _until(driver, lambda d: "annule=1" in d.current_url, "the cancellation page")
        assert Appointment.objects.get().status == "cancelled"
    finally:
        driver.quit()
