"""Citizens' appointment booking on the deployed lab, through the real TLS front door, with real
clients: a citizen books in a browser without an account (axe-core finds no serious or critical
violation on each public page), the confirmation mail with its .ics reaches the SMTP sink, the
appointment appears in the service's and the agent's calendars (read with the caldav library
through the calendars' front door), and the mail's private link cancels it and frees the slot.
Two simultaneous bookings of one slot: exactly one wins. Public holidays of the commune's
territory (Alsace-Moselle's too) and closures offer no slot. With the calendars stopped a
booking still succeeds and reaches the calendar once when they are back, and a replayed outbox
adds nothing. The retention job erases the citizens' personal data and keeps the counts. An
agent of another commune reads nothing of this one. Searches and bookings are rate limited.

Screenshots and axe-core reports are kept under ``BASTIDE_TEST_ARTIFACTS``/rdv.
"""

from __future__ import annotations

import datetime as dt
import email.header
import email.message
import json
import re
import shlex
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import caldav
import holidays
import icalendar
import pytest
import yaml
from selenium.webdriver.common.by import By

from lab_browser import Browser, change_password, lab_names, one_time_password, request, site
from lab_browser import inventory as lab_inventory
from lab_fixtures import REPO, Env, SmtpSink, admin_host, assert_no_secret_leaked, bastide

pytestmark = pytest.mark.lab

OURS = "ours-les-bains"
OURS_SERVICE, OURS_MOTIVE = "secretariat-de-mairie", "carte-d-identite-depot"
CLERK = "marie.dupont"  # the counter's agent (Secrétariat de mairie, Ours-les-Bains)
MOSELLE = "saint-aubin-des-combes"
MOSELLE_SERVICE, MOSELLE_MOTIVE = "accueil", "carte-d-identite-retrait"
STRANGER_COMMUNE, STRANGER = MOSELLE, "jp.roux"  # an agent of another commune
RUN = int(time.time())
PASSWORD = f"Rendez-vous-{RUN}-Ours"
AXE = (
    Path(__file__).resolve().parents[2]
    / "apps"
    / "rdv"
    / "tests"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)

_passwords: dict[str, str] = {}
# What the bastide commands of this module printed, searched for secrets at the end.
_outputs: list[str] = []
# The appointment the browser test books, for the tests after it.
_booked: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def _converged(converged: None) -> None:
    """Every host deployed (lab_fixtures.converged): the booking and the calendars of every commune."""


@pytest.fixture(scope="module", autouse=True)
def _lab_names(deploy_env: Env, _converged: None) -> Iterator[None]:
    """The CalDAV client resolves the lab's sites to the lab hosts, as a DNS server would."""
    with lab_names(deploy_env):
        yield


def _password(env: Env, commune: str, login: str) -> str:
    if login not in _passwords:
        change_password(
            env, commune, login, one_time_password(env, commune, login), PASSWORD, service="calendars"
        )
        _passwords[login] = PASSWORD
    return _passwords[login]


def _cli(env: Env, *args: str) -> str:
    result = bastide(*args, env=env)
    _outputs.extend([result.stdout, result.stderr])
    return result.stdout


def _rdv(env: Env, commune: str = OURS) -> str:
    return site(env, commune, "rdv")


def _host(env: Env, commune: str) -> Any:
    return admin_host(env, lab_inventory(env).commune(commune).host)


def _manage(env: Env, commune: str, *args: str, check: bool = True) -> Any:
    result = _host(env, commune).run(
        "bastide-rdv-manage " + " ".join(shlex.quote(a) for a in (commune, *args))
    )
    if check:
        assert result.rc == 0, f"rdv-manage {args}: {result.stdout}{result.stderr}"
    return result


def _sql(env: Env, commune: str, query: str) -> str:
    database = f"{commune}_rdv".replace("-", "_")
    result = _host(env, commune).run(f"runuser -u postgres -- psql -At -d {database} -c {shlex.quote(query)}")
    assert result.rc == 0, result.stderr
    return str(result.stdout).strip()


def _get(env: Env, url: str) -> tuple[int, str, dict[str, str]]:
    status, body, headers = request(env, "GET", url)
    return status, body.decode("utf-8", "replace"), headers


