"""Where `bastide restore` brings data back. `--host`: after a host was lost and deployed again,
everything it held comes back on it — its communes, and every commune's people when it is the
identity host — and only what it held (the other host's services of a commune are not rolled
back). `COMMUNE --to HOST`: what that host keeps of the commune, and nothing on its other host;
a host the inventory does not put the commune on, or not deployed with it, is refused with the
fix (move it: `host:`, deploy) before any host is asked to restore anything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bastide.commands import main
from bastide.core.backup import hosts
from bastide.core.inventory import load

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "inventories" / "demo"


def run(*args: str | Path) -> Result:
    return CliRunner(env={"COLUMNS": "400", "LANG": "en_GB.UTF-8"}).invoke(main, [str(a) for a in args])


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, tuple[str, ...]]]:
    """What each host's backup tool was asked to restore, each answering a full restore; every
    host deployed with every commune."""
    calls: list[tuple[str, str, tuple[str, ...]]] = []

    def report(inventory: Any, host: str, slug: str, action: str, *options: str) -> dict[str, Any]:
        calls.append((host, slug, options))
        services = {"drive": {"identical": True, "files": 3, "tables": 0, "time": "2026-12-04T01:00:00Z"}}
        return {"commune": slug, "services": services, "seconds": 2.5}

    monkeypatch.setattr(hosts, "_report", report)
    monkeypatch.setattr(hosts, "plans", lambda inventory, host, slug: True)
    return calls


def test_the_identity_host_holds_every_communes_people_and_its_own_communes() -> None:
    inventory = load(DEMO)
    assert inventory.identity is not None
    identity = inventory.identity.host
    assert hosts.held_by(inventory, identity) == [c.slug for c in inventory.communes]
    other = next(h.name for h in inventory.hosts if h.name != identity)
    assert hosts.held_by(inventory, other) == [c.slug for c in inventory.communes if c.host == other]


def test_restore_host_asks_the_lost_host_alone_for_each_commune_it_held(
    asked: list[tuple[str, str, tuple[str, ...]]],
) -> None:
    inventory = load(DEMO)
    other = next(h.name for h in inventory.hosts if inventory.identity and h.name != inventory.identity.host)
    report = hosts.restore_host(inventory, other, "2026-12-04T00:00:00Z")
    held = [c.slug for c in inventory.communes if c.host == other]
    assert list(report["communes"]) == held and report["seconds"] == 2.5 * len(held)
    at = ("--at", "2026-12-04T00:00:00Z")
    assert asked == [(other, slug, at) for slug in held], "never the identity host"


def test_the_cli_restores_a_host_and_says_what_came_back(
    asked: list[tuple[str, str, tuple[str, ...]]],
) -> None:
    inventory = load(DEMO)
    assert inventory.identity is not None
    result = run("restore", DEMO, "--host", inventory.identity.host, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["communes"]) == {c.slug for c in inventory.communes}
    text = run("restore", DEMO, "--host", inventory.identity.host)
    held = len(inventory.communes)
    assert text.exit_code == 0 and f"{held} of {held} communes' data restored" in text.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((), "name one commune, or --host HOST"),
        (("ours-les-bains", "--host", "srv-ours-1"), "name one commune, or --host HOST"),
        (("--host", "srv-ours-9"), "the inventory has no host srv-ours-9"),
        (("--host", "srv-ours-1", "--service", "drive"), "--service and --path choose within one commune"),
    ],
)
def test_a_restore_that_names_no_commune_or_host_or_both_is_refused(
    asked: list[tuple[str, str, tuple[str, ...]]], args: tuple[str, ...], said: str
) -> None:
    result = run("restore", DEMO, *args)
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split())
    assert not asked, "no host was asked anything"


def test_a_commune_that_cannot_come_back_does_not_stop_the_others(
    monkeypatch: pytest.MonkeyPatch, asked: list[tuple[str, str, tuple[str, ...]]]
) -> None:
    from bastide.errors import BastideError

    inventory = load(DEMO)
    assert inventory.identity is not None
    first = inventory.communes[0].slug
    answered = hosts._report

    def report(inventory: Any, host: str, slug: str, action: str, *options: str) -> dict[str, Any]:
        if slug == first:
            raise BastideError("no snapshot of drive")
        return answered(inventory, host, slug, action, *options)

    monkeypatch.setattr(hosts, "_report", report)
    result = run("restore", DEMO, "--host", inventory.identity.host)
    assert result.exit_code == 1, result.output
    assert "no snapshot of drive" in result.output
    held = len(inventory.communes)
    assert f"{held - 1} of {held} communes' data restored identical" in " ".join(result.output.split())
    assert [slug for _, slug, _ in asked] == [c.slug for c in inventory.communes[1:]]


def _away() -> tuple[str, str, str]:
    """A commune that is not on the identity host, its host, and the identity host."""
    inventory = load(DEMO)
    assert inventory.identity is not None
    people = inventory.identity.host
    commune = next(c for c in inventory.communes if c.host != people)
    return commune.slug, commune.host, people


def test_what_a_host_keeps_of_a_commune() -> None:
    inventory = load(DEMO)
    slug, own, people = _away()
    assert hosts.services_on(inventory, slug, own) == inventory.commune(slug).services
    assert hosts.services_on(inventory, slug, people) == ["directory"]
    at_home = next(c for c in inventory.communes if c.host == people)
    assert hosts.services_on(inventory, at_home.slug, people) == [*at_home.services, "directory"]


def test_restore_to_asks_that_host_alone(asked: list[tuple[str, str, tuple[str, ...]]]) -> None:
    slug, own, _people = _away()
    result = run("restore", DEMO, slug, "--to", own, "--service", "drive", "--path", "a/b.pdf", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["services"]["drive"]["identical"]
    assert asked == [(own, slug, ("--service", "drive", "--path", "a/b.pdf"))], "never the identity host"
    said = run("restore", DEMO, slug, "--to", own)
    assert said.exit_code == 0 and f"{slug}: restored on {own} in 2.5 s" in said.output


def test_a_host_that_keeps_nothing_of_the_commune_is_refused_with_how_to_move_it(
    asked: list[tuple[str, str, tuple[str, ...]]],
) -> None:
    loaded = load(DEMO)
    assert loaded.identity is not None
    people = loaded.identity.host
    # A commune of the identity host: the other host keeps nothing of it, not even its people.
    slug, own = next((c.slug, c.host) for c in loaded.communes if c.host == people)
    other = next(h.name for h in loaded.hosts if h.name != people)
    result = run("restore", DEMO, slug, "--to", other)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    source = loaded.commune(slug).source
    line = next(n for n, row in enumerate(source.read_text().splitlines(), 1) if row.startswith("host:"))
    assert f"{source}:{line}" in text and "host" in text, text
    assert f"the inventory puts the commune on {own}" in text and f"set `host: {other}` here" in text
    assert not asked, "no host was asked anything"


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (("--to", "srv-ours-9"), "the inventory has no host srv-ours-9"),
        (("--to", "{people}", "--service", "drive"), "does not keep drive for"),
        (("--to", "{own}", "--service", "directory"), "does not keep directory for"),
        (("--to", "{own}", "--host", "{own}"), "name one commune, or --host HOST"),
    ],
)
def test_a_target_that_cannot_take_the_restore_is_refused(
    asked: list[tuple[str, str, tuple[str, ...]]], extra: tuple[str, ...], said: str
) -> None:
    slug, own, people = _away()
    args = [a.format(own=own, people=people) for a in extra]
    result = run("restore", DEMO, slug, *args)
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split())
    assert not asked


def test_to_with_host_is_refused(asked: list[tuple[str, str, tuple[str, ...]]]) -> None:
    _slug, own, _people = _away()
    result = run("restore", DEMO, "--host", own, "--to", own)
    assert result.exit_code == 2 and "--to goes with a commune" in " ".join(result.output.split())
    assert not asked


def test_a_host_not_deployed_with_the_commune_is_refused(
    asked: list[tuple[str, str, tuple[str, ...]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    slug, own, _people = _away()
    monkeypatch.setattr(hosts, "plans", lambda inventory, host, name: False)
    result = run("restore", DEMO, slug, "--to", own)
    assert result.exit_code == 2, result.output
    assert f"deploy it first: bastide deploy INVENTORY --limit {own}" in " ".join(result.output.split())
    assert not asked
