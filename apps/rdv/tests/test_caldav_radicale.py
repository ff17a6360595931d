"""The outbox against a real Radicale (trusting Remote-User, as the commune's one does)."""

import os
import socket
import subprocess
import sys
import time
from io import StringIO

import caldav
import pytest
from django.core.management import CommandError, call_command
from rdv import booking, calendars, config, slots
from rdv.models import Appointment, OutboxEntry

pytestmark = pytest.mark.django_db(transaction=True)

CALENDARS = ("services/etat-civil/agenda/", "karim.benali/agenda/")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Radicale:
    def __init__(self, tmp_path) -> None:
        self.port = _free_port()
        self.config = tmp_path / "radicale.conf"
        self.config.write_text(f"""
[server]
hosts = 127.0.0.1:{self.port}
[auth]
type = http_remote_user
[rights]
type = from_file
file = {tmp_path / "rights"}
[storage]
filesystem_folder = {tmp_path / "collections"}
[logging]
level = warning
""")
        # Shared calendars live deeper than Radicale's per-user defaults allow.
        (tmp_path / "rights").write_text(
            "[backend]\nuser: _rdv\ncollection: .*\npermissions: RrWw\n"
        )
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(self.config)],
            env={**os.environ, "PYTHONPATH": ""},
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("radicale did not start")

    def stop(self) -> None:
        assert self.proc
        self.proc.terminate()
        self.proc.wait(10)

    def client(self) -> caldav.DAVClient:
        return caldav.DAVClient(url=self.url, headers={"Remote-User": "_rdv"},
                                enable_rfc6764=False, require_tls=False)

    def hrefs(self, path: str) -> list[str]:
        cal = caldav.Calendar(client=self.client(), url=self.url + path)
        return sorted(str(e.url).rsplit("/", 1)[-1] for e in cal.events())


@pytest.fixture
def radicale(tmp_path, set_config):
    server = Radicale(tmp_path)
    server.start()
    for parent in ("services/", "services/etat-civil/", "karim.benali/"):
        assert server.client().mkcol(server.url + parent, "").status == 201
    for path in CALENDARS:
        parent, name = path.rstrip("/").rsplit("/", 1)
        caldav.CalendarSet(client=server.client(), url=server.url + parent + "/").make_calendar(
            name=name, cal_id=name)
    set_config(caldav_url=server.url, caldav_user="_rdv")
    yield server
    if server.proc and server.proc.poll() is None:
        server.stop()


def _book(email: str) -> Appointment:
    service = config.get().service("etat-civil")
    motive = service.motive("mariage")  # guichet-1: karim.benali
    slot = slots.free_slots(service, motive)[0]
    appointment, _ = booking.book(service, motive, slot.key, booking.Citizen("Zoé Durand", email))
    return appointment


def test_outbox_survives_radicale_downtime_and_replays_idempotently(radicale):
    first = _book("a@example.org")
    href = f"{first.uid}.ics"
    for path in CALENDARS:  # pushed right after commit
        assert radicale.hrefs(path) == [href]
    assert not OutboxEntry.objects.filter(done_at__isnull=True).exists()
    event = caldav.Calendar(client=radicale.client(), url=radicale.url + CALENDARS[0]).event_by_uid(
        str(first.uid))
    assert "Zoé Durand" in event.data and "Dossier de mariage" in event.data

    radicale.stop()
    second = _book("b@example.org")  # the booking does not depend on the calendars
    assert OutboxEntry.objects.filter(uid=second.uid, done_at__isnull=True).count() == 2
    with pytest.raises(CommandError):
        call_command("rdv_outbox", stdout=StringIO())

    radicale.start()
    call_command("rdv_outbox", stdout=StringIO())
    expected = sorted([href, f"{second.uid}.ics"])
    for path in CALENDARS:
        assert radicale.hrefs(path) == expected

    # Replaying everything (as after a crash before done_at was written) changes nothing.
    OutboxEntry.objects.update(done_at=None)
    assert calendars.push() == (4, 0)
    for path in CALENDARS:
        assert radicale.hrefs(path) == expected

    booking.cancel(Appointment.objects.get(pk=first.pk))
    for path in CALENDARS:
        assert radicale.hrefs(path) == [f"{second.uid}.ics"]
    OutboxEntry.objects.update(done_at=None)  # replay including the delete of a gone event
    assert calendars.push()[1] == 0
    for path in CALENDARS:
        assert radicale.hrefs(path) == [f"{second.uid}.ics"]
