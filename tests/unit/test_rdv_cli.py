"""`bastide rdv embed` and `bastide rdv registre` from the inventory alone; a commune that does
not run the booking is refused with its file (exit 2). `bastide rdv stats` reads the host: it
is tested on the lab (tests/integration/test_rdv.py)."""

from __future__ import annotations

import html.parser
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bastide.commands import main

DEMO = Path(__file__).resolve().parents[2] / "inventories" / "demo"


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_embed_snippet_is_a_link_and_a_frame_with_no_script() -> None:
    result = CliRunner().invoke(main, ["rdv", "embed", str(DEMO), "ours-les-bains"])
    assert result.exit_code == 0, result.output
    parser = _Tags()
    parser.feed(result.stdout)
    tags = dict(parser.tags)
    assert "script" not in tags
    assert tags["a"]["href"] == "https://rdv.ours-les-bains.example.fr/"
    assert tags["iframe"]["src"] == "https://rdv.ours-les-bains.example.fr/"
    assert "Ours-les-Bains" in (tags["iframe"]["title"] or "")
    assert "https://www.ours-les-bains.example.fr" in result.stderr


def test_a_commune_without_a_website_is_told_the_frame_needs_one() -> None:
    result = CliRunner().invoke(main, ["rdv", "embed", str(DEMO), "saint-aubin-des-combes"])
    assert result.exit_code == 0, result.output
    assert "<iframe" in result.stdout and "rdv.website" in result.stderr


def test_the_registre_says_who_what_how_long_and_where_in_french(tmp_path: Path) -> None:
    output = tmp_path / "registre.md"
    result = CliRunner().invoke(main, ["rdv", "registre", str(DEMO), "ours-les-bains", "-o", str(output)])
    assert result.exit_code == 0, result.output
    text = output.read_text(encoding="utf-8")
    assert text.startswith("# Registre des activités de traitement – Mairie de Ours-les-Bains")
    for expected in (
        "code INSEE 38123",
        "SIREN 200070019",
        "dsi@vallee-ours.example.fr",
        "article 6.1.e",
        "Secrétariat de mairie (Carte d'identité – dépôt, Passeport – retrait, Mariage – dossier) : "
        "Marie Dupont",
        "effacées automatiquement 30 jours après le rendez-vous",
        "rappel (24 heures avant)",
        "OVHcloud, région fr-gra",
        "https://rdv.ours-les-bains.example.fr/",
        "aucun",
    ):
        assert expected in text, expected


def test_a_longer_retention_shows_in_the_registre(tmp_path: Path) -> None:
    root = tmp_path / "inv"
    shutil.copytree(DEMO, root)
    path = root / "communes" / "ours-les-bains.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("retention_days: 30", "retention_days: 90"), encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["rdv", "registre", str(root), "ours-les-bains"])
    assert result.exit_code == 0, result.output
    assert "effacées automatiquement 90 jours après" in result.stdout


@pytest.mark.parametrize("command", ["embed", "registre", "stats"])
def test_a_commune_without_the_booking_is_refused(tmp_path: Path, command: str) -> None:
    root = tmp_path / "inv"
    shutil.copytree(DEMO, root)
    path = root / "communes" / "anse-aux-ours.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("services: [drive, calendars, rdv]", "services: [drive]"),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["rdv", command, str(root), "anse-aux-ours"])
    assert result.exit_code == 2, result.output
    assert "does not run the booking" in result.output and "anse-aux-ours.yml" in result.output


def test_an_unknown_commune_is_refused() -> None:
    result = CliRunner().invoke(main, ["rdv", "embed", str(DEMO), "atlantis"])
    assert result.exit_code == 2 and "ours-les-bains" in result.output
