"""The booking application's configuration of one commune (the JSON its settings read,
apps/rdv), from the inventory: the commune's `rdv:` section (checked by bastide validate and by
meta/settings_check.py) turned into what the application needs — slugs, ranges in minutes'
notation, every day present, closures with both ends."""

from __future__ import annotations

from typing import Any

from bastide.core.inventory.formats import slugify

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _service(entry: dict[str, Any], agents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    slug = slugify(entry["service"])
    counters = [
        {"slug": slugify(c["name"]), "name": c["name"],
         "agents": [login for login in c["agents"] if not agents.get(login, {}).get("disabled")]}
        for c in entry["counters"]
    ]
    by_name = {c["name"]: c["slug"] for c in counters}
    motives = [
        {"slug": slugify(m["name"]), "name": m["name"], "duration": m["duration"],
         "counters": [by_name[n] for n in (m.get("counters") or list(by_name))]}
        for m in entry["motives"]
    ]
    hours = {day: [text.split("-") for text in (entry["hours"].get(day) or [])] for day in DAYS}
    closures = [
        {"start": c["from"], "end": c.get("to") or c["from"], "reason": c.get("reason") or ""}
        for c in entry.get("closures") or []
    ]
    return {"slug": slug, "name": entry["service"], "group": f"service-{slug}",
            "calendar": f"services/{slug}/agenda/", "counters": counters, "motives": motives,
            "hours": hours, "closures": closures, "horizon_days": entry["horizon_days"],
            "notice_hours": entry["notice_hours"]}


def rdv_config(commune: dict[str, Any], index: int, calendars_port: int, calendars_user: str,
               smtp: dict[str, Any], rate_limits: dict[str, int]) -> dict[str, Any]:
    """The configuration of ``commune``, the ``index``-th commune of its host (which gives the
    port of its calendars' upstream)."""
    settings = commune["settings"]["rdv"]
    fqdn = next(s["fqdn"] for s in commune["sites"] if s["service"] == "rdv")
    agents = {a["login"]: a for a in commune.get("agents") or []}
    database = f"{commune['slug']}_rdv".replace("-", "_")
    return {
        "commune": {"slug": commune["slug"], "name": commune["name"], "insee": commune["insee"]},
        "base_url": f"https://{fqdn}",
        "website": settings.get("website"),
        "time_zone": "Europe/Paris",
        "database": {"name": database, "user": database, "host": "/run/postgresql", "port": 5432},
        "mail": {"host": smtp["host"], "port": int(smtp["port"]),
                 "from": f"Mairie de {commune['name']} <ne-pas-repondre@{commune['domain']}>"},
        "caldav": ({"url": f"http://127.0.0.1:{int(calendars_port) + index}/", "user": calendars_user}
                   if "calendars" in commune["services"] else None),
        "retention_days": settings["retention_days"],
        "reminder_hours": settings["reminder_hours"],
        "rate_limits": dict(rate_limits),
        "services": [_service(entry, agents) for entry in settings.get("services") or []],
    }


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"rdv_config": rdv_config}
