import datetime as dt

import pytest
from rdv.models import Appointment, Block, RateCount, Status

from .conftest import AGENT, at, make_appointment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("headers", [
    {k: v for k, v in AGENT.items() if k != "X-Bastide-Secret"},
    {**AGENT, "X-Bastide-Secret": "wrong"},
    {**AGENT, "X-Bastide-Secret": ""},
    {**AGENT, "X-Bastide-Secret": "s3cret-header-and-more"},
])
def test_agents_side_needs_the_header_secret(client, headers):
    for path in ("/agents/", "/agents/etat-civil/", "/agents/inconnu/"):
        assert client.get(path, headers=headers).status_code == 403


def test_agent_sees_only_their_groups_services(client):
    index = client.get("/agents/", headers=AGENT)
    body = index.content.decode()
    assert index.status_code == 200 and "État civil" in body and "Urbanisme" not in body
    assert client.get("/agents/etat-civil/", headers=AGENT).status_code == 200
    assert client.get("/agents/urbanisme/", headers=AGENT).status_code == 404
    other = {**AGENT, "Remote-Groups": "ours-les-bains; service-urbanisme"}
    assert client.get("/agents/etat-civil/", headers=other).status_code == 404
    assert client.get("/agents/urbanisme/", headers=other).status_code == 200


def test_day_and_week_views_and_actions(client, mailoutbox):
    start = at(2027, 1, 4, 9)
    appointment = make_appointment(start, name="Zoé Durand")
    make_appointment(at(2027, 1, 6, 10), counter="guichet-2", email="b@example.org",
                     name="Bruno Petit")
    day = client.get("/agents/etat-civil/?jour=2027-01-04", headers=AGENT).content.decode()
    assert "Zoé Durand" in day and "Bruno Petit" not in day
    week = client.get("/agents/etat-civil/?jour=2027-01-04&vue=semaine",
                      headers=AGENT).content.decode()
    assert "Zoé Durand" in week and "Bruno Petit" in week
    url = f"/agents/etat-civil/rdv/{appointment.uid}/"
    # CSRF applies on the agents' side.
    assert client.post(url, {"action": "honore"}, headers=AGENT).status_code in (302, 403)
    csrf = client.__class__(enforce_csrf_checks=False)
    assert csrf.post(url, {"action": "absent"}, headers=AGENT).status_code == 302
    assert Appointment.objects.get(pk=appointment.pk).status == Status.NO_SHOW
    assert csrf.post(url, {"action": "honore"}, headers=AGENT).status_code == 302
    assert Appointment.objects.get(pk=appointment.pk).status == Status.HONOURED


def test_agent_cancel_mails_the_citizen(client, mailoutbox):
    appointment = make_appointment(dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
    response = client.post(f"/agents/etat-civil/rdv/{appointment.uid}/", {"action": "annuler"},
                           headers=AGENT)
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED and appointment.cancelled_by == "karim.benali"
    (mail,) = mailoutbox
    assert mail.to == ["a@example.org"] and "annulé" in mail.subject


def test_blocks_a_day_and_refuses_overlap(client):
    response = client.post("/agents/etat-civil/bloquer/", {
        "counter": "guichet-1", "day": "2027-01-05", "whole_day": "on", "reason": "Formation",
    }, headers=AGENT)
    assert response.status_code == 302 and "bloqu" in response["Location"]
    block = Block.objects.get()
    assert block.start == at(2027, 1, 5) and block.end == at(2027, 1, 6)
    make_appointment(at(2027, 1, 7, 9))
    refused = client.post("/agents/etat-civil/bloquer/", {
        "counter": "guichet-1", "day": "2027-01-07", "start": "08:30", "end": "10:00",
    }, headers=AGENT)
    assert "Impossible" in refused["Location"] or "Impossible%20de" in refused["Location"]
    assert Block.objects.count() == 1


def test_content_security_policy(client):
    public = client.get("/")
    csp = public["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://www.ours-les-bains.fr" in csp
    assert "default-src 'self'" in csp and "X-Frame-Options" not in public
    agents = client.get("/agents/", headers=AGENT)
    assert "frame-ancestors 'none'" in agents["Content-Security-Policy"]
    assert client.get("/agents/")["Content-Security-Policy"].endswith("frame-ancestors 'none'")


def test_no_website_means_self_only(client, set_config):
    from rdv.middleware import ContentSecurityPolicyMiddleware

    set_config(website=None)
    middleware = ContentSecurityPolicyMiddleware(lambda r: None)
    assert middleware.public.endswith("frame-ancestors 'self'")


def test_health_and_english(client):
    health = client.get("/sante")
    assert health.status_code == 200 and health.content == b"ok"
    english = client.get("/en/")
    assert english.status_code == 200 and 'lang="en"' in english.content.decode()
    assert "Book an appointment" in english.content.decode()
    french = client.get("/", headers={"Accept-Language": "en"})
    assert 'lang="fr"' in french.content.decode()  # French first, English by the link
    assert 'href="/en/"' in french.content.decode()


def test_rate_limits(client, set_config):
    set_config(search_per_minute=3, booking_per_hour=2)
    RateCount.objects.all().delete()
    url = "/motif/etat-civil/cni-depot/"
    codes = [client.get(url, REMOTE_ADDR="192.0.2.1").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    page = client.get(url, REMOTE_ADDR="192.0.2.1")
    assert "Trop de demandes" in page.content.decode() and "Too many" in page.content.decode()
    assert client.get(url, REMOTE_ADDR="192.0.2.2").status_code == 200
    # Behind nginx's unix socket: the last X-Forwarded-For hop is the client.
    for _ in range(3):
        assert client.get(url, REMOTE_ADDR="", HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.7"
                          ).status_code == 200
    assert client.get(url, REMOTE_ADDR="", HTTP_X_FORWARDED_FOR="2.2.2.2, 198.51.100.7"
                      ).status_code == 429
    booking_url = "/motif/etat-civil/cni-depot/reserver/"
    codes = [client.post(booking_url, {}, REMOTE_ADDR="192.0.2.9").status_code for _ in range(3)]
    assert codes[:2] != [429, 429] and codes[2] == 429


def test_the_stylesheet_is_served_by_the_application_itself(client):
    # gunicorn serves no files and nginx knows none of the service's: the application does.
    response = client.get("/static/rdv/rdv.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content if response.streaming else [response.content])


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_never_lose_a_count(set_config):
    """A get-then-set counter (Django's database cache) loses counts under parallel requests, so
    a burst could pass a limit unseen: the atomic upsert gives every request its own count."""
    import threading

    from django.db import connections
    from rdv import ratelimit

    set_config(search_per_minute=10)
    n = 16
    barrier = threading.Barrier(n)
    verdicts: list[bool] = []
    lock = threading.Lock()

    def request() -> None:
        try:
            barrier.wait()
            allowed = ratelimit.hit("search", "203.0.113.5")
        finally:
            connections.close_all()
        with lock:
            verdicts.append(allowed)

    threads = [threading.Thread(target=request) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    counts = list(RateCount.objects.values_list("count", flat=True))  # a window or two
    assert sum(counts) == n and len(verdicts) == n
    assert verdicts.count(True) == sum(min(count, 10) for count in counts), (verdicts, counts)
    RateCount.objects.filter(key__startswith="search:").update(expires=at(2020, 1, 1, 0, 0))
    assert ratelimit.forget_expired() >= 1 and not RateCount.objects.exists()