def _slot_keys(page: str) -> list[str]:
    return [urllib.parse.unquote(k) for k in re.findall(r"reserver/\?creneau=([^\"&]+)", page)]


def _week(env: Env, commune: str, service: str, motive: str, week: int = 0) -> list[str]:
    status, page, _headers = _get(env, f"{_rdv(env, commune)}/motif/{service}/{motive}/?semaine={week}")
    assert status == 200, page[:500]
    return _slot_keys(page)


def _book(env: Env, commune: str, service: str, motive: str, key: str, who: str) -> tuple[int, str]:
    """A booking as the form sends it (the public pages need no session: no CSRF cookie)."""
    fields = {
        "creneau": key,
        "name": f"Usager {who}",
        "email": f"{who}-{RUN}@usagers.example.org",
        "phone": "",
    }
    status, body, headers = request(
        env,
        "POST",
        f"{_rdv(env, commune)}/motif/{service}/{motive}/reserver/?creneau={urllib.parse.quote(key)}",
        body=urllib.parse.urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return status, headers.get("location", body.decode("utf-8", "replace")[:300])


def _axe(browser: Browser, name: str) -> None:
    """No serious or critical accessibility violation on the page (axe-core, WCAG 2.1 A and AA)."""
    assert AXE.is_file(), f"{AXE} is missing (apps/rdv/scripts/test.sh installs axe-core)"
    browser.driver.execute_script(AXE.read_text(encoding="utf-8"))
    violations = browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})"
        ".then(r => done(r.violations)).catch(e => done([{id: 'axe', impact: 'critical', help: String(e)}]));"
    )
    (browser.artifacts / f"{browser.name}-{name}.axe.json").write_text(json.dumps(violations, indent=1))
    serious = [(v["id"], v["help"]) for v in violations if v.get("impact") in ("serious", "critical")]
    assert not serious, f"{name}: {serious}"


def _calendar(env: Env, path: str, login: str = CLERK, commune: str = OURS) -> Any:
    client = caldav.DAVClient(
        url=site(env, commune, "calendars") + "/dav/",
        username=login,
        password=_password(env, commune, login),
        ssl_verify_cert=False,
    )
    return client.calendar(url=site(env, commune, "calendars") + "/dav/" + path)


def _uids(calendar: Any) -> list[str]:
    return [str(icalendar.Calendar.from_ical(e.data).walk("VEVENT")[0]["UID"]) for e in calendar.events()]


def _wait_uids(calendar: Any, uid: str, count: int, timeout: float = 90) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        found = _uids(calendar)
        if found.count(uid) == count or time.monotonic() > deadline:
            return found
        time.sleep(2)


def _subject(message: email.message.Message) -> str:
    return str(email.header.make_header(email.header.decode_header(str(message.get("Subject", "")))))


def _mail_to(sink: SmtpSink, address: str, subject: str, timeout: float = 60) -> email.message.Message:
    return sink.wait_for(
        lambda m: address in str(m.get("To", "")) and subject in _subject(m), timeout=timeout
    )


def _ics(message: email.message.Message) -> icalendar.Calendar:
    for part in message.walk():
        if part.get_content_type() == "text/calendar" or str(part.get_filename() or "").endswith(".ics"):
            return icalendar.Calendar.from_ical(part.get_payload(decode=True))
    raise AssertionError("the mail has no .ics attachment")


