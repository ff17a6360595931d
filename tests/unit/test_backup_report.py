"""What ``backup status`` and ``backup report`` make of a commune's records, without a lab: the
host's last run and the bucket's lock are given as they would be read (their reading is tested
on the lab, tests/integration/test_backup.py)."""

from __future__ import annotations

import datetime as dt
import html.parser
import inspect
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from bastide.core.backup import hosts, records, report
from bastide.core.backup import status as backup_status
from bastide.core.inventory import load

DEMO = Path(__file__).resolve().parents[2] / "inventories" / "demo"
OURS = "ours-les-bains"
NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)


def ago(**delta: float) -> str:
    return backup_status.stamp(NOW - dt.timedelta(**delta))


@pytest.fixture
def inv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    shutil.copytree(DEMO, tmp_path / "inv")
    monkeypatch.setattr(backup_status, "utc_now", lambda: NOW)
    services = {
        "drive": {"ok": True, "snapshot": "1a2b3c4d", "files": 12, "bytes": 4096},
        "rdv": {"ok": True, "snapshot": "5e6f7a8b", "files": 0, "bytes": 900,
                "tables": {"ours_les_bains_rdv": {"a": 3, "b": 4}}},
        "directory": {"ok": True, "snapshot": "9c0d1e2f", "files": 0, "bytes": 800,
                      "records": {"directory.ldif": 14}},
    }  # fmt: skip
    host = {"ok": True, "last_success": ago(hours=7), "started": ago(hours=7.1), "finished": ago(hours=7),
            "services": services}  # fmt: skip
    monkeypatch.setattr(hosts, "statuses", lambda inventory, slugs: {slug: host for slug in slugs})
    until = backup_status.stamp(NOW + dt.timedelta(days=29))
    lock = {"mode": "COMPLIANCE", "until": until, "days_left": 29.7}
    monkeypatch.setattr(backup_status, "lock_left", lambda target, keyring: lock)
    return load(tmp_path / "inv")


def _record(inventory: Any, **parts: Any) -> None:
    records.write(inventory, OURS, parts)


def _row(inventory: Any) -> dict[str, Any]:
    return backup_status.commune_status(inventory, None, OURS, backup_status.MAX_BACKUP_AGE_HOURS)


CHECKED = {"time": ago(hours=2), "ok": True, "subset": "3/7", "output": "no errors were found"}
DRILLED = {"time": ago(days=3), "ok": True, "rto_seconds": 125.4,
           "services": {"drive": {"identical": True, "files": 12, "seconds": 80.2},
                        "rdv": {"identical": True, "files": 0, "tables": 9, "seconds": 45.2}}}  # fmt: skip


def test_a_commune_never_drilled_or_drilled_long_ago_is_not_green(inv: Any) -> None:
    _record(inv, last_check=CHECKED)
    assert _row(inv)["problems"] == ["never-drilled"]
    _record(inv, last_check=CHECKED, last_drill={**DRILLED, "time": ago(days=40)})
    assert _row(inv)["problems"] == ["drill-stale"]
    _record(inv, last_check=CHECKED, last_drill={**DRILLED, "ok": False})
    assert _row(inv)["problems"] == ["drill-failed"]
    _record(inv, last_check=CHECKED, last_drill=DRILLED)
    row = _row(inv)
    assert row["ok"] and row["last_drill"]["rto_seconds"] == 125.4


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.fetched: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.fetched += [v or "" for k, v in attrs if k in ("src", "href")]

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _page(inventory: Any, lang: str) -> _Text:
    parsed = _Text()
    parsed.feed(report.render(inventory, _row(inventory), lang))
    return parsed


def test_the_report_tells_the_mayor_in_french_what_is_protected_and_when_it_was_proven(inv: Any) -> None:
    _record(inv, last_check=CHECKED, last_drill=DRILLED)
    page = _page(inv, "fr")
    text = " ".join(" ".join(page.parts).split())
    assert "Sauvegardes de Ours-les-Bains" in text
    assert "sont à jour, vérifiées, et leur restauration a été prouvée" in text
    assert "verrouillée 30 jours" in text and "1er janvier 2027" in text, "the lock and until when"
    assert "30 novembre 2026 à 09:00 UTC : tout restauré à l'identique, en 2 min 05 s" in text
    assert "Documents de la commune" in text and "12 fichiers" in text
    assert "restauré à l'identique en 1 min 20 s" in text and "restauré à l'identique en 45 s" in text
    assert "une base de données : 2 tables, 7 lignes" in text
    assert "Les personnes de la commune dans l'annuaire" in text and "14 enregistrements" in text
    assert "vallee-ours-sauvegardes-ours-les-bains" in text
    assert page.fetched == [], "the page fetches nothing: it is mailed and archived"


