"""``bastide backup report``: a page per commune for the mayor and the auditor, in French (or
English): what is backed up, where, how it is protected and for how long, when it was last
checked and last proven to restore, and what needs doing. Made from the same facts as
``backup status``; one HTML file with nothing to fetch (it is mailed and archived)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from bastide.core.backup import buckets
from bastide.core.backup import status as backup_status
from bastide.core.identity import directory
from bastide.core.inventory import Inventory, catalogue
from bastide.i18n import t_in
from bastide.paths import templates_dir

TEMPLATE = "backup.html.j2"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir() / "reports"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def when(value: str | None, lang: str) -> str:
    """A status time (UTC) as people read it: "3 décembre 2026 à 09:05 UTC"."""
    if not value:
        return t_in(lang, "backup", "report.never")
    moment = backup_status.parse(value)
    month = t_in(lang, "backup", "report.months").split(",")[moment.month - 1]
    day = t_in(lang, "backup", "report.first_day") if moment.day == 1 else str(moment.day)
    return t_in(lang, "backup", "report.date", day=day, month=month, year=moment.year,
                time=moment.strftime("%H:%M"))  # fmt: skip


def duration(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return "-"
    minutes, rest = divmod(round(seconds), 60)
    if not minutes:
        return t_in(lang, "backup", "report.seconds", seconds=rest)
    return t_in(lang, "backup", "report.duration", minutes=minutes, seconds=f"{rest:02d}")


def problem_text(code: str, lang: str) -> str:
    """A status problem in words; a host that could not be read says why after the colon."""
    name, _, detail = code.partition(":")
    return t_in(lang, "backup", f"report.problem.{name}", detail=detail.strip())


def _content(backed: dict[str, Any]) -> dict[str, Any]:
    """What the last backup of a service held: files, and tables with their rows."""
    tables = [count for database in (backed.get("tables") or {}).values() for count in database.values()]
    entries = sum((backed.get("records") or {}).values())
    return {"files": backed.get("files"), "tables": len(tables), "rows": sum(tables), "records": entries}


def render(inventory: Inventory, row: dict[str, Any], lang: str = "fr") -> str:
    slug = row["commune"]
    commune = inventory.commune(slug)
    target = buckets.target_of(inventory, slug)
    provider = catalogue.providers()[target.provider]
    region = provider.regions.get(target.region)
    services = catalogue.services()
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            lang=lang,
            t=lambda key, **params: t_in(lang, "backup", f"report.{key}", **params),
            when=lambda value: when(value, lang),
            duration=lambda seconds: duration(seconds, lang),
            commune=commune,
            row=row,
            problems=[problem_text(code, lang) for code in row["problems"]],
            services=[
                {
                    "name": name,
                    "description": services[name].description.get(lang, services[name].description["en"]),
                    "ok": (row["services"].get(name) or {}).get("ok"),
                    **_content(row["services"].get(name) or {}),
                    "drill": ((row["last_drill"] or {}).get("services") or {}).get(name),
                }
                for name in commune.services
                if name in services
            ]
            + [
                {
                    "name": name,
                    "description": t_in(lang, "backup", "report.directory"),
                    "ok": info.get("ok"),
                    **_content(info),
                    "drill": ((row["last_drill"] or {}).get("services") or {}).get(name),
                }
                for name, info in row["services"].items()
                if name == directory.BACKUP_SERVICE
            ],
            target=target,
            provider=provider.label,
            place=region.city if region is not None and region.city else target.region,
            generated=when(backup_status.stamp(backup_status.utc_now()), lang),
            syndicat=inventory.syndicat.name,
        )
    )


def write(inventory: Inventory, rows: list[dict[str, Any]], output: Path, lang: str = "fr") -> list[Path]:
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for row in rows:
        page = output / f"{row['commune']}.html"
        page.write_text(render(inventory, row, lang), encoding="utf-8")
        written.append(page)
    return written