def _body(message: email.message.Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return str(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8"))
    raise AssertionError("the mail has no text")


def test_a_citizen_books_in_a_browser_and_the_appointment_reaches_mail_and_calendars(
    deploy_env: Env, smtp_sink: SmtpSink
) -> None:
    address = f"camille-{RUN}@usagers.example.org"
    browser = Browser(deploy_env, "citoyen", "rdv")
    try:
        browser.open(_rdv(deploy_env) + "/")
        browser.wait_for(By.PARTIAL_LINK_TEXT, "Carte d'identité – dépôt")
        assert browser.driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
        browser.shot("accueil")
        _axe(browser, "accueil")
        browser.origins()
        browser.driver.find_element(By.PARTIAL_LINK_TEXT, "Carte d'identité – dépôt").click()
        first = browser.wait_for(By.CSS_SELECTOR, "ul.slots a")
        browser.shot("creneaux")
        _axe(browser, "creneaux")
        key = urllib.parse.unquote(first.get_attribute("href").split("creneau=", 1)[1])
        first.click()
        browser.wait_for(By.ID, "id_name")
        # The form's errors first: they must be announced and linked to their fields too.
        browser.driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        browser.wait_for(By.ID, "erreurs")  # the next page's summary (the click returns before it)
        browser.shot("formulaire-erreurs")
        _axe(browser, "formulaire-erreurs")
        browser.driver.find_element(By.ID, "id_name").send_keys("Camille Usager")
        browser.driver.find_element(By.ID, "id_email").send_keys(address)
        browser.driver.find_element(By.ID, "id_phone").send_keys("06 12 34 56 78")
        _axe(browser, "formulaire")
        browser.driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        browser.wait_for(By.XPATH, "//h1[contains(., 'Rendez-vous confirmé')]")
        browser.shot("confirmation")
        _axe(browser, "confirmation")
        origins = browser.origins()
        assert origins == {_rdv(deploy_env)}, f"the pages asked other origins: {origins}"
    finally:
        browser.quit()

    mail = _mail_to(smtp_sink, address, "Rendez-vous confirmé")
    event = _ics(mail).walk("VEVENT")[0]
    start = event.decoded("DTSTART")
    assert start == dt.datetime.fromisoformat(key), (start, key)
    assert event.decoded("DTEND") - start == dt.timedelta(minutes=20)
    assert "Carte d'identité" in str(event["SUMMARY"])
    uid = str(event["UID"])
    link = re.search(r"https://rdv\.[^\s]+/rdv/[A-Za-z0-9_-]+/", _body(mail))
    assert link, _body(mail)
    _booked.update(uid=uid, key=key, link=link.group(0), email=address)

    # The outbox writes the service's and the counter's agent's calendars.
    for path in (f"services/{OURS_SERVICE}/agenda/", f"{CLERK}/agenda/"):
        found = _wait_uids(_calendar(deploy_env, path), uid, 1)
        assert found.count(uid) == 1, (path, found)
    assert key not in _week(deploy_env, OURS, OURS_SERVICE, OURS_MOTIVE), "a booked slot is still offered"


def test_the_mails_link_cancels_and_frees_the_slot(deploy_env: Env, smtp_sink: SmtpSink) -> None:
    assert _booked, "the booking test did not book"
    browser = Browser(deploy_env, "annulation", "rdv")
    try:
        browser.open(_booked["link"])
        button = browser.wait_for(By.XPATH, "//button[contains(., 'Annuler le rendez-vous')]")
        browser.shot("gerer")
        _axe(browser, "gerer")
        button.click()
        browser.wait_for(By.XPATH, "//*[contains(., 'Votre rendez-vous est annulé')]")
        browser.shot("annule")
    finally:
        browser.quit()
    _mail_to(smtp_sink, _booked["email"], "annulé")
    for path in (f"services/{OURS_SERVICE}/agenda/", f"{CLERK}/agenda/"):
        found = _wait_uids(_calendar(deploy_env, path), _booked["uid"], 0)
        assert _booked["uid"] not in found, (path, found)
    assert _booked["key"] in _week(deploy_env, OURS, OURS_SERVICE, OURS_MOTIVE), (
        "the cancelled slot is not free"
    )


def test_two_simultaneous_bookings_of_one_slot_exactly_one_wins(deploy_env: Env) -> None:
    key = _week(deploy_env, OURS, OURS_SERVICE, "passeport-retrait")[3]
    results: list[tuple[int, str]] = []
    start = threading.Barrier(2)

    def book(who: str) -> None:
        start.wait()
        results.append(_book(deploy_env, OURS, OURS_SERVICE, "passeport-retrait", key, who))

    threads = [threading.Thread(target=book, args=(who,)) for who in ("alix", "noa")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _where in results)
    assert statuses == [302, 409], results
    winner = next(where for status, where in results if status == 302)
    assert "/rdv/" in winner and "confirme=1" in winner
    assert key not in _week(deploy_env, OURS, OURS_SERVICE, "passeport-retrait")


def _days_offered(env: Env, commune: str, service: str, motive: str, days: list[dt.date]) -> set[dt.date]:
    """Which of ``days`` have a free slot, reading the weeks of the slot pages that show them."""
    first_keys = _week(env, commune, service, motive, 0)
    assert first_keys, f"{commune} offers no slot at all"
    first = dt.datetime.fromisoformat(first_keys[0]).date()
    offered: set[dt.date] = set()
    for week in sorted({(day - first).days // 7 for day in days if day >= first}):
        offered |= {dt.datetime.fromisoformat(k).date() for k in _week(env, commune, service, motive, week)}
    return offered & set(days)


def test_holidays_of_the_territory_and_closures_offer_no_slot(deploy_env: Env) -> None:
    """Saint-Aubin-des-Combes is in Moselle and books a year ahead: Good Friday (always within a
    year, on a Friday it opens) and 26 December are holidays there and not in the rest of
    France; its yearly summer closure is within a year too."""
    today = dt.date.today()
    horizon = [today + dt.timedelta(days=n) for n in range(2, 365)]
    opened = {0, 1, 3, 4, 5}  # its opening days: Monday, Tuesday, Thursday, Friday, Saturday
    moselle = holidays.France(subdiv="57", years=[today.year, today.year + 1])
    national = holidays.France(years=[today.year, today.year + 1])
    local = [d for d in horizon if d in moselle and d not in national and d.weekday() in opened]
    public = [d for d in horizon if d in national and d.weekday() in opened]
    closure = [
        d
        for d in horizon
        if (d.month, d.day) >= (8, 10) and (d.month, d.day) <= (8, 21) and d.weekday() in opened
    ]
    assert local and public and closure
    # Ordinary open days near each of them, which must have slots (the control).
    control = [
        d + dt.timedelta(days=7)
        for d in local
        if d + dt.timedelta(days=7) not in moselle and d + dt.timedelta(days=7) in horizon
    ]
    offered = _days_offered(
        deploy_env, MOSELLE, MOSELLE_SERVICE, MOSELLE_MOTIVE, local + public + closure + control
    )
    assert not offered & set(local), f"Alsace-Moselle holidays offered: {sorted(offered & set(local))}"
    assert not offered & set(public), f"public holidays offered: {sorted(offered & set(public))}"
    assert not offered & set(closure), f"the summer closure offered: {sorted(offered & set(closure))}"
    assert offered & set(control), f"no slot on ordinary days {control}"


def test_with_the_calendars_down_a_booking_reaches_them_once_when_they_are_back(deploy_env: Env) -> None:
    host = _host(deploy_env, OURS)
    unit = f"bastide-calendars@{OURS}.service"
    key = _week(deploy_env, OURS, OURS_SERVICE, "mariage-dossier", 1)[0]
    assert host.run(f"systemctl stop {unit}").rc == 0
    try:
        status, where = _book(deploy_env, OURS, OURS_SERVICE, "mariage-dossier", key, "radicale-absent")
        assert status == 302, where
        pending = _manage(deploy_env, OURS, "rdv_outbox", check=False)
        assert pending.rc != 0, "the outbox says nothing is pending while the calendars are down"
    finally:
        assert host.run(f"systemctl start {unit}").rc == 0
    time.sleep(2)
    _manage(deploy_env, OURS, "rdv_outbox")
    uid = _sql(
        deploy_env,
        OURS,
        f"SELECT uid FROM rdv_appointment WHERE email = 'radicale-absent-{RUN}@usagers.example.org'",
    )
    calendar = _calendar(deploy_env, f"services/{OURS_SERVICE}/agenda/")
    assert _uids(calendar).count(uid) == 1
    # Replaying every entry of the outbox writes the same events again, never a second copy.
    _sql(deploy_env, OURS, "UPDATE rdv_outboxentry SET done_at = NULL")
    _manage(deploy_env, OURS, "rdv_outbox")
    assert _uids(calendar).count(uid) == 1
    assert _uids(_calendar(deploy_env, f"{CLERK}/agenda/")).count(uid) == 1


def test_the_reminder_leaves_before_the_appointment_from_the_hosts_timer(
    deploy_env: Env, smtp_sink: SmtpSink
) -> None:
    """The jobs timer's unit sends the reminder once the appointment is nearer than the
    commune's reminder delay (24 hours): here an appointment moved to an hour from now."""
    key = _week(deploy_env, MOSELLE, MOSELLE_SERVICE, MOSELLE_MOTIVE, 4)[0]
    status, where = _book(deploy_env, MOSELLE, MOSELLE_SERVICE, MOSELLE_MOTIVE, key, "rappel")
    assert status == 302, where
    address = f"rappel-{RUN}@usagers.example.org"
    _sql(
        deploy_env, MOSELLE,
        "UPDATE rdv_reservation SET start = date_trunc('minute', now()) + interval '61 minutes', "
        "\"end\" = date_trunc('minute', now()) + interval '71 minutes' WHERE id = (SELECT reservation_ptr_id "
        f"FROM rdv_appointment WHERE email = '{address}')",
    )  # fmt: skip
    # The timer's own unit, started now rather than waited for (it runs every five minutes).
    assert _host(deploy_env, MOSELLE).run(f"systemctl start bastide-rdv-jobs@{MOSELLE}.service").rc == 0
    reminder = _mail_to(smtp_sink, address, "Rappel", timeout=90)
    assert "Rappel de votre rendez-vous" in _subject(reminder)
    assert "Nous vous rappelons votre rendez-vous" in _body(reminder) and "retrait" in _body(reminder)


def test_the_retention_erases_personal_data_and_keeps_the_counts(deploy_env: Env) -> None:
    status, where = _book(
        deploy_env,
        OURS,
        OURS_SERVICE,
        OURS_MOTIVE,
        _week(deploy_env, OURS, OURS_SERVICE, OURS_MOTIVE, 2)[0],
        "ancien",
    )
    assert status == 302, where
    email_address = f"ancien-{RUN}@usagers.example.org"
    before = json.loads(_cli(deploy_env, "rdv", "stats", deploy_env["BASTIDE_INVENTORY"], OURS, "--json"))[
        "weeks"
    ]
    # The appointment as if it had taken place 40 days ago (the commune keeps 30 days).
    _sql(
        deploy_env,
        OURS,
        "UPDATE rdv_reservation SET start = now() - interval '40 days', \"end\" = now() - interval '40 days' "
        "+ interval '20 minutes' WHERE id = (SELECT reservation_ptr_id FROM rdv_appointment "
        f"WHERE email = '{email_address}')",
    )
    _sql(deploy_env, OURS, f"UPDATE rdv_appointment SET status = 'honoured' WHERE email = '{email_address}'")
    uid = _sql(deploy_env, OURS, f"SELECT uid FROM rdv_appointment WHERE email = '{email_address}'")
    calendar = _calendar(deploy_env, f"services/{OURS_SERVICE}/agenda/")
    assert _wait_uids(calendar, uid, 1).count(uid) == 1
    _manage(deploy_env, OURS, "rdv_retention")
    # The event carried the citizen's name and contact: it leaves the agendas too.
    assert uid not in _wait_uids(calendar, uid, 0)
    dump = _host(deploy_env, OURS).run("runuser -u postgres -- pg_dump --data-only ours_les_bains_rdv")
    assert dump.rc == 0
    assert f"ancien-{RUN}" not in dump.stdout and "Usager ancien" not in dump.stdout
    after = json.loads(_cli(deploy_env, "rdv", "stats", deploy_env["BASTIDE_INVENTORY"], OURS, "--json"))[
        "weeks"
    ]
    assert sum(r["bookings"] for r in after) == sum(r["bookings"] for r in before)
    assert sum(r["honoured"] for r in after) == sum(r["honoured"] for r in before) + 1


def test_an_agent_sees_the_services_appointments_and_another_commune_nothing(deploy_env: Env) -> None:
    key = _week(deploy_env, OURS, OURS_SERVICE, OURS_MOTIVE, 3)[0]
    status, where = _book(deploy_env, OURS, OURS_SERVICE, OURS_MOTIVE, key, "agent-voit")
    assert status == 302, where
    day = dt.datetime.fromisoformat(key).date()
    browser = Browser(deploy_env, "agent", "rdv")
    try:
        browser.open(_rdv(deploy_env) + f"/agents/{OURS_SERVICE}/?jour={day.isoformat()}")
        browser.login(CLERK, _password(deploy_env, OURS, CLERK))
        browser.wait_for(By.TAG_NAME, "table")
        browser.shot("planning")
        assert "Usager agent-voit" in browser.text()
    finally:
        browser.quit()
    # An agent of another commune: refused on this commune's agents' pages and calendars.
    stranger = Browser(deploy_env, "autre-commune", "rdv")
    try:
        stranger.open(_rdv(deploy_env) + "/agents/")
        stranger.login(STRANGER, _password(deploy_env, STRANGER_COMMUNE, STRANGER))
        time.sleep(2)
        stranger.shot("refus")
        assert "Usager" not in stranger.text()
    finally:
        stranger.quit()
    auth = (STRANGER, _password(deploy_env, STRANGER_COMMUNE, STRANGER))
    agenda = site(deploy_env, OURS, "calendars")
    for path in (f"/dav/services/{OURS_SERVICE}/agenda/", f"/dav/{CLERK}/agenda/", "/dav/"):
        status, _body, _h = request(deploy_env, "PROPFIND", agenda + path, headers={"Depth": "1"}, auth=auth)
        assert status in (401, 403), (path, status)
    # And straight to the booking's agents' pages with the portal's headers forged: refused.
    status, body, _h = request(
        deploy_env,
        "GET",
        _rdv(deploy_env) + f"/agents/{OURS_SERVICE}/",
        headers={"Remote-User": CLERK, "Remote-Groups": f"{OURS}; service-{OURS_SERVICE}"},
    )
    assert status == 302 and b"Usager" not in body


def test_the_pages_may_be_framed_by_the_communes_website_only(deploy_env: Env) -> None:
    snippet = _cli(deploy_env, "rdv", "embed", deploy_env["BASTIDE_INVENTORY"], OURS)
    assert f'src="{_rdv(deploy_env)}/"' in snippet and "<script" not in snippet
    status, _page, headers = _get(deploy_env, _rdv(deploy_env) + "/")
    assert status == 200
    assert (
        "frame-ancestors 'self' https://www.ours-les-bains.example.fr" in headers["content-security-policy"]
    )
    assert "x-frame-options" not in headers
    # The pages' stylesheet comes from the application itself, through the same front door.
    status, css, headers = _get(deploy_env, _rdv(deploy_env) + "/static/rdv/rdv.css")
    assert status == 200 and headers["content-type"].startswith("text/css") and "{" in css
    status, _page, headers = _get(deploy_env, _rdv(deploy_env) + "/agents/")
    assert headers.get("x-frame-options") == "DENY"
    registre = _cli(deploy_env, "rdv", "registre", deploy_env["BASTIDE_INVENTORY"], OURS)
    assert "Registre des activités de traitement" in registre


def test_the_private_links_stay_out_of_the_logs(deploy_env: Env) -> None:
    assert _booked, "the booking test did not book"
    token = _booked["link"].rstrip("/").rsplit("/", 1)[1]
    logs = _host(deploy_env, OURS).run(
        "cat /var/log/nginx/*.log; journalctl -u 'bastide-rdv*' -u nginx --no-pager"
    )
    assert token not in logs.stdout


def test_slot_searches_are_rate_limited(deploy_env: Env) -> None:
    """Last: the controller's address is then limited for a minute. The limit counts per
    calendar minute, so a burst that straddles a minute's end may split its count in two: more
    than twice the limit, in parallel (seconds, not a minute), goes over it in one of them."""
    from concurrent.futures import ThreadPoolExecutor

    defaults = yaml.safe_load((REPO / "roles/rdv/defaults/main.yml").read_text(encoding="utf-8"))
    burst = 2 * defaults["rdv_rate_limits"]["search_per_minute"] + 1
    url = f"{_rdv(deploy_env)}/motif/{OURS_SERVICE}/{OURS_MOTIVE}/"
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _i: _get(deploy_env, url), range(burst)))
    statuses = [status for status, _page, _headers in answers]
    assert set(statuses) <= {200, 429} and 429 in statuses, statuses
    page = next(page for status, page, _headers in answers if status == 429)
    assert "Trop de demandes" in page and "Too many requests" in page, page[:300]


def test_no_secret_leaked_by_the_booking_runs(deploy_env: Env) -> None:
    assert_no_secret_leaked(deploy_env, _outputs)