def test_the_report_says_in_words_what_needs_doing(inv: Any) -> None:
    _record(inv, last_check={**CHECKED, "ok": False})
    text = " ".join(" ".join(_page(inv, "fr").parts).split())
    assert "demandent une action" in text
    assert "la dernière vérification a trouvé des données de sauvegarde abîmées" in text
    assert "aucune restauration n'a encore été essayée" in text
    english = " ".join(" ".join(_page(inv, "en").parts).split())
    assert "the last check found damaged backup data" in english and "Backups of Ours-les-Bains" in english


def test_every_status_problem_has_words_in_both_languages() -> None:
    said = set(re.findall(r'problems\.append\(f?"([a-z-]+)', inspect.getsource(backup_status)))
    said |= {f"{prefix}-{kind}" for prefix in ("never",) for kind in ("checked", "drilled")}
    said |= {f"{kind}-{state}" for kind in ("check", "drill") for state in ("failed", "stale")}
    assert said == set(backup_status.PROBLEMS)
    for code in backup_status.PROBLEMS:
        for lang in ("fr", "en"):
            assert report.problem_text(code, lang)


def test_the_status_asks_each_host_once_for_all_its_communes(monkeypatch: pytest.MonkeyPatch) -> None:
    """`backup status` of a syndicat: one SSH session per host, not per host and commune (the
    identity host holds every commune's people); a host that cannot be read marks its communes
    unreadable and the others are read; each commune's record merges its hosts'."""
    import subprocess

    inventory = load(DEMO)
    assert inventory.identity is not None
    people = inventory.identity.host
    slugs = [c.slug for c in inventory.communes]
    broken = next(h.name for h in inventory.hosts if h.name != people)
    asked: list[tuple[str, list[str]]] = []

    def run_on(inventory: Any, host: str, command: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        assert command[:2] == [hosts.TOOL, "statuses"]
        asked.append((host, command[2:]))
        if host == broken:
            return subprocess.CompletedProcess(command, 255, "", "ssh: connect to host: No route to host\n")
        services = {"directory": {"ok": True}} if host == people else {"drive": {"ok": True}}
        stamp = "2026-12-04T02:15:00Z"
        record = {"ok": True, "last_success": stamp, "started": stamp, "finished": stamp,
                  "services": services}  # fmt: skip
        return subprocess.CompletedProcess(command, 0, json.dumps({s: record for s in command[2:]}), "")

    monkeypatch.setattr(hosts.remote, "run", run_on)
    found = hosts.statuses(inventory, slugs)
    assert sorted(host for host, _ in asked) == sorted(h.name for h in inventory.hosts), "each host once"
    assert dict(asked)[people] == slugs, "the identity host: every commune at once"
    for commune in inventory.communes:
        if commune.host == broken:
            assert "No route to host" in found[commune.slug]["unreadable"], found[commune.slug]
        else:
            assert found[commune.slug]["ok"] and set(found[commune.slug]["services"]) >= {"directory"}


def test_a_host_with_an_older_tool_is_asked_commune_by_commune_and_a_silent_one_is_unreadable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import subprocess

    inventory = load(DEMO)
    assert inventory.identity is not None
    people = inventory.identity.host
    other = next(h.name for h in inventory.hosts if h.name != people)
    ours = [c.slug for c in inventory.communes if c.host == other]

    def run_on(inventory: Any, host: str, command: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        if host == people:
            raise subprocess.TimeoutExpired(command, 120)
        if command[1] == "statuses":
            said = "error: argument action: invalid choice: 'statuses'"
            return subprocess.CompletedProcess(command, 2, "", said)
        return subprocess.CompletedProcess(command, 0, json.dumps({"ok": True, "services": {}}), "")

    monkeypatch.setattr(hosts.remote, "run", run_on)
    found = hosts.statuses(inventory, ours)
    assert all("no answer in time" in found[slug]["unreadable"] for slug in ours), "the identity host hung"
    monkeypatch.setattr(hosts, "data_hosts", lambda inventory, slug: [other])
    assert all(hosts.statuses(inventory, ours)[slug]["ok"] for slug in ours), "read one by one"


def test_a_host_that_cannot_be_asked_is_not_taken_for_one_never_deployed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import subprocess

    from bastide.errors import BastideError

    inventory = load(DEMO)
    host = inventory.hosts[0].name
    answers = iter([1, 255])
    refused = "ssh: connect to host: Connection refused"

    def run_on(inventory: Any, host: str, command: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, next(answers), "", refused)

    monkeypatch.setattr(hosts.remote, "run", run_on)
    assert hosts.plans(inventory, host, OURS) is False
    with pytest.raises(BastideError, match="Connection refused"):
        hosts.plans(inventory, host, OURS)
